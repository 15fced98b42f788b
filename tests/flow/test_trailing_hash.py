"""A "#" pressed after an entry its length already completed is not a no-match."""

from __future__ import annotations

from pathlib import Path

from voicebot.flow import actions as act
from voicebot.flow import events as ev
from voicebot.flow.engine import FlowEngine
from voicebot.flow.loader import load_flow

FLOW = Path(__file__).parents[2] / "flows" / "account_lookup.yaml"


def test_hash_after_a_complete_entry_is_ignored_and_confirmation_goes_on():
    engine = FlowEngine(load_flow(FLOW))
    state, _ = engine.start({})
    for key in "65432":
        state, actions = engine.step(state, ev.Dtmf(key))
        assert actions == []
    state, actions = engine.step(state, ev.Dtmf("1"))
    assert [a.text for a in actions if isinstance(a, act.Say)] == [
        "I heard 6 5 4 3 2 1. Is that correct?"
    ]
    state, actions = engine.step(state, ev.Dtmf("#"))
    assert actions == [] and state.turns <= 7 and not state.retries
    state, actions = engine.step(state, ev.Dtmf("1"))  # 1 = yes
    assert act.Transfer("+33123456700,654321") in actions
