"""Listening inside a real session: what reaches STT, speculation, pre-roll."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from tests.call.harness import Call, ScriptedSTT, make_services, recording_16k, until
from voicebot.audio.endpointer import Endpointer, SpeechEnded
from voicebot.audio.frame import FRAME_SAMPLES, AudioFrame
from voicebot.plugins.vad_webrtc import WebrtcVAD, WebrtcVADOptions

FLOW = Path(__file__).parents[1] / "e2e" / "flows" / "spine.yaml"


def test_a_call_of_silence_never_reaches_stt():
    stt = ScriptedSTT("agent")

    async def scenario() -> None:
        services = make_services(FLOW, stt)
        async with Call(services) as call:
            rng = np.random.default_rng(3)
            await call.silence(3.0)
            # Line noise at about -60 dBFS is not speech either.
            await call.feed((rng.normal(0, 30, 16000 * 3)).astype(np.int16))
            await call.silence(1.0)
            await asyncio.sleep(0.3)
        services.close()

    asyncio.run(scenario())
    assert stt.calls == []


def test_speculative_result_is_discarded_when_the_caller_resumes():
    speech = recording_16k("agent-loginok")  # "Agent logged in."
    # STT says "agent" only for audio as long as both halves together: a transcript of
    # the first half alone ("goodbye") would send the flow elsewhere.
    stt = ScriptedSTT(lambda pcm: "agent" if pcm.size > speech.size * 1.5 else "goodbye")

    async def scenario() -> list[str]:
        services = make_services(FLOW, stt, listen={"speculative_after_ms": 100,
                                                    "hangover_ms": 500})
        async with Call(services) as call:
            await call.silence(0.5)
            await call.feed(speech)
            # A pause: speculation starts 100 ms in. The recording has a 160 ms pause of
            # its own, which starts (and discards) a shorter run whenever the event loop
            # gets to it, so count no runs: wait for the one on the whole first half. Its
            # audio holds pre-roll, all the speech and 100 ms of pause: longer than the
            # recording, while the run on the inner pause is not half of it.
            await call.silence(0.2)  # with the recording's own 140 ms: under the hangover
            assert await until(lambda: any(n > speech.size for n in stt.calls))
            await call.feed(speech)  # the caller goes on
            await call.silence(1.0)
            assert await until(lambda: "transfer" in call.kinds())
            metrics = services.metrics
            assert metrics.value("voicebot_speculative_total", outcome="resumed") >= 1
            assert metrics.value("voicebot_speculative_total", outcome="used") == 1
            kinds = call.kinds()
        services.close()
        return kinds

    kinds = asyncio.run(scenario())
    assert kinds[-1] == "transfer"
    # The turn was answered from a run on both halves: the first half's run was dropped.
    assert max(stt.calls) > speech.size * 1.5
    assert any(speech.size < n < speech.size * 1.5 for n in stt.calls)


def test_speculative_result_is_used_when_the_silence_holds():
    stt = ScriptedSTT("I want an agent")

    async def scenario() -> tuple[float, float]:
        services = make_services(FLOW, stt)
        async with Call(services) as call:
            await call.silence(0.5)
            await call.feed(recording_16k("agent-loginok"))
            await call.silence(1.0)
            assert await until(lambda: "transfer" in call.kinds())
        services.close()
        m = services.metrics
        return (m.value("voicebot_speculative_total", outcome="used"),
                m.value("voicebot_speculative_total", outcome="stale"))

    used, stale = asyncio.run(scenario())
    # The turn's transcript is the speculative run's: no run after the hangover.
    assert (used, stale) == (1, 0)


@pytest.fixture(scope="module")
def whisper():
    from voicebot.plugins.stt_whisper import WhisperOptions, WhisperSTT

    stt = WhisperSTT(WhisperOptions())
    stt.load()
    return stt


LEAD = 8000  # half a second of silence before the recording


def _utterance(pcm: np.ndarray, preroll_ms: int) -> tuple[np.ndarray, int]:
    """The utterance the endpointer hands to STT, and where in `pcm` it starts."""
    vad = WebrtcVAD(WebrtcVADOptions(aggressiveness=3))
    ep = Endpointer(min_speech_ms=120, hangover_ms=400, preroll_ms=preroll_ms,
                    speculative_after_ms=None)
    padded = np.concatenate([np.zeros(LEAD, np.int16), pcm, np.zeros(16000, np.int16)])
    padded = padded[: padded.size - padded.size % FRAME_SAMPLES]
    for i in range(0, padded.size, FRAME_SAMPLES):
        frame = padded[i : i + FRAME_SAMPLES]
        for event in ep.push(AudioFrame(frame, i / 16000), vad.speech_probability(frame) >= 0.5):
            if isinstance(event, SpeechEnded):
                # Without speculation the audio ends at the end of the last speech frame.
                end = round(event.last_speech * 16000)
                return event.audio, end - event.audio.size - LEAD
    raise AssertionError("no utterance detected")


def test_preroll_keeps_the_first_word_of_a_real_recording(whisper):
    # "Please enter your password followed by the pound key": a soft plosive onset that
    # an aggressive VAD only calls speech a frame or two late.
    pcm = recording_16k("agent-pass")
    onset = int(np.nonzero(np.abs(pcm) > 200)[0][0])  # first audible sample
    clipped, start = _utterance(pcm, preroll_ms=0)
    assert start > onset, "without pre-roll the VAD's late onset cuts the first syllable"
    audio, start = _utterance(pcm, preroll_ms=200)
    assert start <= onset - 1600, "pre-roll keeps 100 ms or more from before the onset"
    text = whisper.transcribe(audio, 16000).text.lower()
    assert text.split()[0].strip(",.") == "please", text


def test_a_one_word_answer_is_not_dropped_as_silence(whisper):
    # A clear "yes" closing a turn can score a no-speech probability above 0.6 with
    # confident words; Whisper's rule needs both before calling it silence.
    from voicebot.telephony.g711 import ulaw_decode, ulaw_encode
    from voicebot.telephony.resample import resample
    from voicebot.testing.callers import piper_8k

    yes = resample(ulaw_decode(ulaw_encode(piper_8k("yes"))), 8000, 16000)
    audio, _ = _utterance(yes, preroll_ms=200)
    text = whisper.transcribe(audio, 16000).text
    # Piper's voice varies a little from run to run, and Whisper's punctuation with it.
    assert "".join(ch for ch in text.lower() if ch.isalpha()) == "yes", text
