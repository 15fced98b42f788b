"""Turn a transcript into the plain word sequence the matchers compare.

Whisper writes " I'd like to speak to an agent." and callers say "um, yeah, please";
matching is far more stable once case, punctuation, contractions and filler words are
gone. Everything here is pure string work so a short utterance costs microseconds.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Whole-phrase rewrites applied before punctuation is dropped, so "uh-huh" is still whole.
_BACKCHANNELS = {
    "uh-huh": "yes",
    "uh huh": "yes",
    "mm-hmm": "yes",
    "mm hmm": "yes",
    "mhm": "yes",
    "mm-mm": "no",
    "uh-uh": "no",
}

_CONTRACTIONS = {
    "can't": "cannot",
    "won't": "will not",
    "shan't": "shall not",
    "ain't": "is not",
    "let's": "let us",
    "y'all": "you all",
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "got to",
    "lemme": "let me",
    "gimme": "give me",
}
_SUFFIXES = (
    ("n't", " not"),
    ("'re", " are"),
    ("'m", " am"),
    ("'ll", " will"),
    ("'ve", " have"),
    ("'d", " would"),
)
# "'s" is "is" after these pronouns; elsewhere it is a possessive and is just dropped.
_S_IS = {"it", "that", "what", "there", "here", "he", "she", "who", "where", "how", "this"}

# Words that carry no meaning on the phone. "like" and "well" are kept: "I'd like" matters.
FILLERS = frozenset(
    {"um", "umm", "uh", "uhh", "uhm", "er", "erm", "err", "hmm", "hm", "mm", "ah", "eh",
     "please", "pls", "plz", "kindly"}
)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_BACKCHANNEL_RE = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(_BACKCHANNELS, key=len, reverse=True)) + r")\b"
)


def _expand(token: str) -> list[str]:
    if token in _CONTRACTIONS:
        return _CONTRACTIONS[token].split()
    if "'" not in token:
        return [token]
    if token.endswith("'s"):
        stem = token[:-2]
        return [stem, "is"] if stem in _S_IS else [stem]
    for suffix, full in _SUFFIXES:
        if token.endswith(suffix):
            stem = token[: -len(suffix)]
            return [stem or token, *full.split()] if stem else [token]
    return [token.replace("'", "")]


@lru_cache(maxsize=4096)
def words(text: str, drop_fillers: bool = True) -> tuple[str, ...]:
    """The normalised words of `text`: lower case, no punctuation, contractions expanded."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = _BACKCHANNEL_RE.sub(lambda m: _BACKCHANNELS[m.group(1)], text)
    # "1,234" is a number, not two; other separators become spaces.
    text = re.sub(r"(?<=\d)[,.](?=\d{3}\b)", "", text)
    out: list[str] = []
    for token in _WORD.findall(text):
        for word in _expand(token):
            if word and not (drop_fillers and word in FILLERS):
                out.append(word)
    return tuple(out)


def normalize(text: str, drop_fillers: bool = True) -> str:
    """`words` joined by single spaces: the form examples and utterances are compared in."""
    return " ".join(words(text, drop_fillers))
