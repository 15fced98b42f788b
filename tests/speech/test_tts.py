from __future__ import annotations

import concurrent.futures

import numpy as np
import pytest
from pydantic import ValidationError

from voicebot.plugins.tts_pyttsx3 import Pyttsx3Options, Pyttsx3TTS

PROMPT = "Thank you for calling. Please tell me the reason for your call."


def _check_speech(pcm: np.ndarray, rate: int, text: str) -> None:
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    seconds = len(pcm) / rate
    words = len(text.split())
    # Telephone prompts run roughly 1.5-4 words per second at any sane rate.
    assert words / 5 < seconds < words / 1.2, seconds
    assert np.sqrt(np.mean(pcm.astype(np.float64) ** 2)) > 300


@pytest.fixture(scope="module")
def pyttsx3_tts() -> Pyttsx3TTS:
    tts = Pyttsx3TTS(Pyttsx3Options())
    tts.load()
    return tts


def test_pyttsx3_speaks_at_declared_rate(pyttsx3_tts: Pyttsx3TTS) -> None:
    assert pyttsx3_tts.sample_rate == 22050
    _check_speech(pyttsx3_tts.synthesize(PROMPT), pyttsx3_tts.sample_rate, PROMPT)


def test_pyttsx3_rate_option_changes_duration() -> None:
    slow = Pyttsx3TTS(Pyttsx3Options(rate=120)).synthesize(PROMPT)
    fast = Pyttsx3TTS(Pyttsx3Options(rate=260)).synthesize(PROMPT)
    assert len(slow) > 1.5 * len(fast)


def test_pyttsx3_concurrent_calls_are_serialised(pyttsx3_tts: Pyttsx3TTS) -> None:
    texts = ["one two three", "four five six seven eight"] * 3
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(pyttsx3_tts.synthesize, texts))
    for text, pcm in zip(texts, results, strict=True):
        _check_speech(pcm, pyttsx3_tts.sample_rate, text)
    assert len(results[1]) > len(results[0])


def test_pyttsx3_empty_text_is_empty_audio(pyttsx3_tts: Pyttsx3TTS) -> None:
    assert len(pyttsx3_tts.synthesize("  ")) == 0
    assert len(pyttsx3_tts.synthesize("...")) == 0


def test_pyttsx3_bad_options_named() -> None:
    with pytest.raises(ValidationError, match="rate"):
        Pyttsx3Options(rate=10)
    with pytest.raises(ValidationError, match="pitch"):
        Pyttsx3Options(pitch=3)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="not installed"):
        Pyttsx3TTS(Pyttsx3Options(voice="klingon-xx")).load()
