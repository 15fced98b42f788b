from __future__ import annotations

import concurrent.futures
import threading
import time

import numpy as np
import pytest
from pydantic import ValidationError

from voicebot.config import ServerConfig
from voicebot.plugins.base import Expectation, IntentSpec, SlotSpec
from voicebot.plugins.stt_whisper import (
    WhisperOptions,
    WhisperSTT,
    hint_prompt,
    shared_model,
)
from voicebot.plugins.whisper_backends import repeats


@pytest.fixture(scope="module")
def stt() -> WhisperSTT:
    plugin = WhisperSTT(WhisperOptions())
    plugin.load()
    return plugin


def _words(text: str) -> set[str]:
    return {w.strip(".,!?").lower() for w in text.split()}


def test_transcribes_real_8k_recording(stt: WhisperSTT, asterisk_prompt) -> None:
    pcm = asterisk_prompt("check-number-dial-again", rate=8000)
    result = stt.transcribe(pcm, 8000)
    expected = {"please", "check", "the", "number", "and", "dial", "again"}
    assert len(expected & _words(result.text)) >= 6, result.text
    assert 0.0 < (result.confidence or 0.0) <= 1.0
    assert result.audio_seconds == pytest.approx(len(pcm) / 8000)


def test_long_utterance_is_not_cut_after_first_sentence(stt: WhisperSTT, asterisk_prompt) -> None:
    # 25 s of prompt: without timestamps tiny.en stops after "Super Awesome Company."
    pcm = asterisk_prompt("basic-pbx-ivr-main")
    words = _words(stt.transcribe(pcm, 16000).text)
    assert {"operator", "directory", "extension"} <= words


def test_silence_and_faint_noise_give_empty_text(stt: WhisperSTT) -> None:
    assert stt.transcribe(np.zeros(16000, dtype=np.int16), 16000).text == ""
    noise = np.random.default_rng(1).normal(0, 4, 16000).astype(np.int16)
    assert stt.transcribe(noise, 16000).text == ""
    assert stt.transcribe(np.zeros(0, dtype=np.int16), 16000).text == ""


def test_hints_reach_the_prompt(stt: WhisperSTT, asterisk_prompt) -> None:
    expectation = Expectation(
        intents=[IntentSpec("sales", examples=["sales", "buy something"])],
        slot=SlotSpec("confirm", "yes_no"),
    )
    assert hint_prompt(expectation) == "sales, buy something, yes, no."
    assert hint_prompt(None) is None
    hinted = WhisperSTT(WhisperOptions(use_hints=True))
    result = hinted.transcribe(asterisk_prompt("all-circuits-busy-now"), 16000, expectation)
    assert "busy" in result.text.lower()


def test_hint_prompt_stays_inside_whisper_window() -> None:
    examples = [f"phrase {i}" for i in range(500)]
    expectation = Expectation(intents=[IntentSpec("x", examples=examples)])
    prompt = hint_prompt(expectation)
    assert prompt is not None and len(prompt) <= 401


def test_bad_options_are_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="beam_size"):
        WhisperOptions(beam_size=0)
    with pytest.raises(ValidationError, match="not a directory"):
        WhisperOptions(model="tiny.en")
    with pytest.raises(ValidationError, match="beam_width"):
        WhisperOptions(beam_width=2)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="openai-whisper"):
        WhisperOptions(backend="openai-whisper")


def test_concurrent_calls_share_one_model(stt: WhisperSTT, asterisk_prompt) -> None:
    other = WhisperSTT(WhisperOptions())
    other.load()
    assert shared_model(other.options) is shared_model(stt.options)
    clips = [asterisk_prompt("all-circuits-busy-now"), asterisk_prompt("auth-thankyou")] * 2
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        texts = [r.text.lower() for r in pool.map(lambda pcm: stt.transcribe(pcm, 16000), clips)]
    assert "busy" in texts[0] and "busy" in texts[2]
    assert "thank you" in texts[1] and "thank you" in texts[3]


def test_default_model_runs_as_many_transcriptions_at_once_as_stt_threads(
        stt: WhisperSTT, asterisk_prompt) -> None:
    # With one CTranslate2 worker the second STT thread's job queued inside the model: a
    # burst of eight turns ran on one core (docs/speech.md). Both jobs must be active in
    # the model together; a loaded machine only makes them overlap longer.
    assert stt.options.workers == ServerConfig().executor_workers
    model = shared_model(stt.options).model.model  # type: ignore[attr-defined]
    pcm = asterisk_prompt("basic-pbx-ivr-main")[: 16000 * 8]
    start = threading.Barrier(3)

    def run() -> str:
        start.wait()
        return stt.transcribe(pcm, 16000).text

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        jobs = [pool.submit(run) for _ in range(2)]
        start.wait()
        most = 0
        while not all(job.done() for job in jobs):
            most = max(most, model.num_active_batches)
            time.sleep(0.001)
        texts = [job.result().lower() for job in jobs]
    assert most == 2
    assert all("awesome company" in text for text in texts), texts


@pytest.mark.parametrize(
    ("prompt", "word"),
    [("digits/15", {"fifteen", "15"}), ("pbx-transfer", {"transfer"}), ("digits/10", {"ten", "10"}),
     ("vm-no", {"no"})],
)
@pytest.mark.parametrize("gain", [0.8, 1.0, 1.2])
def test_one_word_turns_do_not_loop(stt: WhisperSTT, asterisk_prompt, prompt, word, gain) -> None:
    # The short encoder window made these come out as "fifteen fifteen fifteen fifteen",
    # and on another CPU as "transfer transfer"; here "10. 10." at some gains. Whatever
    # the CPU's int8 kernels make of it, the word is there, once.
    pcm = asterisk_prompt(prompt).astype(np.float32) * gain
    pcm += np.random.default_rng(7).normal(0, 16, pcm.size)  # a faint line hiss (-66 dBFS)
    text = stt.transcribe(np.clip(pcm, -32768, 32767).astype(np.int16), 16000).text
    words = [w.strip(".,!?").lower() for w in text.split()]
    assert sum(w in word for w in words) == 1 and len(words) <= 2, words


def test_repeat_detector() -> None:
    assert repeats("no no no no") and repeats("Twenty th twenty th twenty th.")
    assert not repeats("Press 1 to mute, press 2 to lock.") and not repeats("one two one two")
    # The short window's test: any back-to-back repeat sends the turn to the full window.
    assert repeats("Transfer. Transfer.", times=2) and repeats("one two one two", times=2)
    assert not repeats("Press 1 to mute, press 2 to lock.", times=2)
    assert not repeats("Transfer.", times=2)
