"""The per-state classifier and its out-of-scope decision on hand-made vectors: exact, no
model involved."""

from __future__ import annotations

import numpy as np
import pytest

from voicebot.nlu.semantic import confidence, decide, fit


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float64)
    return v / np.linalg.norm(v)


# Two intents of one business: they share a big common direction (axis 0), as an
# encoder's vectors for one business do, and differ on axes 1 and 2.
PHRASES = np.stack([unit(5, 1, 0, 0), unit(5, 0.8, 0.1, 0), unit(5, 0, 1, 0), unit(5, 0.1, 0.8, 0)])
OWNERS = ["book", "book", "cancel", "cancel"]
MODEL = fit(PHRASES, OWNERS)


def test_the_nearer_intent_wins_by_its_lead_once_the_shared_part_is_gone() -> None:
    d = decide(unit(5, 0.9, 0.05, 0), MODEL, threshold=0.9, margin=0.2)
    assert d.intent == "book" and d.margin > 0.2 and d.similarity > 0.99


def test_out_of_scope_is_far_from_every_phrase() -> None:
    d = decide(unit(1, 0, 0, 5), MODEL, threshold=0.9, margin=0.2)
    assert d.intent is None and d.nearest is not None and d.similarity < 0.9


def test_between_two_intents_is_no_match_not_a_guess() -> None:
    d = decide(unit(5, 0.5, 0.5, 0), MODEL, threshold=0.9, margin=0.2)
    assert d.intent is None and d.similarity >= 0.9 and d.margin < 0.2


def test_a_lone_intent_needs_only_the_threshold() -> None:
    lone = fit(PHRASES[:2], OWNERS[:2])
    d = decide(unit(5, 1, 0, 0), lone, threshold=0.9, margin=0.5)
    assert d.intent == "book" and d.margin == 1.0
    assert decide(unit(5, 0, 0, 0), fit(PHRASES[:0], []), 0.9, 0.5).intent is None


def test_every_phrase_of_an_intent_counts_not_only_the_nearest() -> None:
    # "cancel" has one stray phrase right next to the utterance; "book" has four phrases
    # all around it. The nearest phrase alone says cancel; the intents as wholes say book.
    phrases = np.stack([unit(5, 1, 0.4, 0), unit(5, 1, -0.4, 0), unit(5, 1, 0, 0.4),
                        unit(5, 1, 0, -0.4), unit(5, 1.1, 0.1, 0.1), unit(5, -1, 0, 0),
                        unit(5, -1, 0.2, 0)])
    owners = ["book"] * 4 + ["cancel"] * 3
    said = unit(5, 1, 0, 0)
    assert owners[int(np.argmax(phrases @ said))] == "cancel"
    d = decide(said, fit(phrases, owners), threshold=0.9, margin=0.5)
    assert d.intent == "book"


def test_the_fit_is_deterministic_and_its_probabilities_sum_to_one() -> None:
    again = fit(PHRASES, OWNERS)
    assert np.array_equal(MODEL.weights, again.weights)
    p = MODEL.probabilities(unit(5, 0.9, 0.05, 0))
    assert p.shape == (2,) and abs(float(p.sum()) - 1.0) < 1e-9


def test_vectors_and_owners_must_pair_up() -> None:
    with pytest.raises(ValueError, match="4 phrase vectors for 3 owners"):
        fit(PHRASES, OWNERS[:3])


def test_confidence_is_a_half_at_the_threshold_and_one_at_identity() -> None:
    assert confidence(0.84, 0.84) == 0.5
    assert confidence(1.0, 0.84) == 1.0
    assert 0.5 < confidence(0.9, 0.84) < 1.0


# An off-topic sentence on its own axis (3), and one right on top of "book".
OFF_TOPIC = np.stack([unit(5, 0, 0, 2), unit(5, 0.9, 0, 0)])


def test_nearer_to_an_off_topic_sentence_than_to_any_phrase_is_no_match() -> None:
    model = fit(PHRASES, OWNERS, OFF_TOPIC, keep_below=0.99)
    said = unit(5, 0.6, 0, 1.7)  # above the threshold for "book", nearer still to axis 3
    d = decide(said, model, threshold=0.8, margin=0.0)
    assert d.nearest == "book" and d.similarity >= 0.8
    assert d.intent is None and d.off_topic > d.similarity
    # The same utterance against the same phrases without the contrast: "book".
    assert decide(said, MODEL, threshold=0.8, margin=0.0).intent == "book"
    # A negative off-topic margin lets the intent win when the off-topic sentence is
    # only a little nearer.
    assert decide(said, model, 0.8, 0.0, off_topic_margin=-0.5).intent == "book"


def test_an_off_topic_sentence_near_a_phrase_of_the_state_is_dropped() -> None:
    model = fit(PHRASES, OWNERS, OFF_TOPIC, keep_below=0.99)
    assert len(model.off_topic) == 1  # the one on top of "book" is the flow's topic
    d = decide(unit(5, 0.9, 0.05, 0), model, threshold=0.9, margin=0.2)
    assert d.intent == "book" and d.off_topic < d.similarity
    assert fit(PHRASES, OWNERS, OFF_TOPIC, keep_below=0.0).off_topic.shape == (0, 4)
    assert MODEL.off_topic_similarity(unit(1, 0, 0, 0)) == -1.0


def test_off_topic_vectors_must_match_the_phrases() -> None:
    with pytest.raises(ValueError, match="3 dimensions, phrases 4"):
        fit(PHRASES, OWNERS, np.ones((1, 3)) / np.sqrt(3))


def test_a_topic_near_the_state_goes_whole_a_shared_turn_of_phrase_does_not() -> None:
    # "b" has two sentences on top of "book" and one far away: the far one goes too.
    # "c" has one sentence on top of "cancel" and one far away: a turn of phrase, kept.
    off = np.stack([unit(5, 0, 0, 2), unit(5, 0.9, 0, 0), unit(5, 0.85, 0.05, 0),
                    unit(1, 0, 0, 5), unit(5, 0, 0.9, 0), unit(1, 0, 0.2, 5)])
    model = fit(PHRASES, OWNERS, off, keep_below=0.99, topics=["a", "b", "b", "b", "c", "c"])
    assert len(model.off_topic) == 3
    assert np.array_equal(model.off_topic, off[[0, 4, 5]])
    with pytest.raises(ValueError, match="6 off-topic vectors for 2 topics"):
        fit(PHRASES, OWNERS, off, topics=["a", "b"])


def test_a_sure_winner_needs_less_similarity_an_unsure_one_more() -> None:
    sure = unit(5, 0.9, 0.05, 0)  # book, by a wide lead
    d = decide(sure, MODEL, threshold=1.0, margin=0.0)
    assert d.intent is None and d.margin > 0.5 and d.needed == 1.0
    lowered = decide(sure, MODEL, threshold=1.0, margin=0.0, lead_weight=0.2)
    assert lowered.intent == "book" and lowered.needed < lowered.similarity < 1.0
    halfway = unit(5, 0.45, 0.45, 0)  # no lead: it needs more than the threshold
    d = decide(halfway, MODEL, threshold=0.9, margin=0.0, lead_weight=0.2)
    assert d.margin < 0.5 < 0.9 < d.needed and d.intent is None
    assert decide(halfway, MODEL, threshold=0.9, margin=0.0).intent is not None
