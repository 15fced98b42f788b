"""The out-of-scope decision on hand-made vectors: exact, no model involved."""

from __future__ import annotations

import numpy as np

from voicebot.nlu.semantic import confidence, decide


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float64)
    return v / np.linalg.norm(v)


# Two intents of one business: they share a big common direction (axis 0), as an
# encoder's vectors for one business do, and differ on axes 1 and 2.
PHRASES = np.stack([unit(5, 1, 0, 0), unit(5, 0.8, 0.1, 0), unit(5, 0, 1, 0), unit(5, 0.1, 0.8, 0)])
OWNERS = ["book", "book", "cancel", "cancel"]


def test_the_nearer_intent_wins_by_its_lead_once_the_shared_part_is_gone() -> None:
    d = decide(unit(5, 0.9, 0.05, 0), PHRASES, OWNERS, threshold=0.9, margin=0.2)
    assert d.intent == "book" and d.margin > 0.2 and d.similarity > 0.99


def test_out_of_scope_is_far_from_every_phrase() -> None:
    d = decide(unit(1, 0, 0, 5), PHRASES, OWNERS, threshold=0.9, margin=0.2)
    assert d.intent is None and d.nearest is not None and d.similarity < 0.9


def test_between_two_intents_is_no_match_not_a_guess() -> None:
    d = decide(unit(5, 0.5, 0.5, 0), PHRASES, OWNERS, threshold=0.9, margin=0.2)
    assert d.intent is None and d.similarity >= 0.9 and d.margin < 0.2


def test_a_lone_intent_needs_only_the_threshold() -> None:
    d = decide(unit(5, 1, 0, 0), PHRASES[:2], OWNERS[:2], threshold=0.9, margin=0.5)
    assert d.intent == "book" and d.margin == 1.0
    assert decide(unit(5, 0, 0, 0), PHRASES[:0], [], 0.9, 0.5).intent is None


def test_confidence_is_a_half_at_the_threshold_and_one_at_identity() -> None:
    assert confidence(0.84, 0.84) == 0.5
    assert confidence(1.0, 0.84) == 1.0
    assert 0.5 < confidence(0.9, 0.84) < 1.0
