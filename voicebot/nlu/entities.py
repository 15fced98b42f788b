"""Entities every NLU plugin can share: yes/no, choices, and the slot the state asked for.

`extract(words, slot)` is the one entry point: it returns what the caller said that a
flow can use (`digits`, `number`, `ordinal`, `yes_no`, `choice`) and, when the state is
collecting a slot that the utterance fills, also the value under the slot's own name.
"""

from __future__ import annotations

import re
from typing import Any

from rapidfuzz import fuzz

from voicebot.nlu import french
from voicebot.nlu.lexicon import NO, YES
from voicebot.nlu.normalize import normalize
from voicebot.nlu.numbers import (
    find_digits,
    find_number,
    find_ordinal,
    find_quantity,
    number_runs,
)
from voicebot.types import SlotSpec

# Longest first so "not right" wins over "right" and "i do not" over "i do".
_PHRASES = sorted([(p, True) for p in YES] + [(p, False) for p in NO], key=lambda x: -len(x[0]))
_YES_NO_RE = re.compile(r"\b(" + "|".join(re.escape(p) for p, _ in _PHRASES) + r")\b")
_POLARITY = dict(_PHRASES)


def find_yes_no(text: str, language: str = "en") -> bool | None:
    """True for yes, False for no, None when the caller said neither.

    The first phrase decides ("no, that's right" is rare; "yes, no problem" is common),
    and negated phrases are matched as a whole before their positive part.
    """
    if french.is_french(language):
        return french.find_yes_no(text)
    match = _YES_NO_RE.search(text)
    if match is None:
        return None
    return _POLARITY[match.group(1)]


# Said around a bare answer without changing it: "yes please", "no thanks".
_COURTESY = frozenset({"please", "thanks", "thank", "you", "merci", "plait", "vous", "s", "il"})


def bare_yes_no(words: tuple[str, ...], language: str = "en") -> bool | None:
    """The polarity of an utterance that is nothing but a yes or a no ("mhm", "yeah sure",
    "no thanks", "ouais"), else None: such an answer means something only where a yes/no
    was asked, or where an intent is itself a yes or a no."""
    if not words or len(words) > 4:
        return None
    text = " ".join(words)
    polarity = find_yes_no(text, language)
    if polarity is None:
        return None
    if french.is_french(language):
        rest = french.strip_yes_no(text)
    else:
        rest = _YES_NO_RE.sub(" ", text)
    return polarity if all(w in _COURTESY for w in rest.split()) else None


def find_choice(
    text: str, choices: list[str], synonyms: dict[str, list[str]] | None = None,
    ordinal: int | None = None, min_score: float = 85.0, fuzzy: bool = True,
    language: str = "en",
) -> str | None:
    """The choice named in `text` (exactly, by synonym, by position, or, if `fuzzy`, misheard)."""
    if not choices:
        return None
    synonyms = synonyms or {}
    padded = f" {text} "
    best: tuple[int, str] | None = None
    for choice in choices:
        for phrase in (choice, *synonyms.get(choice, [])):
            norm = normalize(phrase, language=language)
            pos = padded.find(f" {norm} ") if norm else -1
            # The earliest mention wins: "billing, not sales" means billing.
            if pos >= 0 and (best is None or pos < best[0]):
                best = (pos, choice)
    if best is not None:
        return best[1]
    if ordinal is not None:
        index = ordinal - 1 if ordinal > 0 else len(choices) + ordinal
        if 0 <= index < len(choices):
            return choices[index]
    if not fuzzy:
        return None
    scored = []
    for choice in choices:
        for phrase in (choice, *synonyms.get(choice, [])):
            norm = normalize(phrase, language=language)
            if len(norm) >= 4:  # short words match everything partially
                scored.append((fuzz.partial_ratio(norm, text), choice))
    if scored:
        score, choice = max(scored)
        if score >= min_score:
            return choice
    return None


def _length_ok(digits: str, slot: SlotSpec) -> bool:
    if slot.length is not None:
        return len(digits) == slot.length
    if slot.min_length is not None and len(digits) < slot.min_length:
        return False
    return slot.max_length is None or len(digits) <= slot.max_length


def extract(words: tuple[str, ...], slot: SlotSpec | None,
            language: str = "en") -> dict[str, Any]:
    """Entities found in normalised `words`, plus `slot.name` when the slot is filled."""
    text = " ".join(words)
    entities: dict[str, Any] = {}
    fr = french.is_french(language)
    digits = french.find_digits(words) if fr else find_digits(words)
    if digits is not None:
        entities["digits"] = digits
    number = (french.find_number(words) if fr
              else find_number(words))  # also "a couple", which has no digits
    if number is not None:
        entities["number"] = number
    ordinal = french.find_ordinal(words) if fr else find_ordinal(words)
    if ordinal is not None:
        entities["ordinal"] = ordinal
    yes_no = find_yes_no(text, language)
    if yes_no is not None:
        entities["yes_no"] = yes_no
    if slot is None:
        return entities
    value: Any = None
    if slot.type == "choice":
        choice = find_choice(text, slot.choices, slot.synonyms, ordinal, language=language)
        if choice is not None:
            entities["choice"] = value = choice
    elif slot.type == "digits" and digits is not None and _length_ok(digits, slot):
        value = digits
    elif slot.type == "number" and "number" in entities:
        value = entities["number"]
    elif slot.type == "yes_no":
        value = yes_no
    elif slot.type == "text" and text:
        value = text
    if value is not None:
        entities[slot.name] = value
    return entities


def answers_slot(words: tuple[str, ...], slot: SlotSpec | None, language: str = "en") -> bool:
    """Whether the utterance is just the slot's value ("nope", "four five six", "sales").

    Such an answer fills the slot even when some intent's examples look alike.
    """
    if slot is None or not words:
        return False
    if slot.type == "yes_no":
        return len(words) <= 3 and find_yes_no(" ".join(words), language) is not None
    if slot.type in ("digits", "number"):
        numeric = (french.number_word_count(words) if french.is_french(language)
                   else sum(len(run) for run in number_runs(words)))
        if slot.type == "number" and numeric == 0 and find_quantity(words) is not None:
            return len(words) <= 4  # "just a couple", "half a dozen"
        return numeric >= max(1, len(words) // 2)
    if slot.type == "choice":
        # Only a choice named as it is written: a near miss ("a real person" looks like
        # "personal") is weaker evidence than an intent's own example.
        choice = find_choice(" ".join(words), slot.choices, slot.synonyms, fuzzy=False,
                             language=language)
        return len(words) <= 4 and choice is not None
    return False
