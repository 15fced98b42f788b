"""The echo guard: the bot's own voice coming back on the line must not break its
prompt, while a caller talking over it still does."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import numpy as np

from tests.call.harness import Call, ScriptedSTT, make_services, recording_16k
from voicebot.audio.frame import FRAME_SAMPLES, AudioFrame
from voicebot.telephony.resample import resample

FLOW = Path(__file__).parents[1] / "e2e" / "flows" / "barge.yaml"


def _outbound(call: Call) -> np.ndarray:
    chunks = [np.frombuffer(base64.b64decode(e["data"]["audioData"]), "<i2")
              for e in call.sent if e.get("type") == "streamAudio"]
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


async def _line(call: Call, seconds: float, echo_gain: float, caller: np.ndarray | None,
                caller_at: float) -> None:
    """Real-time inbound line: our own output at `echo_gain`, plus the caller if any."""
    pos = 0  # samples of outbound audio (8 kHz) already echoed
    frames = int(seconds / 0.02)
    start_caller = int(caller_at / 0.02)
    for i in range(frames):
        out = _outbound(call)
        echo = out[pos : pos + FRAME_SAMPLES // 2].astype(np.float32) * echo_gain
        pos += FRAME_SAMPLES // 2
        echo = np.pad(echo, (0, FRAME_SAMPLES // 2 - echo.size))
        frame = resample(echo.astype(np.int16), 8000, 16000).astype(np.float32)
        if caller is not None and i >= start_caller:
            k = (i - start_caller) * FRAME_SAMPLES
            part = caller[k : k + FRAME_SAMPLES].astype(np.float32)
            frame[: part.size] += part
        pcm = np.clip(frame, -32768, 32767).astype(np.int16)
        call.session.on_audio(AudioFrame(pcm, call.t))
        call.t += 0.02
        await asyncio.sleep(0.02)


def _breaks(echo_guard: bool, caller: np.ndarray | None) -> int:
    async def scenario() -> int:
        services = make_services(FLOW, ScriptedSTT(""), barge_in={"echo_guard": echo_guard})
        async with Call(services) as call:
            while not _outbound(call).size:
                await asyncio.sleep(0.01)
            await _line(call, 3.0, echo_gain=0.25, caller=caller, caller_at=1.0)
            count = call.kinds().count("break")
        services.close()
        return count

    return asyncio.run(scenario())


def test_echo_of_the_prompt_does_not_break_it():
    assert _breaks(echo_guard=True, caller=None) == 0


def test_without_the_guard_the_echo_breaks_the_prompt():
    # Shows the guard is what keeps the prompt alive: the echo is speech to a VAD.
    assert _breaks(echo_guard=False, caller=None) == 1


def test_a_caller_over_the_echo_still_breaks_the_prompt():
    caller = recording_16k("agent-pass")  # a real voice at full level
    assert _breaks(echo_guard=True, caller=caller) == 1
