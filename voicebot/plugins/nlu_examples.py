"""The default NLU: regular expressions, then fuzzy matching against each intent's examples.

No model, no download, well under a millisecond per utterance. Only the intents the
current state accepts are candidates, and the state's slot decides what bare answers
mean: "yes" fills a yes_no slot, "four five six" a digits slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz

from voicebot.nlu.entities import extract, find_yes_no
from voicebot.nlu.normalize import normalize, words
from voicebot.plugins.base import Expectation, IntentSpec, NLUResult

# Words that make two sentences look alike without saying what the caller wants.
_STOP_TEXT = (
    "i me my we our you your a an the to of for in on at is am are was be been would could "
    "can will shall should do does did like want wanted wanna need needs just so some about "
    "and or but hi hello hey there this that it its with get got have has had "
    "know think see go going let us"
)
STOPWORDS = frozenset(_STOP_TEXT.split())


def content(text: str) -> str:
    return " ".join(w for w in text.split() if w not in STOPWORDS)


@dataclass(frozen=True, slots=True)
class _Phrase:
    text: str
    content: str


@dataclass(frozen=True, slots=True)
class _Compiled:
    name: str
    patterns: tuple[re.Pattern[str], ...]
    phrases: tuple[_Phrase, ...]
    synonyms: tuple[tuple[re.Pattern[str], str], ...]
    yes_no: frozenset[bool]  # polarities of the intent's short yes/no examples


@lru_cache(maxsize=512)
def _compile(
    name: str, examples: tuple[str, ...], patterns: tuple[str, ...],
    synonyms: tuple[tuple[str, tuple[str, ...]], ...],
) -> _Compiled:
    phrases = []
    for example in examples + tuple(key for key, _ in synonyms):
        norm = normalize(example)
        if norm:
            phrases.append(_Phrase(norm, content(norm)))
    syn = []
    for key, alternatives in synonyms:
        for alt in alternatives:
            alt_norm = normalize(alt)
            if alt_norm:
                syn.append((re.compile(rf"\b{re.escape(alt_norm)}\b"), normalize(key)))
    polarities = set()
    for example in examples:
        norm = words(example)
        if len(norm) <= 3:
            value = find_yes_no(" ".join(norm))
            if value is not None:
                polarities.add(value)
    return _Compiled(
        name,
        tuple(re.compile(p, re.IGNORECASE) for p in patterns),
        tuple(phrases),
        tuple(syn),
        frozenset(polarities),
    )


def compile_intent(spec: IntentSpec) -> _Compiled:
    synonyms = tuple((k, tuple(v)) for k, v in sorted(spec.synonyms.items()))
    return _compile(spec.name, tuple(spec.examples), tuple(spec.patterns), synonyms)


def phrase_score(text: str, text_content: str, phrase: _Phrase) -> float:
    """0..100: how well the utterance matches one example."""
    score = fuzz.WRatio(text, phrase.text)
    if phrase.content and text_content:
        # Content words only: "I'd like to talk to a person" vs "speak to a person".
        # token_set_ratio is 100 when one side's words are all in the other, which is
        # right for a short keyword example, so a one-word example is discounted a bit.
        overlap = fuzz.token_set_ratio(text_content, phrase.content)
        discount = 0.92 if " " not in phrase.content else 0.97
        score = max(score, overlap * discount)
    return score


class ExamplesNLU:
    kind: ClassVar[str] = "nlu"
    name: ClassVar[str] = "examples"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        threshold: float = Field(
            default=0.72, ge=0, le=1, description="Below this confidence the result is no-match."
        )
        slot_margin: float = Field(
            default=0.15, ge=0, le=1,
            description="When the utterance fills the state's slot, an intent needs this much "
            "more confidence to win over the slot.",
        )

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or self.Options()

    def load(self) -> None:
        # Warm rapidfuzz and the normaliser so the first caller does not pay for imports.
        self.parse("hello", Expectation(intents=[IntentSpec("greet", ["hello"])]))

    def health(self) -> dict[str, object]:
        return {"ok": True}

    def parse(self, text: str, expectation: Expectation) -> NLUResult:
        tokens = words(text)
        norm = " ".join(tokens)
        entities = extract(tokens, expectation.slot)
        slot = expectation.slot
        slot_filled = slot is not None and slot.name in entities
        if not norm:
            return NLUResult(text=text, intent=None, confidence=0.0, entities=entities)

        raw = text.strip().lower()
        best_name: str | None = None
        best = 0.0
        for spec in expectation.intents:
            compiled = compile_intent(spec)
            if any(p.search(norm) or p.search(raw) for p in compiled.patterns):
                return NLUResult(text=text, intent=spec.name, confidence=1.0, entities=entities)
            score = self._fuzzy(norm, compiled, entities) / 100.0
            if score > best:
                best, best_name = score, spec.name

        needed = self.options.threshold
        if slot_filled:
            needed = min(1.0, needed + self.options.slot_margin)
        if best_name is not None and best >= needed:
            return NLUResult(text=text, intent=best_name, confidence=round(best, 3),
                             entities=entities)
        # The slot is the answer: no intent, but a value the state asked for.
        confidence = 1.0 if slot_filled else round(best, 3)
        return NLUResult(text=text, intent=None, confidence=confidence, entities=entities)

    @staticmethod
    def _fuzzy(norm: str, compiled: _Compiled, entities: dict[str, object]) -> float:
        for pattern, key in compiled.synonyms:
            norm = pattern.sub(key, norm)
        text_content = content(norm)
        best = 0.0
        for phrase in compiled.phrases:
            best = max(best, phrase_score(norm, text_content, phrase))
        # "yes" means what the state asked: a short yes/no answer matches an intent whose
        # examples are themselves yes or no ("yeah" vs an intent with example "yes").
        if entities.get("yes_no") in compiled.yes_no and len(norm.split()) <= 5:
            best = max(best, 90.0)
        return best
