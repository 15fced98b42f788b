"""Slot values from what the caller said or keyed in, checked against the state's limits.

Understanding the words is not done here: digits, numbers, yes/no and choices are read by
`voicebot.nlu` (the same code and word lists every NLU plugin uses), so a flow fills a
slot the same way whichever plugin found the intent. What is here is the flow's side:
turning a `collect:` into the `SlotSpec` the NLU is given, preferring what the NLU plugin
already extracted, checking a value against the slot's limits (length, min, max, the
listed choices), and reading DTMF keys. Each returns a checked value or None, so the
engine can treat "no usable value" as a no-match.
"""

from __future__ import annotations

import math
from typing import Any

from voicebot.flow.schema import Collect
from voicebot.nlu import extract, words
from voicebot.types import SlotSpec


def slot_spec(collect: Collect) -> SlotSpec:
    """What the NLU is told the state collects."""
    choices = collect.choice_map()
    return SlotSpec(
        name=collect.slot,
        type=collect.type,
        choices=list(choices),
        length=collect.length,
        min_length=collect.min_length,
        max_length=collect.max_length,
        synonyms={name: synonyms for name, synonyms in choices.items() if synonyms},
    )


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


def from_text(collect: Collect, text: str, entities: dict[str, Any] | None = None,
              language: str = "en") -> Any:
    """The slot's value from an utterance, preferring what an NLU plugin already extracted."""
    for key in (collect.slot, collect.type):
        if entities and key in entities:
            value = check(collect, entities[key])
            if value is not None:
                return value
    if collect.type == "text":
        return check(collect, text)  # what was said, as said (case and all)
    found = extract(words(text, language=language), slot_spec(collect), language)
    return check(collect, found.get(collect.slot))


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
