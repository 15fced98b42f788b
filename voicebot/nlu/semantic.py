"""Deciding an intent from sentence vectors, knowing when none fits.

Two questions, two measures:

- *Is it about anything this state offers?* The best intent's nearest phrase (example or
  description) must reach `threshold` in cosine similarity. "What's the weather in
  Paris" is far from every clinic example.
- *Which intent?* Sentence encoders place every sentence of one business close together
  (e5's similarities sit in a narrow band near 0.8), so the nearest phrase barely
  separates "cancel my appointment" from "book an appointment". Per state, once, a small
  classifier is fitted on the state's own phrases: the mean of the phrase vectors (what
  they all share) is taken out, and a softmax regression learns which directions tell one
  intent from another. The best intent's probability must beat the runner-up's by
  `margin`, or it is a no-match rather than a guess (a wrong intent sends a caller to the
  wrong desk).

The regression weighs every phrase of an intent, where a nearest-neighbour match listens
to one: with ten examples per intent it made fewer wrong guesses on bench/nlu_accuracy.py's
dev split than the nearest phrase did, and as many right ones. It is fitted by plain
gradient descent for a fixed number of steps in float64: deterministic, a few
milliseconds per state, no dependency beyond numpy.

Threshold and margin are calibrated per encoder on the dev split of bench/nlu_accuracy.py.
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class StateModel:
    """What a state's phrases teach, fitted once per state."""

    phrases: np.ndarray  # unit rows
    owners: tuple[str, ...]  # owners[i] is the intent of row i
    names: tuple[str, ...]  # the intents, in order of first appearance
    mean: np.ndarray  # what the phrases share
    weights: np.ndarray  # (dimensions, intents)
    bias: np.ndarray  # (intents,)

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


def fit(phrases: np.ndarray, owners: Sequence[str]) -> StateModel:
    """Fit the state's classifier on its phrase vectors (unit rows, one owner each)."""
    if len(owners) != len(phrases):
        raise ValueError(f"{len(phrases)} phrase vectors for {len(owners)} owners")
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
    return StateModel(np.asarray(phrases), tuple(owners), names, mean, weights, bias)


def decide(utterance: np.ndarray, model: StateModel, threshold: float,
           margin: float) -> Decision:
    """`utterance` is a unit vector; `model` the state's, from `fit`."""
    if not model.names:
        return Decision(None, None, 0.0, 0.0)
    similarity = model.best_similarity(utterance)
    if len(model.names) == 1:
        name, lead = model.names[0], 1.0
    else:
        p = model.probabilities(utterance)
        order = np.argsort(-p)
        name, lead = model.names[int(order[0])], float(p[order[0]] - p[order[1]])
    winner = name if similarity[name] >= threshold and lead >= margin else None
    return Decision(winner, name, similarity[name], lead)


def confidence(similarity: float, threshold: float) -> float:
    """0.5 at the threshold rising to 1.0 at similarity 1: a flow's default
    `min_confidence` (0.5) keeps every match the matcher made, and a stricter flow can
    ask for more."""
    if threshold >= 1.0:
        return 1.0
    return round(0.5 + 0.5 * min(1.0, max(0.0, (similarity - threshold) / (1.0 - threshold))),
                 3)
