"""A small intent matcher, so `voicebot chat` and `voicebot test` need no NLU plugin.

Scores an utterance against each intent's examples and regular expressions: an exact
example is certain, an example found inside the utterance nearly so, and otherwise the
share of an example's content words present in the utterance. Synonyms are rewritten to
their canonical word first. The server may use a better NLU plugin; the flow only sees
the resulting `NLUResult`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from voicebot.plugins.base import Expectation, IntentSpec, NLUResult

NLUFunction = Callable[[str, Expectation], NLUResult]

# Words that carry no intent: "I'd like to talk to an agent" is about "talk" and "agent".
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "i'd",
        "i'm",
        "im",
        "me",
        "my",
        "to",
        "of",
        "for",
        "about",
        "on",
        "in",
        "at",
        "with",
        "and",
        "or",
        "so",
        "please",
        "just",
        "want",
        "wanna",
        "would",
        "like",
        "can",
        "could",
        "you",
        "your",
        "is",
        "it",
        "it's",
        "its",
        "that",
        "this",
        "be",
        "do",
        "have",
        "need",
        "um",
        "uh",
        "er",
        "well",
        "hi",
        "hello",
        "hey",
    ]
)

_NON_WORD = re.compile(r"[^\w']+")


def normalise(text: str) -> str:
    words = _NON_WORD.sub(" ", text.lower().replace("\u2019", "'")).split()
    return " ".join(word.strip("'") for word in words if word.strip("'"))


def _apply_synonyms(text: str, synonyms: dict[str, list[str]]) -> str:
    for canonical, alternatives in synonyms.items():
        # Longest first, so "customer service" wins over "service".
        for alternative in sorted(alternatives, key=len, reverse=True):
            alt = normalise(alternative)
            if alt:
                text = re.sub(rf"\b{re.escape(alt)}\b", normalise(canonical), text)
    return text


def score(text: str, intent: IntentSpec) -> float:
    """Confidence (0..1) that `text` expresses `intent`."""
    said = _apply_synonyms(normalise(text), intent.synonyms)
    if not said:
        return 0.0
    best = 0.0
    for pattern in intent.patterns:
        try:
            if re.search(pattern, text, re.IGNORECASE) or re.search(pattern, said, re.IGNORECASE):
                best = max(best, 0.95)
        except re.error:
            continue  # the validator reports bad patterns; at run time they just never match
    said_words = said.split()
    said_set = set(said_words)
    for example in intent.examples:
        wanted = _apply_synonyms(normalise(example), intent.synonyms)
        if not wanted:
            continue
        if wanted == said:
            return 1.0
        if re.search(rf"\b{re.escape(wanted)}\b", said):
            best = max(best, 0.9)
            continue
        words = [w for w in wanted.split() if w not in STOPWORDS] or wanted.split()
        share = sum(1 for w in words if w in said_set) / len(words)
        if share >= 0.5:
            best = max(best, 0.8 * share)
    return best


def match_intent(text: str, intents: list[IntentSpec]) -> tuple[str | None, float]:
    best_name: str | None = None
    best_score = 0.0
    for intent in intents:
        value = score(text, intent)
        if value > best_score:  # ties go to the first intent, i.e. the state's own
            best_name, best_score = intent.name, value
    return best_name, round(best_score, 3)


def match_nlu(text: str, expectation: Expectation) -> NLUResult:
    """The default NLU callable of the flow tools: `(text, Expectation) -> NLUResult`."""
    name, confidence = match_intent(text, expectation.intents)
    return NLUResult(text=text, intent=name if confidence > 0 else None, confidence=confidence)
