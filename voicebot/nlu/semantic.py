"""Deciding an intent from sentence vectors, knowing when none fits.

Two questions, two measures:

- *Is it about anything this state offers?* The best intent's nearest phrase (example or
  description) must reach `threshold` in cosine similarity, and it must be nearer than
  the nearest *off-topic* sentence (weather, small talk, homework: sentences no business
  line is for, voicebot/nlu/data/off_topic_*.txt) by `off_topic_margin`. An encoder
  finds every sentence said on a phone line a little like every other, so a threshold
  alone lets "is it going to rain" through where it finds a clinic's "are you open
  today" near enough; the off-topic sentences are the contrast that says it is nearer to
  something else. Per state, a topic two of whose sentences come near the state's own
  phrases (`keep_below`) is dropped first: a flow that does handle the weather keeps
  its callers.
- *Which intent?* Sentence encoders place every sentence of one business close together
  (e5's similarities sit in a narrow band near 0.8), so the nearest phrase barely
  separates "cancel my appointment" from "book an appointment". Per state, once, a small
  classifier is fitted on the state's own phrases: the mean of the phrase vectors (what
  they all share) is taken out, and a softmax regression learns which directions tell one
  intent from another. The best intent's probability must beat the runner-up's by
  `margin`, or it is a no-match rather than a guess (a wrong intent sends a caller to the
  wrong desk). The two questions are not independent: the surer the classifier is of
  its winner, the less similarity it needs (`lead_weight`): a caller may name the need
  in words no example has, and still be far nearer one intent than any other.

The regression weighs every phrase of an intent, where a nearest-neighbour match listens
to one: with ten examples per intent it made fewer wrong guesses on bench/nlu_accuracy.py's
dev split than the nearest phrase did, and as many right ones. It is fitted by plain
gradient descent for a fixed number of steps in float64: deterministic, a few
milliseconds per state, no dependency beyond numpy.

Threshold, margins and `keep_below` are calibrated per encoder on the dev split of
bench/nlu_accuracy.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# The regression's settings, chosen on the dev split: the centred vectors are scaled so
# a phrase's logits span a useful range (cosines of unit vectors are small), and a light
# L2 penalty keeps twenty phrases in 384 dimensions from being fitted to the last digit.
SCALE = 10.0
L2 = 0.001
STEPS = 300
RATE = 0.5


@dataclass(frozen=True, slots=True)
class Decision:
    intent: str | None
    nearest: str | None  # the intent that came out on top, matched or not
    similarity: float  # its raw cosine similarity (best phrase)
    margin: float  # its probability's lead over the runner-up's (1.0 when alone)
    off_topic: float = -1.0  # similarity of the nearest off-topic sentence (-1: none kept)
    needed: float = 1.0  # the similarity this winner needed, given its lead


@dataclass(frozen=True, slots=True)
class StateModel:
    """What a state's phrases teach, fitted once per state."""

    phrases: np.ndarray  # unit rows
    owners: tuple[str, ...]  # owners[i] is the intent of row i
    names: tuple[str, ...]  # the intents, in order of first appearance
    mean: np.ndarray  # what the phrases share
    weights: np.ndarray  # (dimensions, intents)
    bias: np.ndarray  # (intents,)
    off_topic: np.ndarray  # unit rows: the off-topic sentences this state keeps

    def off_topic_similarity(self, utterance: np.ndarray) -> float:
        """Cosine similarity of the nearest kept off-topic sentence; -1.0 when none."""
        if not len(self.off_topic):
            return -1.0
        return float((self.off_topic @ utterance).max())

    def probabilities(self, utterance: np.ndarray) -> np.ndarray:
        """P(intent | utterance) over `names`, for a unit utterance vector."""
        logits = (SCALE * _centred(utterance, self.mean)) @ self.weights + self.bias
        exp = np.exp(logits - logits.max())
        result: np.ndarray = exp / exp.sum()
        return result

    def best_similarity(self, utterance: np.ndarray) -> dict[str, float]:
        """Per intent, the cosine similarity of its nearest phrase."""
        return _best_per_intent(self.phrases @ utterance, self.owners)


def _centred(vectors: np.ndarray, mean: np.ndarray) -> np.ndarray:
    shifted = np.asarray(vectors, dtype=np.float64) - mean
    norms = np.linalg.norm(shifted, axis=-1, keepdims=True)
    result: np.ndarray = shifted / np.maximum(norms, 1e-9)
    return result


def _best_per_intent(values: np.ndarray, owners: Sequence[str]) -> dict[str, float]:
    best: dict[str, float] = {}
    for owner, value in zip(owners, values.tolist(), strict=True):
        if value > best.get(owner, -2.0):
            best[owner] = value
    return best


