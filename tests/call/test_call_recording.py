"""A real call session records itself: caller left, bot right, the bot cut at a barge-in,
and the record says where the file is and how the call ended."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np

from tests.call.harness import Call, ScriptedSTT, make_services, recording_16k
from voicebot.audio.frame import FRAME_SAMPLES, AudioFrame
from voicebot.store.records import CallStore

FLOW = Path(__file__).parents[1] / "e2e" / "flows" / "barge.yaml"


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0


def test_a_call_is_recorded_in_stereo_and_cut_at_the_barge_in(tmp_path: Path) -> None:
    caller = recording_16k("agent-pass")  # a real voice at full level, ~1 s

    async def scenario() -> tuple[float, float]:
        services = make_services(FLOW, ScriptedSTT(""), recording={
            "enabled": True, "path": str(tmp_path / "rec")})
        services.store = CallStore(tmp_path / "calls.sqlite3")
        speech_at = broke_at = -1.0
        async with Call(services) as call:
            while "streamAudio" not in call.kinds():
                await asyncio.sleep(0.01)
            await call.silence(1.5, pace=0.02)  # the caller listens to the greeting...
            speech_at = call.t
            for i in range(0, caller.size - FRAME_SAMPLES + 1, FRAME_SAMPLES):  # ...then talks
                call.session.on_audio(AudioFrame(caller[i:i + FRAME_SAMPLES], call.t))
                call.t += 0.02
                if broke_at < 0 and "break" in call.kinds():
                    broke_at = call.t
                await asyncio.sleep(0.02)
            await call.silence(0.5, pace=0.02)
        record = await services.store.aget_call("test-call")
        await services.store.aclose()
        services.close()
        assert record["meta"]["recording"]["file"].endswith("-test-call.wav")
        assert record["meta"]["outcome"] == "hangup"  # the caller (the test) hung up
        assert any(e["kind"] == "say" for e in record["events"])
        return speech_at, broke_at

    speech_at, broke_at = asyncio.run(scenario())
    assert broke_at > speech_at, "the caller's speech must break the greeting"
    (path,) = (tmp_path / "rec").glob("*.wav")
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getframerate()) == (2, 8000)
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    rate = 8000
    left, right = data[:, 0], data[:, 1]

    def span(x: np.ndarray, a: float, b: float) -> np.ndarray:
        return x[int(a * rate):int(b * rate)]

    assert _rms(span(left, 0.2, speech_at - 0.1)) < 100, "the caller was silent at first"
    assert _rms(span(left, speech_at, speech_at + 0.8)) > 500, "then spoke (left)"
    assert _rms(span(right, 0.3, speech_at)) > 500, "the greeting plays on the right"
    # The break came at `broke_at`; what the bot had queued after it was never heard.
    assert _rms(span(right, broke_at + 0.15, broke_at + 0.5)) < 100
