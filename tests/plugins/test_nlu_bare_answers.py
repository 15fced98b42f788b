"""A bare "mhm", "yeah" or "okay" where nothing asked a yes/no is no intent: an encoder
always finds some intent near it ("mhm" came out as goodbye and hung up on the caller)."""

from __future__ import annotations

import pytest

from voicebot.nlu.entities import bare_yes_no
from voicebot.nlu.normalize import words
from voicebot.plugins.registry import PluginRegistry
from voicebot.types import Expectation, IntentSpec, SlotSpec

INTENTS = [
    IntentSpec("agent", ["agent", "speak to an agent", "a human"]),
    IntentSpec("goodbye", ["goodbye", "that's all", "nothing else"]),
]


@pytest.fixture(scope="module")
def nlu():  # type: ignore[no-untyped-def]
    plugin = PluginRegistry().create("nlu", "embeddings")
    plugin.load()
    return plugin


@pytest.mark.parametrize("said", ["mhm", "Mm-hmm.", "uh-huh", "yeah", "okay", "yes please"])
def test_a_bare_yes_is_no_intent(nlu, said: str) -> None:  # type: ignore[no-untyped-def]
    result = nlu.parse(said, Expectation(INTENTS))
    assert result.intent is None
    assert result.entities.get("yes_no") is True


def test_it_is_the_intent_whose_example_is_a_yes(nlu) -> None:  # type: ignore[no-untyped-def]
    intents = [*INTENTS, IntentSpec("confirm", ["yes", "that's right"])]
    assert nlu.parse("yeah", Expectation(intents)).intent == "confirm"


def test_it_answers_a_yes_no_question(nlu) -> None:  # type: ignore[no-untyped-def]
    result = nlu.parse("mhm", Expectation(INTENTS, SlotSpec("ok", "yes_no")))
    assert result.entities["ok"] is True and result.intent is None


def test_french_ouais_is_no_intent(nlu) -> None:  # type: ignore[no-untyped-def]
    result = nlu.parse("ouais", Expectation(INTENTS, language="fr"))
    assert result.intent is None


@pytest.mark.parametrize(("said", "polarity"), [
    ("mhm", True), ("no thanks", False), ("yeah sure", True), ("yes agent", None),
    ("I want an agent", None), ("", None),
])
def test_bare_yes_no(said: str, polarity: bool | None) -> None:
    assert bare_yes_no(words(said)) is polarity


@pytest.mark.parametrize("heard", ["M-A-M-A-M", "M.", "Mmm.", "Hmm.", "Shh"])
def test_a_hum_transcribed_as_letters_is_no_intent(nlu, heard: str) -> None:  # type: ignore[no-untyped-def]
    # What Whisper made of espeak's "mhm": e5 placed it at agent (0.58) in a one-intent state.
    one_intent = Expectation([IntentSpec("agent", ["agent", "speak to an agent"])])
    assert nlu.parse(heard, one_intent).intent is None
