"""The default NLU: regular expressions, then fuzzy word matching against intent examples.

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

from voicebot.nlu.entities import answers_slot, extract, find_yes_no
from voicebot.nlu.normalize import normalize, words
from voicebot.nlu.similarity import FUNCTION_WORDS, Phrase, keyword_scores, score
from voicebot.plugins.base import Expectation, IntentSpec, NLUResult, SlotSpec


@dataclass(frozen=True, slots=True)
class _Compiled:
    name: str
    patterns: tuple[re.Pattern[str], ...]
    phrases: tuple[Phrase, ...]
    synonyms: tuple[tuple[re.Pattern[str], str], ...]
    yes_no: frozenset[bool]  # polarities of the intent's short yes/no examples
    vocabulary: frozenset[str]  # stems of every example and synonym


@lru_cache(maxsize=512)
def _compile(
    name: str, examples: tuple[str, ...], patterns: tuple[str, ...],
    synonyms: tuple[tuple[str, tuple[str, ...]], ...], language: str = "en",
) -> _Compiled:
    phrases = []
    for example in examples + tuple(key for key, _ in synonyms):
        norm = normalize(example, language=language)
        if norm:
            phrases.append(Phrase.of(norm))
    syn = []
    for key, alternatives in synonyms:
        for alt in alternatives:
            alt_norm = normalize(alt, language=language)
            if alt_norm:
                syn.append((re.compile(rf"\b{re.escape(alt_norm)}\b"),
                            normalize(key, language=language)))
    polarities = set()
    for example in examples:
        example_words = words(example, language=language)
        if len(example_words) <= 3:
            value = find_yes_no(" ".join(example_words), language)
            if value is not None:
                polarities.add(value)
    vocabulary = {w for p in phrases for w in p.stems}
    for _, alternatives in synonyms:
        for alt in alternatives:
            vocabulary.update(Phrase.of(normalize(alt, language=language)).stems)
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as exc:  # flows are validated at load; a hand-made spec may not be
            raise ValueError(f"intent {name!r}: bad regular expression {pattern!r}: {exc}") from exc
    return _Compiled(
        name,
        tuple(compiled),
        tuple(phrases),
        tuple(syn),
        frozenset(polarities),
        frozenset(vocabulary - FUNCTION_WORDS),
    )


def compile_intent(spec: IntentSpec, language: str = "en") -> _Compiled:
    synonyms = tuple((k, tuple(v)) for k, v in sorted(spec.synonyms.items()))
    return _compile(spec.name, tuple(spec.examples), tuple(spec.patterns), synonyms, language)


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
        language = expectation.language
        tokens = words(text, language=language)
        norm = " ".join(tokens)
        entities = extract(tokens, expectation.slot, language)
        slot = expectation.slot
        slot_filled = slot is not None and slot.name in entities
        if not norm:
            return NLUResult(text=text, intent=None, confidence=0.0, entities=entities)

        raw = text.strip().lower()
        compiled = [compile_intent(spec, language) for spec in expectation.intents]
        for intent in compiled:
            if any(p.search(norm) or p.search(raw) for p in intent.patterns):
                return NLUResult(text=text, intent=intent.name, confidence=1.0, entities=entities)
        keywords = keyword_scores(Phrase.of(norm), {c.name: c.vocabulary for c in compiled})
        best_name: str | None = None
        best = 0.0
        for intent in compiled:
            score = max(self._fuzzy(norm, intent, entities, slot) / 100.0,
                        keywords.get(intent.name, 0.0))
            if score > best:
                best, best_name = score, intent.name

        needed = self.options.threshold
        if slot_filled:
            if answers_slot(tokens, slot, language):
                # A bare "no" or "four five six" is the answer to the question asked,
                # even where an intent has "no thanks" among its examples.
                needed = 1.01
            needed = min(1.01, needed + self.options.slot_margin)
        if best_name is not None and best >= needed:
            return NLUResult(text=text, intent=best_name, confidence=round(best, 3),
                             entities=entities)
        # The slot is the answer: no intent, but a value the state asked for.
        confidence = 1.0 if slot_filled else round(best, 3)
        return NLUResult(text=text, intent=None, confidence=confidence, entities=entities)

    @staticmethod
    def _fuzzy(
        norm: str, compiled: _Compiled, entities: dict[str, object], slot: SlotSpec | None
    ) -> float:
        for pattern, key in compiled.synonyms:
            norm = pattern.sub(key, norm)
        said = Phrase.of(norm)
        best = 0.0
        for phrase in compiled.phrases:
            best = max(best, 100.0 * score(said, phrase))
        # "yes" means what the state asked: a short yes/no answer matches an intent whose
        # examples are themselves yes or no ("yeah" vs an intent with example "yes").
        # Not when the state asks a yes/no question itself: then the slot takes the answer.
        asks_yes_no = slot is not None and slot.type == "yes_no"
        if not asks_yes_no and entities.get("yes_no") in compiled.yes_no and len(norm.split()) <= 3:
            best = max(best, 90.0)
        return best
