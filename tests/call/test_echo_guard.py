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


class _FarEnd:
    """The media server's side of the line: plays what we sent, in order, in real time.

    A chunk plays after the one before it; a `break` drops what is still queued (as
    Ringover does). The echo is what is playing now, so it follows the prompt the caller
    actually hears, resumed prompts included.
    """

    def __init__(self, call: Call) -> None:
        self.call = call
        self.seen = 0  # events of call.sent already taken in
        self.queue = np.zeros(0, np.int16)  # 8 kHz audio not yet played

    def tick(self) -> tuple[np.ndarray, int]:
        """The next 20 ms of audio playing (8 kHz), and how many breaks arrived since."""
        breaks = 0
        for event in self.call.sent[self.seen :]:
            kind = event.get("event") or event.get("type")
            if kind == "streamAudio":
                pcm = np.frombuffer(base64.b64decode(event["data"]["audioData"]), "<i2")
                self.queue = np.concatenate([self.queue, pcm])
            elif kind == "break":
                breaks += 1
                self.queue = np.zeros(0, np.int16)
        self.seen = len(self.call.sent)
        playing, self.queue = self.queue[: FRAME_SAMPLES // 2], self.queue[FRAME_SAMPLES // 2 :]
        return np.pad(playing, (0, FRAME_SAMPLES // 2 - playing.size)), breaks


async def _line(call: Call, seconds: float, echo_gain: float, caller: np.ndarray | None,
                caller_at: float) -> list[float]:
    """Real-time inbound line: what is playing at `echo_gain`, plus the caller if any.

    Returns the media times (seconds into the line) at which a `break` reached the far end.
    """
    far_end = _FarEnd(call)
    breaks: list[float] = []
    # The far end plays in real time whatever load we are under: tick on a fixed schedule
    # (a late tick catches up, as a socket backlog would), never drift with our sleeps.
    clock = asyncio.get_running_loop().time
    started = clock()
    start_caller = int(caller_at / 0.02)
    for i in range(int(seconds / 0.02)):
        playing, broke = far_end.tick()
        breaks += [i * 0.02] * broke
        echo = playing.astype(np.float32) * echo_gain
        frame = resample(echo.astype(np.int16), 8000, 16000).astype(np.float32)
        if caller is not None and i >= start_caller:
            k = (i - start_caller) * FRAME_SAMPLES
            part = caller[k : k + FRAME_SAMPLES].astype(np.float32)
            frame[: part.size] += part
        pcm = np.clip(frame, -32768, 32767).astype(np.int16)
        call.session.on_audio(AudioFrame(pcm, call.t))
        call.t += 0.02
        await asyncio.sleep(max(0.0, started + (i + 1) * 0.02 - clock()))
    return breaks


def _breaks(echo_guard: bool, caller: np.ndarray | None) -> list[float]:
    async def scenario() -> list[float]:
        services = make_services(FLOW, ScriptedSTT(""), barge_in={"echo_guard": echo_guard})
        async with Call(services) as call:
            while not any(e.get("type") == "streamAudio" for e in call.sent):
                await asyncio.sleep(0.01)
            breaks = await _line(call, 3.0, echo_gain=0.25, caller=caller, caller_at=1.0)
        services.close()
        return breaks

    return asyncio.run(scenario())


def test_echo_of_the_prompt_does_not_break_it():
    assert _breaks(echo_guard=True, caller=None) == []


def test_without_the_guard_the_echo_breaks_the_prompt():
    # Shows the guard is what keeps the prompt alive: the echo is speech to a VAD. Each
    # break is its own barge-in: the echo breaks the prompt, STT hears nothing, the rest
    # of the prompt resumes and its echo breaks it again, as often as the 3 s allow (how
    # often depends on how fast the machine gets back to speaking). So: the first words'
    # echo breaks it, early.
    breaks = _breaks(echo_guard=False, caller=None)
    assert breaks and breaks[0] < 1.0, breaks


def test_a_caller_over_the_echo_still_breaks_the_prompt():
    caller = recording_16k("agent-pass")  # a real voice at full level, from 1.0 s
    breaks = _breaks(echo_guard=True, caller=caller)
    # Nothing breaks before the caller speaks; the caller does, within a second. (The
    # caller goes on over the resumed prompt, which may break it again.)
    assert breaks and 1.0 < breaks[0] < 2.0, breaks
