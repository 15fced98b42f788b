"""Numbers, digit strings and ordinals as callers say them.

Two readings of the same words are needed. A digit string ("four five six", "double
five", "oh seven", "4 five 6") is read digit by digit; a quantity ("twenty three",
"one hundred and five", "two thousand") is read as a value. Both work on the output of
`voicebot.nlu.normalize.words`.
"""

from __future__ import annotations

import re

from voicebot.nlu.lexicon import (
    HOMOPHONES,
    ONE_BEFORE_SCALE,
    ONE_PRONOUN_AFTER,
    ORDINAL_SUFFIXES,
    ORDINALS,
    POSITION_WORDS,
    QUANTITY_PHRASES,
    REPEATS,
    SCALES,
    TEENS,
    TENS,
    UNITS,
    ZERO_LETTERS,
)

__all__ = ["HOMOPHONES", "ORDINALS", "REPEATS", "SCALES", "TEENS", "TENS", "UNITS",
           "ZERO_LETTERS", "digits_of", "find_digits", "find_number", "find_ordinal",
           "find_quantity", "is_figure", "number_runs", "value_of"]

# A written figure: "42", or a decimal kept whole by normalize ("3.5").
_FIGURE = re.compile(r"\d+(?:\.\d+)?")


def is_figure(word: str) -> bool:
    return _FIGURE.fullmatch(word) is not None


def _figure_value(word: str) -> int | float:
    value = float(word)
    return int(value) if value.is_integer() else value


def _is_numeric(words: tuple[str, ...], i: int) -> bool:
    w = words[i]
    if w == "one" and i > 0 and (words[i - 1] in ORDINALS or words[i - 1] in ONE_PRONOUN_AFTER):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if not (nxt.isdigit() or nxt in UNITS or nxt in TEENS or nxt in TENS):
            return False
    if is_figure(w) or w in UNITS or w in TEENS or w in TENS:
        return True
    if w in ONE_BEFORE_SCALE:
        return i + 1 < len(words) and words[i + 1] in SCALES
    if w in SCALES:
        return i > 0 and _is_numeric(words, i - 1)
    if w in REPEATS:
        return i + 1 < len(words) and (words[i + 1] in UNITS or words[i + 1].isdigit()
                                       or words[i + 1] in ZERO_LETTERS)
    if w in ZERO_LETTERS:
        return _neighbour_numeric(words, i)
    return False


def _neighbour_numeric(words: tuple[str, ...], i: int) -> bool:
    for j in (i - 1, i + 1):
        if 0 <= j < len(words):
            w = words[j]
            if is_figure(w) or w in UNITS or w in TEENS or w in TENS or w in REPEATS:
                return True
    return False


def _homophone_ok(words: tuple[str, ...], i: int) -> bool:
    # "two four to six" is digits, "I want to pay" is not: only between digits.
    return (0 < i < len(words) - 1 and _is_numeric(words, i - 1)
            and (_is_numeric(words, i + 1)))


