"""Split a reply into sentences so the first can be synthesised and sent while the rest is.

Time to first audio is synthesis time of the first piece, so pieces should be short, but
not so short that each one ends in its own pause: one-word fragments ("Hello.") are merged
into their neighbour, and run-on sentences are cut at a comma when they get long.
A full stop only ends a sentence when it is not part of an abbreviation ("Mr.", "e.g."),
an initial ("J. Smith") or a number ("3.5").
"""

from __future__ import annotations

import re

# Lower-cased, without their final dot. Titles and Latin abbreviations precede more text;
# "No." only counts as an abbreviation before a number (see _is_abbreviation).
ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "mt", "ft", "vs", "etc", "e.g",
        "i.e", "cf", "approx", "dept", "inc", "ltd", "co", "corp", "a.m", "p.m", "tel", "ext",
        "no", "nos", "fig", "vol", "min", "max", "avg", "apt", "ave", "blvd", "rd",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    }
)
# Terminal punctuation, then closing quotes or brackets, then the gap to the next sentence.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n\s*\n")
_SOFT_BREAK = re.compile(r"[,;:—–]\s")


def _is_abbreviation(text: str, dot: int, following: str) -> bool:
    """Whether the '.' at text[dot] belongs to the word before it rather than ending it."""
    start = dot
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    word = text[start:dot].lower().lstrip("(\"'“‘")
    if word == "no":
        return following[:1].isdigit()
    if word in ABBREVIATIONS:
        # "etc." is often the last word of a sentence; trust a capital after it.
        return not (word == "etc" and following[:1].isupper())
    if len(word) == 1 and word.isalpha():
        return True  # an initial: "J. Smith", "U. S."
    return False


def _split_long(sentence: str, max_chars: int) -> list[str]:
    pieces: list[str] = []
    rest = sentence
    while len(rest) > max_chars:
        cuts = [m.end() for m in _SOFT_BREAK.finditer(rest, 0, max_chars)]
        if not cuts:
            break  # no comma to breathe at: keep it whole rather than cut mid-phrase
        pieces.append(rest[: cuts[-1]].strip())
        rest = rest[cuts[-1] :]
    pieces.append(rest.strip())
    return [p for p in pieces if p]


def split_sentences(text: str, min_chars: int = 10, max_chars: int = 200) -> list[str]:
    """Sentences of `text`, in order, whitespace-normalised; joining them gives the text back.

    Pieces shorter than `min_chars` are merged with the next one (or the previous one at
    the end); sentences longer than `max_chars` are cut after a comma, semicolon or colon.
    """
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        following = text[end:].lstrip()
        punct = match.group()
        if punct.startswith(".") and punct.rstrip("\"'”’)]") == ".":
            if _is_abbreviation(text, match.start(), following):
                continue
        if following[:1].islower():
            continue  # "approx. five", "wait... what": the sentence goes on
        sentences.append(text[start:end])
        start = end
    sentences.append(text[start:])
    cleaned = [" ".join(s.split()) for s in sentences]
    pieces = [p for s in cleaned if s for p in _split_long(s, max_chars)]
    merged: list[str] = []
    carry = ""
    for piece in pieces:
        piece = f"{carry} {piece}" if carry else piece
        if len(piece) < min_chars:
            carry = piece
        else:
            merged.append(piece)
            carry = ""
    if carry:
        if merged:
            merged[-1] = f"{merged[-1]} {carry}"
        else:
            merged.append(carry)
    return merged


# The first piece of a reply is what the caller waits for, and synthesis time grows with
# its length: a first sentence longer than this is cut after its first clause.
FIRST_PIECE_CHARS = 40


def reply_pieces(text: str, first_max_chars: int = FIRST_PIECE_CHARS) -> list[str]:
    """`split_sentences`, with a long first sentence cut after its first clause
    ("I see, that is point 3 for your call." -> "I see," + "that is point 3 ..."): a
    comma is a pause anyway, and the clause is synthesised in a fraction of the time."""
    pieces = split_sentences(text) or [text]
    first = pieces[0]
    if len(first) > first_max_chars:
        match = _SOFT_BREAK.search(first)
        if match and first[match.end() :].strip():
            pieces[:1] = [first[: match.end()].strip(), first[match.end() :].strip()]
    return pieces
