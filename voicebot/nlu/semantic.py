"""Deciding an intent from sentence vectors, knowing when none fits.

Two questions, two measures:

- *Is it about anything this state offers?* The best intent's cosine similarity must
  reach `threshold`. "What's the weather in Paris" is far from every clinic example.
- *Which intent?* Sentence encoders place every sentence of one business close together
  (e5's similarities sit in a narrow band near 0.8), so raw similarities barely separate
  "cancel my appointment" from "book an appointment". Subtracting the mean of the state's
  phrase vectors removes what they all share and leaves what tells them apart; in that
  centred space the best intent must beat the runner-up by `margin`, or it is a no-match
  rather than a guess (a wrong intent sends a caller to the wrong desk).

Both are calibrated per encoder on the dev split of bench/nlu_accuracy.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Decision:
    intent: str | None
    nearest: str | None  # the intent that came out on top, matched or not
    similarity: float  # its raw cosine similarity (best phrase)
    margin: float  # its lead over the runner-up in the centred space (1.0 when alone)


def _best_per_intent(values: np.ndarray, owners: Sequence[str]) -> dict[str, float]:
    best: dict[str, float] = {}
    for owner, value in zip(owners, values.tolist(), strict=True):
        if value > best.get(owner, -2.0):
            best[owner] = value
    return best


def centre(phrases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The phrases' mean, and the phrases minus it, back to unit length."""
    mean = phrases.mean(axis=0)
    centred = phrases - mean
    return mean, centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-9)


def decide(utterance: np.ndarray, phrases: np.ndarray, owners: Sequence[str],
           threshold: float, margin: float,
           centred: tuple[np.ndarray, np.ndarray] | None = None) -> Decision:
    """`utterance` and the rows of `phrases` are unit vectors; `owners[i]` owns row i."""
    if len(owners) == 0:
        return Decision(None, None, 0.0, 0.0)
    mean, shifted = centred if centred is not None else centre(phrases)
    u = utterance - mean
    u = u / max(float(np.linalg.norm(u)), 1e-9)
    ranked = sorted(_best_per_intent(shifted @ u, owners).items(), key=lambda kv: -kv[1])
    name = ranked[0][0]
    lead = ranked[0][1] - ranked[1][1] if len(ranked) > 1 else 1.0
    similarity = _best_per_intent(phrases @ utterance, owners)[name]
    winner = name if similarity >= threshold and lead >= margin else None
    return Decision(winner, name, similarity, lead)


def confidence(similarity: float, threshold: float) -> float:
    """0.5 at the threshold rising to 1.0 at similarity 1: a flow's default
    `min_confidence` (0.5) keeps every match the matcher made, and a stricter flow can
    ask for more."""
    if threshold >= 1.0:
        return 1.0
    return round(0.5 + 0.5 * min(1.0, max(0.0, (similarity - threshold) / (1.0 - threshold))),
                 3)