def fit(phrases: np.ndarray, owners: Sequence[str], off_topic: np.ndarray | None = None,
        keep_below: float = 1.0, topics: Sequence[str] | None = None) -> StateModel:
    """Fit the state's classifier on its phrase vectors (unit rows, one owner each), and
    keep the off-topic sentence vectors (unit rows) of every topic the state does not
    handle: a topic is handled when two of its sentences (its only one, for a topic of
    one) come within `keep_below` of a phrase of the state. `topics[i]` is the topic of
    off-topic row i (each row its own topic when None): a flow that handles the weather
    drops "do I need an umbrella" with "will it rain", not one line of the two."""
    if len(owners) != len(phrases):
        raise ValueError(f"{len(phrases)} phrase vectors for {len(owners)} owners")
    kept = _far_from(off_topic, topics, phrases, keep_below)
    names = tuple(dict.fromkeys(owners))
    vectors = np.asarray(phrases, dtype=np.float64)
    dims = vectors.shape[1] if vectors.ndim == 2 else 0
    mean = vectors.mean(axis=0) if len(vectors) else np.zeros(dims)
    weights = np.zeros((dims, len(names)))
    bias = np.zeros(len(names))
    if len(names) > 1:
        x = SCALE * _centred(vectors, mean)
        target = np.eye(len(names))[[names.index(o) for o in owners]]
        for _ in range(STEPS):
            logits = x @ weights + bias
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            error = p - target
            weights -= RATE * (x.T @ error / len(x) + L2 * weights)
            bias -= RATE * error.mean(axis=0)
    return StateModel(np.asarray(phrases), tuple(owners), names, mean, weights, bias, kept)


def _far_from(candidates: np.ndarray | None, topics: Sequence[str] | None,
              phrases: np.ndarray, limit: float) -> np.ndarray:
    if candidates is None or not len(candidates):
        return np.zeros((0, phrases.shape[1] if phrases.ndim == 2 else 0))
    groups = list(topics) if topics is not None else [str(i) for i in range(len(candidates))]
    if len(groups) != len(candidates):
        raise ValueError(f"{len(candidates)} off-topic vectors for {len(groups)} topics")
    if not len(phrases):
        return np.asarray(candidates)
    if candidates.shape[1] != phrases.shape[1]:
        raise ValueError(f"off-topic vectors have {candidates.shape[1]} dimensions, "
                         f"phrases {phrases.shape[1]}")
    nearest = (np.asarray(candidates) @ np.asarray(phrases).T).max(axis=1)
    # A topic is the state's own when two of its sentences come near (one, for a topic of
    # one): a single near sentence is as often a shared turn of phrase ("apply for a
    # job" / "apply for credit") as a shared topic.
    near = Counter(g for g, value in zip(groups, nearest.tolist(), strict=True)
                   if value >= limit)
    size = Counter(groups)
    handled = {g for g, n in near.items() if n >= min(2, size[g])}
    result: np.ndarray = np.asarray(candidates)[[g not in handled for g in groups]]
    return result


def decide(utterance: np.ndarray, model: StateModel, threshold: float,
           margin: float, off_topic_margin: float = 0.0, lead_weight: float = 0.0) -> Decision:
    """`utterance` is a unit vector; `model` the state's, from `fit`. The winner's nearest
    phrase must reach the similarity needed and beat the nearest off-topic sentence the
    state kept by `off_topic_margin` (negative: the off-topic one may be that much
    nearer), and its probability must lead the runner-up's by `margin`. The similarity
    needed is `threshold` less `lead_weight` x (lead - 1/2): an intent the classifier is
    sure of among the state's (lead near 1) needs a little less, one it barely prefers a
    little more."""
    if not model.names:
        return Decision(None, None, 0.0, 0.0)
    similarity = model.best_similarity(utterance)
    if len(model.names) == 1:
        name, lead = model.names[0], 1.0
    else:
        p = model.probabilities(utterance)
        order = np.argsort(-p)
        name, lead = model.names[int(order[0])], float(p[order[0]] - p[order[1]])
    off = model.off_topic_similarity(utterance)
    needed = threshold - lead_weight * (lead - 0.5)
    in_scope = similarity[name] >= needed and similarity[name] >= off + off_topic_margin
    winner = name if in_scope and lead >= margin else None
    return Decision(winner, name, similarity[name], lead, off, needed)


def confidence(similarity: float, threshold: float) -> float:
    """0.5 at the threshold rising to 1.0 at similarity 1: a flow's default
    `min_confidence` (0.5) keeps every match the matcher made, and a stricter flow can
    ask for more."""
    if threshold >= 1.0:
        return 1.0
    return round(0.5 + 0.5 * min(1.0, max(0.0, (similarity - threshold) / (1.0 - threshold))),
                 3)
