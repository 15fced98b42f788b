"""Numbers, digit strings and ordinals as callers say them.

Two readings of the same words are needed. A digit string ("four five six", "double
five", "oh seven", "4 five 6") is read digit by digit; a quantity ("twenty three",
"one hundred and five", "two thousand") is read as a value. Both work on the output of
`voicebot.nlu.normalize.words`.
"""

from __future__ import annotations

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9,
}
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
REPEATS = {"double": 2, "triple": 3, "treble": 3}
# "oh" is zero only next to other digits: "oh, four five six" is a zero, "oh I see" is not.
ZERO_LETTERS = {"oh", "o"}
# Recognisers often write a homophone for a digit.
HOMOPHONES = {"to": 2, "too": 2, "for": 4, "won": 1, "ate": 8}

ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "last": -1,
}
_ORDINAL_SUFFIX = ("st", "nd", "rd", "th")


# "the second one", "that one", "no one": a pronoun, not the digit 1.
_ONE_PRONOUN_AFTER = {"the", "that", "this", "which", "no", "any", "each", "every", "other"}


def _is_numeric(words: tuple[str, ...], i: int) -> bool:
    w = words[i]
    if w == "one" and i > 0 and (words[i - 1] in ORDINALS or words[i - 1] in _ONE_PRONOUN_AFTER):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if not (nxt.isdigit() or nxt in UNITS or nxt in TEENS or nxt in TENS):
            return False
    if w.isdigit() or w in UNITS or w in TEENS or w in TENS:
        return True
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
            if w.isdigit() or w in UNITS or w in TEENS or w in TENS or w in REPEATS:
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
            current.append(w)
        elif current:
            runs.append(tuple(current))
            current = []
    if current:
        runs.append(tuple(current))
    return runs


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
        if value is not None and not any(w.isdigit() or w in REPEATS for w in run):
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
        if w.isdigit():
            out.append(w)
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


def value_of(run: tuple[str, ...], fallback: bool = True) -> int | None:
    """Read a run as a quantity: "twenty three" -> 23, "two thousand five hundred" -> 2500.

    Runs that are not a well-formed quantity ("four five six", "nineteen eighty four")
    fall back to their digit reading, which is what a caller meant.
    """
    if len(run) == 1 and run[0].isdigit():
        return int(run[0])
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


def find_number(words: tuple[str, ...]) -> int | None:
    """The first quantity the caller said."""
    for run in number_runs(words):
        value = value_of(run)
        if value is not None:
            return value
    return None


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
        if w[:-2].isdigit() and w.endswith(_ORDINAL_SUFFIX) and w[:-2]:
            return int(w[:-2])
        if w in ("option", "number", "choice", "press") and i + 1 < len(words):
            nxt = words[i + 1]
            if nxt in UNITS or nxt in TEENS:
                return UNITS.get(nxt) or TEENS[nxt]
            if nxt.isdigit():
                return int(nxt)
    return None
