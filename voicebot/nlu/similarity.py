"""How well an utterance matches one example phrase, word by word.

Character-level fuzzy scores over whole sentences reward shared letters: "working"
looks like "billing", "call" like "bill". Callers and examples share *words*, with
endings and mis-transcriptions in between, so the score here is word coverage: how
much of the example's meaningful words the caller said (each word matched exactly after
light stemming, or fuzzily for a long word), lightly weighted by how much of what the
caller said the example explains.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from voicebot.nlu.lexicon import FUNCTION_WORDS, STEM_SUFFIXES, STOPWORDS

__all__ = ["FUNCTION_WORDS", "STOPWORDS", "Phrase", "content_stems", "keyword_scores", "score",
           "stem"]

# Below this a mis-heard long word is another word ("bill" / "ball" never match).
FUZZY_WORD = 80.0
FUZZY_MIN_LEN = 5


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    for suffix in STEM_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> tuple[str, ...]:
    """The stems of the words that carry meaning; all words if every one is a stopword."""
    tokens = text.split()
    kept = [stem(w) for w in tokens if w not in STOPWORDS]
    return tuple(kept or (stem(w) for w in tokens))


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str
    stems: tuple[str, ...]

    @classmethod
    def of(cls, normalised: str) -> Phrase:
        return cls(normalised, content_stems(normalised))


def _word_match(word: str, others: frozenset[str]) -> float:
    if word in others:
        return 1.0
    if len(word) < FUZZY_MIN_LEN:
        return 0.0
    best = max((fuzz.ratio(word, o) for o in others if len(o) >= FUZZY_MIN_LEN - 1),
               default=0.0)
    return best / 100.0 if best >= FUZZY_WORD else 0.0


def score(utterance: Phrase, example: Phrase) -> float:
    """0..1: coverage of the example's words, times 0.8..1 for the utterance explained."""
    if not utterance.stems or not example.stems:
        return 0.0
    said = frozenset(utterance.stems)
    wanted = frozenset(example.stems)
    covered = sum(_word_match(w, said) for w in example.stems) / len(example.stems)
    if covered == 0.0:
        return fuzz.ratio(utterance.text, example.text) / 100.0 * 0.8
    explained = sum(_word_match(w, wanted) for w in utterance.stems) / len(utterance.stems)
    words_score = covered * (0.8 + 0.2 * explained)
    # A whole-sentence near miss ("cant here you" / "can't hear you") still counts.
    return max(words_score, fuzz.ratio(utterance.text, example.text) / 100.0)


def keyword_scores(utterance: Phrase, vocabularies: dict[str, frozenset[str]]) -> dict[str, float]:
    """0..1 per intent: how much of the utterance is words only that intent's examples use.

    Callers rarely repeat an example; they say one of its key words inside their own
    sentence ("are you open on Saturday?"). A word that several intents share counts
    for each in proportion, and words no intent knows dilute the evidence a little.
    """
    said = [w for w in utterance.stems if w not in FUNCTION_WORDS]
    if not said:
        return {}
    matches = {name: [_word_match(w, vocab) for w in said] for name, vocab in vocabularies.items()}
    sharing = [sum(1 for m in matches.values() if m[i] >= FUZZY_WORD / 100) or 1
               for i in range(len(said))]
    known = [any(m[i] > 0 for m in matches.values()) for i in range(len(said))]
    unknown = known.count(False)
    scores = {}
    for name, found in matches.items():
        hits = sum(f / n for f, n in zip(found, sharing, strict=True))
        if hits:
            # Words another intent claims weigh against this one far more than unknown ones.
            others = sum(1 for f, k in zip(found, known, strict=True) if k and f == 0)
            scores[name] = 0.9 * hits / (hits + 0.1 * unknown + 0.5 * others)
    return scores
