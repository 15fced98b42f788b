"""A flow's language reaches the plugins through `for_language`: Whisper's language and
model, a voice in that language, and a clear refusal where a plugin cannot speak it."""

from __future__ import annotations

import pytest

from voicebot.plugins.registry import PluginConfigError, PluginRegistry

REGISTRY = PluginRegistry()


def test_french_picks_whisper_language_and_the_multilingual_model() -> None:
    stt = REGISTRY.create("stt", "whisper", {"cpu_threads": 1}, language="fr")
    assert stt.options.language == "fr"  # type: ignore[attr-defined]
    assert stt.options.model == "multilingual"  # type: ignore[attr-defined]


def test_english_keeps_the_bundled_english_model() -> None:
    stt = REGISTRY.create("stt", "whisper", {}, language="en")
    assert stt.options.model == "bundled"  # type: ignore[attr-defined]


def test_the_users_choice_wins() -> None:
    stt = REGISTRY.create("stt", "whisper", {"language": "es", "model": "multilingual"},
                          language="fr")
    assert stt.options.language == "es"  # type: ignore[attr-defined]


def test_an_english_only_model_for_a_french_flow_is_a_clear_error() -> None:
    with pytest.raises(PluginConfigError, match="hears only English"):
        REGISTRY.create("stt", "whisper", {"model": "bundled"}, language="fr")


def test_pyttsx3_speaks_french_with_espeak_ngs_french_voice() -> None:
    tts = REGISTRY.create("tts", "pyttsx3", {}, language="fr")
    tts.load()
    assert tts.options.voice.endswith("/fr")  # type: ignore[attr-defined]
    audio = tts.synthesize("Bonjour, je vous passe un conseiller.")  # type: ignore[attr-defined]
    assert audio.size > tts.sample_rate // 2  # type: ignore[attr-defined]


def test_espeak_gets_the_language_code_as_its_voice() -> None:
    tts = REGISTRY.create("tts", "espeak", {}, language="fr")
    assert tts.options.voice == "fr"  # type: ignore[attr-defined]


def test_piper_refuses_a_language_its_bundled_voice_cannot_speak() -> None:
    with pytest.raises(PluginConfigError, match="English only"):
        REGISTRY.create("tts", "piper", {}, language="fr")
