"""Normalisation and entities: how callers (and Whisper) say numbers, yes, no and choices."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voicebot.nlu import (
    extract,
    find_choice,
    find_digits,
    find_number,
    find_ordinal,
    normalize,
    words,
)
from voicebot.nlu import find_yes_no as yes_no
from voicebot.nlu.numbers import UNITS
from voicebot.plugins.base import SlotSpec

DIGIT_WORDS = {v: k for k, v in UNITS.items()}


@pytest.mark.parametrize("text, expected", [
    (" I'd like to speak to an agent.", "i would like to speak to an agent"),
    ("Um, uh, I can't hear you, please!", "i cannot hear you"),
    ("It\u2019s my BILL", "it is my bill"),
    ("Uh-huh.", "yes"),
    ("the customer's account", "the customer account"),
    ("...", ""),
])
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize("text, digits", [
    ("four five six", "456"),
    ("double five", "55"),
    ("triple seven two", "7772"),
    ("oh four five", "045"),
    ("4 five 6", "456"),
    ("It's one two, three four five six.", "123456"),
    ("twenty three", "23"),
    ("four fifty six", "456"),
    ("nineteen eighty four", "1984"),
    ("four hundred and six", "406"),
    ("two four to six", "2426"),  # "to" between digits is Whisper's "two"
    ("double oh seven", "007"),
    ("123-456", "123456"),
    ("I want to pay", None),
    ("oh I see", None),
    ("the second one", None),
])
def test_digits(text: str, digits: str | None) -> None:
    assert find_digits(words(text)) == digits


@pytest.mark.parametrize("text, number", [
    ("twenty three", 23),
    ("one hundred and five", 105),
    ("two thousand five hundred", 2500),
    ("a party of 4", 4),
    ("four five six", 456),
    ("nineteen eighty four", 1984),
    ("eleven", 11),
    ("none", None),
    ("about 3.5 please", 3.5),  # a decimal figure is one number, not 35
    ("It was 3.5.", 3.5),
    ("1,200", 1200),
    ("a hundred", 100),  # "a" is one only before a scale
    ("a thousand and five", 1005),
    ("I have a dog", None),
])
def test_numbers(text: str, number: int | None) -> None:
    assert find_number(words(text)) == number


@given(st.text(alphabet="0123456789", min_size=1, max_size=12))
def test_any_digit_string_spoken_digit_by_digit_reads_back(digits: str) -> None:
    spoken = " ".join(DIGIT_WORDS[int(d)] for d in digits)
    assert find_digits(words(spoken)) == digits


@given(st.lists(st.integers(0, 9), min_size=1, max_size=6))
def test_double_and_triple_expand(runs: list[int]) -> None:
    spoken = " ".join(("double " if i % 2 else "triple ") + DIGIT_WORDS[d]
                      for i, d in enumerate(runs))
    expected = "".join(str(d) * (2 if i % 2 else 3) for i, d in enumerate(runs))
    assert find_digits(words(spoken)) == expected


@pytest.mark.parametrize("text, answer", [
    ("yes", True), ("Yeah.", True), ("yep", True), ("That's right.", True),
    ("correct", True), ("sure, go ahead", True), ("mm-hmm", True), ("absolutely", True),
    ("no", False), ("Nope.", False), ("nah", False), ("That's not right.", False),
    ("not correct", False), ("no, that's wrong", False), ("I don't think so... no", False),
    ("I dont think so", False), ("confirmed", True),
    ("my bill", None), ("", None),
])
def test_yes_no(text: str, answer: bool | None) -> None:
    assert yes_no(normalize(text)) is answer


@pytest.mark.parametrize("text, ordinal", [
    ("the second one", 2), ("first", 1), ("the 3rd option", 3), ("option two", 2),
    ("the last one", -1), ("wait a second", None), ("I want to pay", None),
])
def test_ordinals(text: str, ordinal: int | None) -> None:
    assert find_ordinal(words(text)) == ordinal


def test_choices_by_name_synonym_position_and_near_miss() -> None:
    choices = ["billing", "sales", "support"]
    assert find_choice("sales please", choices) == "sales"
    assert find_choice("billing not sales", choices) == "billing"  # the first named
    assert find_choice("the third one", choices, ordinal=3) == "support"
    assert find_choice("the last one", choices, ordinal=-1) == "support"
    assert find_choice("bilings", choices) == "billing"  # a mis-transcription
    assert find_choice("the app", ["line", "app"], {"line": ["phone line"]}) == "app"
    assert find_choice("my phone line", ["line", "app"], {"line": ["phone line"]}) == "line"
    assert find_choice("nothing like it", choices) is None


def test_extract_fills_the_slot_by_name_when_the_value_fits() -> None:
    six = SlotSpec("account", "digits", length=6)
    assert extract(words("one two three four five six"), six) == {
        "digits": "123456", "number": 123456, "account": "123456"}
    # Five digits do not fill a six-digit slot, but the digits are still reported.
    assert extract(words("one two three four five"), six) == {"digits": "12345", "number": 12345}
    confirm = SlotSpec("ok", "yes_no")
    assert extract(words("Yeah, that's right."), confirm) == {"yes_no": True, "ok": True}
    pick = SlotSpec("dept", "choice", choices=["billing", "sales"])
    assert extract(words("the second one"), pick) == {"ordinal": 2, "choice": "sales",
                                                      "dept": "sales"}
    party = SlotSpec("people", "number")
    assert extract(words("twenty three of us"), party)["people"] == 23
    note = SlotSpec("reason", "text")
    assert extract(words(" My fax is broken."), note)["reason"] == "my fax is broken"
