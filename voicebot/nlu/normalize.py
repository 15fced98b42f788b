"""Turn a transcript into the plain word sequence the matchers compare.

Whisper writes " I'd like to speak to an agent." and callers say "um, yeah, please";
matching is far more stable once case, punctuation, contractions and filler words are
gone. Everything here is pure string work so a short utterance costs microseconds.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from voicebot.nlu import french
from voicebot.nlu.lexicon import (
    BACKCHANNEL_ANSWERS,
    CONTRACTION_SUFFIXES,
    CONTRACTIONS,
    FILLERS,
    S_IS,
)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
# A decimal figure stays one token: "3.5" is a number, not "3" and "5".
_WORD = re.compile(r"\d+\.\d+(?!\.?\d)|[a-z0-9]+(?:'[a-z]+)?")
_BACKCHANNEL_RE = re.compile(
    r"\b("
    + "|".join(re.escape(k) for k in sorted(BACKCHANNEL_ANSWERS, key=len, reverse=True))
    + r")\b"
)


def _expand(token: str) -> list[str]:
    if token in CONTRACTIONS:
        return CONTRACTIONS[token].split()
    if "'" not in token:
        return [token]
    if token.endswith("'s"):
        stem = token[:-2]
        return [stem, "is"] if stem in S_IS else [stem]
    for suffix, full in CONTRACTION_SUFFIXES:
        if token.endswith(suffix):
            stem = token[: -len(suffix)]
            return [stem or token, *full.split()] if stem else [token]
    return [token.replace("'", "")]


def words(text: str, drop_fillers: bool = True, language: str = "en") -> tuple[str, ...]:
    """The normalised words of `text`: lower case, no punctuation, contractions expanded
    (French: no accents, elisions split; see voicebot.nlu.french)."""
    if french.is_french(language):
        return french.words(text, drop_fillers)
    return _english_words(text, drop_fillers)


@lru_cache(maxsize=4096)
def _english_words(text: str, drop_fillers: bool = True) -> tuple[str, ...]:
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = _BACKCHANNEL_RE.sub(lambda m: BACKCHANNEL_ANSWERS[m.group(1)], text)
    # "1,234" is a number, not two; other separators become spaces.
    text = re.sub(r"(?<=\d)[,.](?=\d{3}\b)", "", text)
    out: list[str] = []
    for token in _WORD.findall(text):
        for word in _expand(token):
            if word and not (drop_fillers and word in FILLERS):
                out.append(word)
    return tuple(out)


def normalize(text: str, drop_fillers: bool = True, language: str = "en") -> str:
    """`words` joined by single spaces: the form examples and utterances are compared in."""
    return " ".join(words(text, drop_fillers, language))


_VOWEL = re.compile(r"[aeiouy]")


def has_content(tokens: tuple[str, ...]) -> bool:
    """Whether the words hold anything to understand: a number, or a word of two letters
    or more with a vowel. "M-A-M-A-M", "Mmm." and "M." (what a recogniser makes of a hum)
    hold nothing, and an encoder would still find them near some intent."""
    return any(t[0].isdigit() or (len(t) >= 2 and _VOWEL.search(t)) for t in tokens)
