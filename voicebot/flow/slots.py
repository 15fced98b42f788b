"""Slot values from what the caller said or keyed in, for each slot type.

Pure functions: text as the recogniser wrote it ("four five six", "double five", "4 5 6"),
entities an NLU plugin may have found, or DTMF digits. Each returns a checked value or
None, so the engine can treat "no usable value" as a no-match.
"""

from __future__ import annotations

import math
import re
from typing import Any

from voicebot.flow.matching import normalise
from voicebot.flow.schema import Collect

DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "nought": "0",
    "nil": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_REPEAT = {"double": 2, "triple": 3}
_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "a": 1,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
YES_WORDS = frozenset(
    [
        "yes",
        "yeah",
        "yep",
        "yup",
        "ya",
        "correct",
        "right",
        "sure",
        "affirmative",
        "ok",
        "okay",
        "absolutely",
        "exactly",
        "indeed",
        "confirm",
        "confirmed",
        "true",
    ]
)
NO_WORDS = frozenset(
    ["no", "nope", "nah", "not", "wrong", "incorrect", "negative", "don't", "dont", "false"]
)
_TOKENS = re.compile(r"\d+|[a-z']+")


def digits_from_text(text: str) -> str:
    """Every digit the caller spoke or wrote, in order: "double five 1 oh" -> "5510"."""
    out: list[str] = []
    repeat = 1
    for token in _TOKENS.findall(text.lower()):
        if token in _REPEAT:
            repeat = _REPEAT[token]
            continue
        if token.isdigit():
            # "double 5" repeats one digit; "double 55" is odd speech, keep it literally.
            out.append(token[0] * repeat + token[1:] if repeat > 1 else token)
        elif token in DIGIT_WORDS:
            out.append(DIGIT_WORDS[token] * repeat)
        repeat = 1
    return "".join(out)


def number_from_text(text: str) -> float | None:
    """A number written ("42", "3.5") or spoken ("one hundred and five")."""
    found = re.search(r"-?\d+(?:\.\d+)?", text.replace(",", ""))
    if found:
        value = float(found.group())
        return int(value) if value.is_integer() else value
    words = [w for w in _TOKENS.findall(text.lower()) if w != "and"]
    # "a" is a number only before a scale: "a hundred", not "a dog".
    numeric = [
        w
        for i, w in enumerate(words)
        if (
            w in _UNITS
            and (w != "a" or words[i + 1 : i + 2] in (["hundred"], ["thousand"], ["million"]))
        )
        or w in _TENS
        or w in _SCALES
    ]
    if not numeric:
        return None
    # "four five six" is digits read out one by one, not four plus five plus six.
    if len(numeric) > 1 and all(w in DIGIT_WORDS for w in numeric):
        return int(digits_from_text(" ".join(numeric)))
    total = current = 0
    for word in numeric:
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        else:
            total += max(current, 1) * _SCALES[word]
            current = 0
    return total + current


def yes_no_from_text(text: str) -> bool | None:
    words = set(normalise(text).split())
    if words & NO_WORDS:  # "no that's not right" and "not correct" are both a no
        return False
    if words & YES_WORDS or "that's it" in normalise(text):
        return True
    return None


def choice_from_text(text: str, choices: dict[str, list[str]]) -> str | None:
    """The choice named earliest in the utterance (by its name or one of its synonyms)."""
    said = f" {normalise(text)} "
    best: tuple[int, str] | None = None
    for name, synonyms in choices.items():
        for phrase in [name, *synonyms]:
            wanted = normalise(phrase)
            at = said.find(f" {wanted} ") if wanted else -1
            if at >= 0 and (best is None or at < best[0]):
                best = (at, name)
    return best[1] if best else None


def check(collect: Collect, value: Any) -> Any:
    """`value` normalised to the slot's type if it satisfies the slot's limits, else None."""
    kind = collect.type
    if kind == "digits":
        text = "".join(ch for ch in str(value) if not ch.isspace()) if value is not None else ""
        if not text.isdigit():
            return None
        if collect.length is not None and len(text) != collect.length:
            return None
        if collect.min_length is not None and len(text) < collect.min_length:
            return None
        if collect.max_length is not None and len(text) > collect.max_length:
            return None
        return text
    if kind == "number":
        if isinstance(value, bool) or value is None:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(number):
            return None
        if collect.min is not None and number < collect.min:
            return None
        if collect.max is not None and number > collect.max:
            return None
        return int(number) if number.is_integer() else number
    if kind == "yes_no":
        return value if isinstance(value, bool) else None
    if kind == "choice":
        return value if value in collect.choice_map() else None
    text = str(value).strip() if value is not None else ""
    return text or None


def from_text(collect: Collect, text: str, entities: dict[str, Any] | None = None) -> Any:
    """The slot's value from an utterance, preferring what an NLU plugin already extracted."""
    for key in (collect.slot, collect.type):
        if entities and key in entities:
            value = check(collect, entities[key])
            if value is not None:
                return value
    kind = collect.type
    if kind == "digits":
        return check(collect, digits_from_text(text))
    if kind == "number":
        return check(collect, number_from_text(text))
    if kind == "yes_no":
        return check(collect, yes_no_from_text(text))
    if kind == "choice":
        return check(collect, choice_from_text(text, collect.choice_map()))
    return check(collect, text)


def from_dtmf(collect: Collect, digits: str) -> Any:
    """The slot's value from keys: 1 = yes and 2 = no; a choice by its position (1 = first)."""
    kind = collect.type
    if kind == "digits":
        return check(collect, digits)
    if kind == "number":
        return check(collect, digits) if digits.isdigit() else None
    if kind == "yes_no":
        return {"1": True, "2": False}.get(digits)
    if kind == "choice":
        names = list(collect.choice_map())
        if digits.isdigit() and 1 <= int(digits) <= len(names):
            return names[int(digits) - 1]
    return None
