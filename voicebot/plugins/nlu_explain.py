"""Why an utterance matched what it did: the top intents, each with its score and the
example, rule or description that earned it (`voicebot chat --explain`).

A plugin may explain itself with an `explain(text, expectation)` method returning
`Reason`s; the built-in NLUs are explained here from their own scoring, so what is shown
is what `parse` weighed, not a second opinion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from voicebot.nlu.normalize import normalize, words
from voicebot.nlu.semantic import centre
from voicebot.nlu.similarity import Phrase, score
from voicebot.plugins.nlu_embeddings import EmbeddingsNLU
from voicebot.plugins.nlu_examples import ExamplesNLU, compile_intent
from voicebot.types import Expectation


@dataclass(frozen=True, slots=True)
class Reason:
    intent: str
    score: float  # the plugin's own scale: fuzzy 0..1, or cosine similarity
    why: str


def explain(plugin: Any, text: str, expectation: Expectation, top: int = 3) -> list[Reason]:
    own = getattr(plugin, "explain", None)
    if callable(own):
        return list(own(text, expectation))[:top]
    if isinstance(plugin, EmbeddingsNLU):
        return _embeddings(plugin, text, expectation)[:top]
    if isinstance(plugin, ExamplesNLU):
        return _examples(text, expectation)[:top]
    return []


def _patterns(text: str, expectation: Expectation) -> list[Reason]:
    norm, raw = normalize(text, language=expectation.language), text.strip().lower()
    found = []
    for spec in expectation.intents:
        for pattern in compile_intent(spec, expectation.language).patterns:
            if pattern.search(norm) or pattern.search(raw):
                found.append(Reason(spec.name, 1.0, f"rule /{pattern.pattern}/"))
                break
    return found


def _examples(text: str, expectation: Expectation) -> list[Reason]:
    language = expectation.language
    said = Phrase.of(" ".join(words(text, language=language)))
    reasons = _patterns(text, expectation)
    for spec in expectation.intents:
        best, example = 0.0, ""
        for candidate in spec.examples:
            value = score(said, Phrase.of(normalize(candidate, language=language)))
            if value > best:
                best, example = value, candidate
        if example:
            reasons.append(Reason(spec.name, round(best, 3), f"example {example!r}"))
    return sorted(reasons, key=lambda r: -r.score)


def _embeddings(plugin: EmbeddingsNLU, text: str, expectation: Expectation) -> list[Reason]:
    reasons = _patterns(text, expectation)
    norm = normalize(text, language=expectation.language)
    phrases: list[str] = []
    owners: list[str] = []
    sources: list[str] = []
    for spec in expectation.intents:
        described = [spec.description] if plugin.options.descriptions and spec.description else []
        for source in [*spec.examples, *spec.synonyms, *described]:
            phrase = normalize(source, language=expectation.language)
            if phrase:
                phrases.append(phrase)
                owners.append(spec.name)
                kind = "description" if source in described else "example"
                sources.append(f"{kind} {source!r}")
    if not norm or not phrases:
        return reasons
    vectors, utterance = plugin.embed(phrases), plugin.embed([norm])[0]
    similarities = vectors @ utterance
    # The plugin picks the intent by its lead once the state's shared direction is taken
    # out (voicebot.nlu.semantic); show that score beside the raw similarity.
    mean, shifted = centre(vectors)
    lead = utterance - mean
    centred = shifted @ (lead / max(float(np.linalg.norm(lead)), 1e-9))
    best: dict[str, tuple[float, float, str]] = {}
    for similarity, inner, owner, source in zip(similarities, centred, owners, sources,
                                                strict=True):
        if owner not in best or similarity > best[owner][0]:
            best[owner] = (float(similarity), max(float(inner), best.get(owner, (0, -2.0))[1]),
                           source)
        else:
            best[owner] = (best[owner][0], max(best[owner][1], float(inner)), best[owner][2])
    reasons += [Reason(owner, round(value, 3), f"nearest {source}; {inner:.3f} centred")
                for owner, (value, inner, source) in best.items()]
    return sorted(reasons, key=lambda r: -r.score)
