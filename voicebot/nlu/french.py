"""French as callers speak it: words, numbers, digit strings said in pairs, yes and no.

French differs from English where a voicebot listens hardest. Numbers are built by
addition and one multiplication ("quatre-vingt-dix-sept" is 4 x 20 + 10 + 7; "soixante et
onze" is 60 + 11); callers say phone and customer numbers in groups of two or three
("zéro six, douze, trente-quatre", "quatre cent cinquante-six, sept cent quatre-vingt-neuf");
articles and pronouns elide ("l'agent", "j'voudrais"); and Whisper writes accents or
not. So words are compared without accents, with elisions split off, and a digit string is
read group by group: each group is a number below a thousand, "zéro" a digit of its own.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

UNITS = {
    "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
    "sept": 7, "huit": 8, "neuf": 9,
}
TEENS = {
    "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15,
    "seize": 16,
}
# Belgian and Swiss French say septante, huitante (octante) and nonante.
TENS = {
    "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
    "septante": 70, "huitante": 80, "octante": 80, "nonante": 90,
}
SCALES = {"cent": 100, "cents": 100, "mille": 1000, "mil": 1000, "million": 1_000_000,
          "millions": 1_000_000}
NUMBER_WORDS = frozenset(UNITS) | frozenset(TEENS) | frozenset(TENS) | frozenset(SCALES)

# Phrases, compared without accents (see `words`); the longest match wins, so "absolument
# pas" is a no although "absolument" alone is a yes.
YES = [
    "oui", "ouais", "ouaip", "si", "bien sur", "d accord", "exactement", "tout a fait",
    "absolument", "c est ca", "c est bien ca", "c est exact", "c est correct", "volontiers",
    "affirmatif", "je confirme", "parfait", "effectivement", "entendu", "ok", "okay",
    "oui oui", "avec plaisir", "allez y", "vas y", "ca marche", "evidemment",
]
NO = [
    "non", "non merci", "pas du tout", "absolument pas", "surtout pas", "pas vraiment",
    "jamais", "negatif", "c est pas ca", "ce n est pas ca", "pas ca", "c est faux",
    "pas exactement", "pas question", "non non", "ce n est pas exact", "pas d accord",
    "annuler",
]
# Said over the bot's prompt, these only show the caller is listening: not a turn.
BACKCHANNELS = frozenset({
    "d accord", "hum", "hmm", "hm", "mh", "mhm", "oui oui", "ouais", "ah", "euh", "je vois",
    "ok", "okay", "bien", "tres bien", "voila", "ah oui", "oui", "entendu", "ok d accord",
})
# Words that carry nothing on the phone.
FILLERS = frozenset({"euh", "heu", "hum", "hmm", "hm", "ben", "bah", "beh", "bon", "ah",
                     "eh", "oh", "alors", "genre"})

# "l'agent" -> "l agent": the elided article or pronoun becomes its own short word, so
# "l'agent", "l agent" and "un agent" all hold the word "agent".
_ELISION = re.compile(r"\b(l|d|j|m|t|s|n|c|qu|jusqu|lorsqu|puisqu)['\u2019]")
# Words spelt with an apostrophe that is not an elision: "quelqu'un" holds no "un" (one).
_WHOLE = re.compile(r"\b(quelqu|aujourd|prud)['\u2019](un|une|hui|homme|hommes)\b")
_WORD = re.compile(r"[a-z0-9]+")
_PHRASES = sorted([(p, True) for p in YES] + [(p, False) for p in NO], key=lambda x: -len(x[0]))
_YES_NO_RE = re.compile(r"\b(" + "|".join(re.escape(p) for p, _ in _PHRASES) + r")\b")
_POLARITY = dict(_PHRASES)


ORDINALS = {
    "premier": 1, "premiere": 1, "deuxieme": 2, "second": 2, "seconde": 2, "troisieme": 3,
    "quatrieme": 4, "cinquieme": 5, "sixieme": 6, "septieme": 7, "huitieme": 8,
    "neuvieme": 9, "dixieme": 10, "dernier": -1, "derniere": -1,
}


def is_french(language: str) -> bool:
    return language.split("-")[0].lower() == "fr"


def find_ordinal(said: tuple[str, ...]) -> int | None:
    return next((ORDINALS[w] for w in said if w in ORDINALS), None)


def number_word_count(said: tuple[str, ...]) -> int:
    """How many of the words are parts of numbers (for "is this just a number?")."""
    return sum(1 for w in said if w in NUMBER_WORDS or w.isdigit() or w == "et")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=4096)
def words(text: str, drop_fillers: bool = True) -> tuple[str, ...]:
    """Lower case, no accents, elisions split, hyphens ("quatre-vingt-dix") split."""
    text = strip_accents(unicodedata.normalize("NFKC", text)).lower()
    text = _WHOLE.sub(lambda m: m.group(1) + m.group(2), text)
    text = _ELISION.sub(lambda m: m.group(1) + " ", text)
    # "1 234" and "1.234" are one number in French writing; other separators are spaces.
    text = re.sub(r"(?<=\d)[ .\u202f\u00a0](?=\d{3}\b)", "", text)
    return tuple(w for w in _WORD.findall(text) if not (drop_fillers and w in FILLERS))


def normalize(text: str, drop_fillers: bool = True) -> str:
    return " ".join(words(text, drop_fillers))


def find_yes_no(text: str) -> bool | None:
    """True for yes, False for no, None for neither; the first phrase said decides."""
    match = _YES_NO_RE.search(normalize(text, drop_fillers=False))
    return None if match is None else _POLARITY[match.group(1)]


def strip_yes_no(text: str) -> str:
    """`text` with its yes/no phrases taken out (what else was said besides the answer)."""
    return _YES_NO_RE.sub(" ", normalize(text, drop_fillers=False))


def is_backchannel(text: str) -> bool:
    return normalize(text, drop_fillers=False) in BACKCHANNELS


def _continues(prev: str, small: int, word: str) -> bool:
    """Whether `word` goes on the number being read (else it starts a new group).
    `small` is the part of the number below its last "mille" or "million"."""
    if word == "et":
        return prev in TENS
    if prev == "et":
        return word in ("un", "une", "onze")
    if word in SCALES:
        # "quatre cent", "deux mille cent"; but "cinquante cent" is two numbers.
        return word not in ("cent", "cents") or small < 10
    if prev in SCALES:
        return word != "zero"
    if word in ("vingt", "vingts"):  # quatre-vingt(s): 4 x 20
        return prev == "quatre"
    if prev in TENS:
        # vingt-trois, soixante-dix-sept, quatre-vingt-onze
        return (word in UNITS and word != "zero") or (word in TEENS and small % 100 in (60, 80))
    if prev == "dix":
        return word in ("sept", "huit", "neuf")
    return False


class _Number:
    """One number being read: `big` holds what "mille"/"million" closed, `small` the rest."""

    def __init__(self, word: str) -> None:
        self.big, self.small, self.prev, self.parts = 0, 0, "", [word]
        self._take(word)

    def add(self, word: str) -> None:
        self.parts.append(word)
        self._take(word)

    def _take(self, word: str) -> None:
        if word == "et":
            pass
        elif word in ("vingt", "vingts") and self.prev == "quatre":
            self.small += 80 - 4
        elif word in ("cent", "cents"):
            self.small = max(self.small, 1) * 100
        elif word in SCALES:
            self.big += max(self.small, 1) * SCALES[word]
            self.small = 0
        else:
            self.small += UNITS.get(word, TEENS.get(word, TENS.get(word, 0)))
        self.prev = word

    @property
    def value(self) -> int:
        return self.big + self.small

    @property
    def text(self) -> str:
        return " ".join(self.parts).removesuffix(" et")


def _is_numeric(word: str) -> bool:
    return word in NUMBER_WORDS or word.isdigit()


def number_groups(said: tuple[str, ...]) -> list[tuple[int, str]]:
    """Numbers in the order said, each with the text it was read from: "zéro six, douze"
    gives [(0, "zero"), (6, "six"), (12, "douze")]. Digits written as digits are kept.
    A lone "un"/"une" is the article ("je voudrais un rendez-vous"), not the number one,
    unless another number is said next to it ("un, deux, trois")."""
    groups: list[tuple[int, str]] = []
    current: _Number | None = None
    start = 0

    def close(end: int) -> None:
        assert current is not None
        if current.text in ("un", "une"):
            before = said[start - 1] if start > 0 else ""
            after = said[end] if end < len(said) else ""
            if not (_is_numeric(before) or _is_numeric(after)):
                return
        groups.append((current.value, current.text))

    for index, word in enumerate(said):
        if current is not None and _continues(current.prev, current.small, word):
            current.add(word)
            continue
        if current is not None:
            close(index)
            current = None
        if word.isdigit():
            groups.append((int(word), word))
        elif word in NUMBER_WORDS and word not in ("million", "millions"):
            current, start = _Number(word), index
    if current is not None:
        close(len(said))
    return groups


def _digits_of_group(value: int, text: str) -> str:
    # A group said as a number is its digits; written digits keep their leading zeros.
    return text if text.isdigit() else str(value)


def find_digits(said: tuple[str, ...]) -> str | None:
    """A digit string read group by group, as French callers give numbers:
    "quatre cent cinquante-six, sept cent quatre-vingt-neuf" -> "456789"."""
    groups = number_groups(said)
    if not groups:
        return None
    return "".join(_digits_of_group(value, text) for value, text in groups)


def find_number(said: tuple[str, ...]) -> int | None:
    """The first quantity said: "deux mille vingt-six" -> 2026."""
    groups = number_groups(said)
    return groups[0][0] if groups else None


def spell_pairs(digits: str) -> str:
    """A digit string as a French voice should read it back: "0612345678" -> "06 12 34 56
    78" (pairs, as phone numbers are said in France); an odd length starts with one."""
    clean = "".join(ch for ch in digits if not ch.isspace())
    head = len(clean) % 2
    groups = ([clean[:head]] if head else []) + [clean[i:i + 2]
                                                 for i in range(head, len(clean), 2)]
    return " ".join(groups)
