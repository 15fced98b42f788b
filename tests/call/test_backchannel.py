"""What is said over a prompt: a turn, or a noise / "mhm" to talk on over."""

from __future__ import annotations

from voicebot.call.backchannel import not_a_turn
from voicebot.config import BargeInConfig
from voicebot.plugins.base import NLUResult

CFG = BargeInConfig()


def _nlu(text: str, intent: str | None) -> NLUResult:
    return NLUResult(text, intent, 0.58 if intent else 0.0, {})


def test_a_hum_whisper_spells_as_letters_is_not_a_turn_whatever_the_nlu_says():
    # Seen: a hummed "mhm" over the greeting came back "M-A-M-M-M", which an embedding
    # NLU placed near "agent", and the call was transferred.
    for text in ("M-A-M-M-M", "M-hm.", "H-M-M", "M. H. M."):
        assert not_a_turn(text, _nlu(text, "agent"), 600, CFG), text


def test_words_and_long_speech_are_turns():
    assert not not_a_turn("I want an agent", _nlu("I want an agent", "agent"), 600, CFG)
    # Spelled letters said at length are an answer (a code, a name), not a hum.
    assert not not_a_turn("A-B-C-D-E-F", _nlu("A-B-C-D-E-F", "agent"), 2000, CFG)
    assert not_a_turn("", _nlu("", None), 300, CFG)
