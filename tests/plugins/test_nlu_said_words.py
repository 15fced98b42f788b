"""Quantities and confirmations as people say them, read the same by every NLU."""

from __future__ import annotations

import pytest

from voicebot.nlu.entities import answers_slot, extract
from voicebot.nlu.normalize import words
from voicebot.types import SlotSpec

PIZZAS = SlotSpec("pizzas", "number")
OK = SlotSpec("ok", "yes_no")
ACCOUNT = SlotSpec("account", "digits", length=6)


@pytest.mark.parametrize("text, value", [
    (" A couple.", 2), (" Just a couple, please.", 2), (" A dozen.", 12),
    (" Half a dozen.", 6), (" A few.", 3), (" A pair.", 2), (" Three, please.", 3),
])
def test_quantities_said_in_words_fill_a_number_slot(text: str, value: int) -> None:
    tokens = words(text)
    assert extract(tokens, PIZZAS)["pizzas"] == value
    assert answers_slot(tokens, PIZZAS)


def test_a_quantity_word_is_never_digits() -> None:
    entities = extract(words("a couple"), ACCOUNT)
    assert "digits" not in entities and "account" not in entities


@pytest.mark.parametrize("text, value", [
    (" Uh-huh.", True), (" Mm-hmm.", True), (" Sounds good.", True), (" Go ahead.", True),
    (" Nope.", False), (" Not really.", False), (" Nah.", False),
])
def test_confirmations_fill_a_yes_no_slot(text: str, value: bool) -> None:
    tokens = words(text)
    assert extract(tokens, OK)["ok"] is value
    assert answers_slot(tokens, OK)