def number_runs(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Maximal runs of number words (with "and" inside a run, as in "one hundred and five")."""
    runs: list[tuple[str, ...]] = []
    current: list[str] = []
    for i, w in enumerate(words):
        joins = w == "and" and current and i + 1 < len(words) and _is_numeric(words, i + 1)
        homophone = w in HOMOPHONES and current and _homophone_ok(words, i)
        if _is_numeric(words, i) or homophone or joins:
            # "a hundred" is read as "one hundred".
            current.append("one" if w in ONE_BEFORE_SCALE else w)
        elif current:
            runs.append(tuple(current))
            current = []
    if current:
        runs.append(tuple(current))
    return runs


# Longest first, so "half a dozen" is 6 before "a dozen" is 12.
_QUANTITIES = sorted(QUANTITY_PHRASES.items(), key=lambda item: -len(item[0]))


def _below_hundred(run: tuple[str, ...], i: int) -> tuple[int | None, int]:
    """Value of a "twenty three" / "seven" / "fifteen" at run[i], and the next index."""
    if i < len(run) and run[i] == "and":
        i += 1
    if i >= len(run):
        return None, i
    w = run[i]
    if w in TEENS:
        return TEENS[w], i + 1
    if w in TENS:
        if i + 1 < len(run) and run[i + 1] in UNITS and UNITS[run[i + 1]] > 0:
            return TENS[w] + UNITS[run[i + 1]], i + 2
        return TENS[w], i + 1
    if w in UNITS:
        return UNITS[w], i + 1
    return None, i


def digits_of(run: tuple[str, ...]) -> str:
    """Read a run digit by digit: "four five six" -> "456", "double five" -> "55".

    Compounds keep their written form: "twenty three" -> "23", "four hundred" -> "400",
    "four fifty six" -> "456", "nineteen eighty four" -> "1984".
    """
    if "thousand" in run or "million" in run:
        # "two thousand five hundred" is said as a value even inside a digit string.
        value = value_of(run, fallback=False)
        if value is not None and not any(is_figure(w) or w in REPEATS for w in run):
            return str(value)
    out: list[str] = []
    i = 0
    while i < len(run):
        w = run[i]
        if w in REPEATS and i + 1 < len(run):
            nxt = digits_of((run[i + 1],))
            out.append(nxt[:1] * REPEATS[w] + nxt[1:])
            i += 2
            continue
        if w == "and":
            i += 1
            continue
        if is_figure(w):
            out.append(w.replace(".", ""))
        elif w in ZERO_LETTERS:
            out.append("0")
        elif w in HOMOPHONES:
            out.append(str(HOMOPHONES[w]))
        elif w in UNITS and i + 1 < len(run) and run[i + 1] == "hundred":
            rest, j = _below_hundred(run, i + 2)
            if rest is None:
                out.append(f"{UNITS[w]}00")
                i += 2
            else:
                out.append(f"{UNITS[w] * 100 + rest:03d}")
                i = j
            continue
        elif w in SCALES:
            out.append("0" * (len(str(SCALES[w])) - 1))
        else:
            value, j = _below_hundred(run, i)
            if value is not None:
                out.append(str(value))
                i = j
                continue
        i += 1
    return "".join(out)


def value_of(run: tuple[str, ...], fallback: bool = True) -> int | float | None:
    """Read a run as a quantity: "twenty three" -> 23, "two thousand five hundred" -> 2500.

    Runs that are not a well-formed quantity ("four five six", "nineteen eighty four")
    fall back to their digit reading, which is what a caller meant.
    """
    if len(run) == 1 and is_figure(run[0]):
        return _figure_value(run[0])
    total = 0
    current = 0
    last = ""  # kind of the previous word: unit, teen, tens, scale
    for w in run:
        if w == "and":
            continue
        if w in UNITS or w in ZERO_LETTERS:
            if last in ("unit", "teen"):
                return _digits_value(run) if fallback else None
            current += UNITS.get(w, 0)
            last = "unit"
        elif w in TEENS or w in TENS:
            if last in ("unit", "teen", "tens"):
                return _digits_value(run) if fallback else None
            current += TEENS.get(w) or TENS[w]
            last = "teen" if w in TEENS else "tens"
        elif w == "hundred":
            current = max(current, 1) * 100
            last = "scale"
        elif w in SCALES:
            total += max(current, 1) * SCALES[w]
            current = 0
            last = "scale"
        else:
            # Digits written as figures, "double", homophones: a digit string.
            return _digits_value(run) if fallback else None
    return total + current


def _digits_value(run: tuple[str, ...]) -> int | None:
    digits = digits_of(run)
    return int(digits) if digits else None


def find_digits(words: tuple[str, ...]) -> str | None:
    """Every digit the caller said, in order, as one string; None when there are none."""
    digits = "".join(digits_of(run) for run in number_runs(words))
    return digits or None


def find_quantity(words: tuple[str, ...]) -> int | None:
    """A quantity said without a number: "a couple" -> 2, "half a dozen" -> 6, "a few" -> 3."""
    text = f" {' '.join(words)} "
    for phrase, value in _QUANTITIES:
        if f" {phrase} " in text:
            return value
    return None


def find_number(words: tuple[str, ...]) -> int | float | None:
    """The first quantity the caller said ("3.5" written by a recogniser is 3.5); a number
    said as words ("a couple", "a dozen") when there is no number."""
    for run in number_runs(words):
        value = value_of(run)
        if value is not None:
            return value
    return find_quantity(words)


def find_ordinal(words: tuple[str, ...]) -> int | None:
    """ "the second one" -> 2, "3rd" -> 3, "option two" / "number two" -> 2, "the last" -> -1."""
    for i, w in enumerate(words):
        if w in ORDINALS:
            # "second" in "wait a second" is not an ordinal; it follows "the"/"a"... mostly
            # when it stands before "one"/"option" or at the end, so accept those.
            nxt = words[i + 1] if i + 1 < len(words) else ""
            prev = words[i - 1] if i > 0 else ""
            if prev == "a" and w == "second":
                continue
            if nxt in ("", "one", "option", "choice", "item") or prev in ("the", "that"):
                return ORDINALS[w]
        if w[:-2].isdigit() and w.endswith(ORDINAL_SUFFIXES) and w[:-2]:
            return int(w[:-2])
        if w in POSITION_WORDS and i + 1 < len(words):
            nxt = words[i + 1]
            if nxt in UNITS or nxt in TEENS:
                return UNITS.get(nxt) or TEENS[nxt]
            if nxt.isdigit():
                return int(nxt)
    return None
