"""Deciding an intent from similarities, knowing when none fits.

The nearest intent is not always meant: "what's the weather in Paris" is nearest to
*something* in every flow. An intent wins only when its similarity reaches a threshold
AND beats the runner-up intent by a margin; both are calibrated per encoder on the dev
split of bench/nlu_accuracy.py (tuned there, reported on test).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Decision:
    intent: str | None
    score: float  # the best intent's similarity
    runner_up: str | None
    margin: float  # best minus runner-up similarity (the best's score when alone)


def rank(similarities: np.ndarray, owners: Sequence[str]) -> list[tuple[str, float]]:
    """Each intent's best similarity over its phrases, best first."""
    best: dict[str, float] = {}
    for owner, value in zip(owners, similarities.tolist(), strict=True):
        if value > best.get(owner, -2.0):
            best[owner] = value
    return sorted(best.items(), key=lambda item: -item[1])


def decide(ranking: list[tuple[str, float]], threshold: float, margin: float) -> Decision:
    if not ranking:
        return Decision(None, 0.0, None, 0.0)
    name, score = ranking[0]
    runner, runner_score = ranking[1] if len(ranking) > 1 else (None, -1.0)
    gap = score - runner_score if runner is not None else score
    winner = name if score >= threshold and gap >= margin else None
    return Decision(winner, score, runner, gap)


def confidence(score: float, threshold: float) -> float:
    """0.5 at the threshold rising to 1.0 at similarity 1: a flow's default
    `min_confidence` (0.5) keeps every match the matcher made, and a stricter flow can
    ask for more."""
    if threshold >= 1.0:
        return 1.0
    return round(0.5 + 0.5 * min(1.0, max(0.0, (score - threshold) / (1.0 - threshold))), 3)
