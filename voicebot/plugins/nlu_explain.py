"""Why an utterance matched what it did: the top intents, each with its score and the
example, rule or description that earned it (`voicebot chat --explain`).

A plugin may explain itself with an `explain(text, expectation)` method returning
`Reason`s; the built-in NLUs are explained here from their own scoring, so what is shown
is what `parse` weighed, not a second opinion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voicebot.nlu.normalize import normalize, words
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
    model = plugin.state_model(expectation)
    if not norm or model is None:
        return reasons
    sources: dict[str, str] = {}  # normalised phrase -> what the flow wrote
    for spec in expectation.intents:
        described = [spec.description] if plugin.options.descriptions and spec.description else []
        for source in [*spec.examples, *spec.synonyms, *described]:
            kind = "description" if source in described else "example"
            sources.setdefault(normalize(source, language=expectation.language),
                               f"{kind} {source!r}")
    utterance = plugin.embed([norm])[0]
    similarities = (model.phrases @ utterance).tolist()
    # The plugin picks the intent by the state's classifier (voicebot.nlu.semantic) and
    # checks the nearest phrase's similarity: show both.
    probability = dict(zip(model.names, model.probabilities(utterance).tolist(), strict=True))
    nearest: dict[str, tuple[float, str]] = {}
    phrases, _ = plugin.phrases_of(expectation.intents, expectation.language)
    for similarity, owner, phrase in zip(similarities, model.owners, phrases, strict=True):
        if owner not in nearest or similarity > nearest[owner][0]:
            nearest[owner] = (similarity, sources.get(phrase, repr(phrase)))
    reasons += [Reason(owner, round(value, 3),
                       f"nearest {source}; probability {probability[owner]:.2f}")
                for owner, (value, source) in nearest.items()]
    return sorted(reasons, key=lambda r: -r.score)
