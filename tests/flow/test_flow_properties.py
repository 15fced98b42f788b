"""Property tests: on any sequence of events, each example flow never raises and ends the
call with a transfer or a hangup within its turn guard."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicebot.flow.actions import TERMINAL
from voicebot.flow.engine import FlowEngine
from voicebot.flow.events import CallStart, Dtmf, Event, NoInput, TurnFailed, UserInput, Webhook
from voicebot.flow.loader import load_flow
from voicebot.plugins.base import NLUResult
from voicebot.plugins.nlu_examples import ExamplesNLU

_NLU = ExamplesNLU()
FLOWS = sorted(Path(__file__).resolve().parents[2].joinpath("flows").glob("*.yaml"))
ENGINES = {path.stem: FlowEngine(load_flow(path)) for path in FLOWS}

PHRASES = sorted({
    example for engine in ENGINES.values() for intent in engine.flow.intents.values()
    for example in intent.examples
} | {"yes", "no", "four five six one two three", "double five oh", "the app", "phone line",
     "one two three", "twelve", ""})

# Texts are matched by the default matcher in the engine's expectation at that moment;
# `Raw` events carry arbitrary (possibly nonsensical) NLU results straight to the engine.
texts = st.one_of(st.sampled_from(PHRASES), st.text(max_size=30))
events = st.one_of(
    texts.map(lambda t: ("say", t)),
    st.builds(lambda t, i, c: ("raw", NLUResult(t, i, c, {})), texts,
              st.one_of(st.none(), st.sampled_from(["agent", "billing", "sales", "nonsense"])),
              st.floats(0, 1)),
    st.text(alphabet="0123456789*#", min_size=1, max_size=8).map(lambda d: ("dtmf", d)),
    st.just(("silence", None)),
    st.just(("failed", None)),
    st.sampled_from([("webhook", "answered"), ("start", None)]),
)


def to_event(engine: FlowEngine, state: object, item: tuple[str, object]) -> Event:
    kind, value = item
    if kind == "say":
        return UserInput(_NLU.parse(str(value), engine.expectation(state)))  # type: ignore[arg-type]
    if kind == "raw":
        return UserInput(value)  # type: ignore[arg-type]
    if kind == "dtmf":
        return Dtmf(str(value))
    if kind == "silence":
        return NoInput()
    if kind == "failed":
        return TurnFailed("stt", "boom")
    if kind == "webhook":
        return Webhook(str(value))
    return CallStart({})


@pytest.mark.parametrize("name", sorted(ENGINES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=st.lists(events, max_size=40))
def test_any_events_end_in_transfer_or_hangup_within_the_turn_guard(
    name: str, script: list[tuple[str, object]]
) -> None:
    engine = ENGINES[name]
    max_turns = engine.flow.defaults.max_turns
    state, actions = engine.start({"from_number": "+33600000000"})
    emitted = list(actions)
    for item in script:
        state, actions = engine.step(state, to_event(engine, state, item))
        emitted.extend(actions)
        assert state.turns <= max_turns
        if state.ended:
            break
        assert state.state in engine.flow.states and engine.flow.states[state.state].waits()
    # A caller who goes silent from here on must still be let go.
    for _ in range(max_turns + 1):
        if state.ended:
            break
        state, actions = engine.step(state, NoInput())
        emitted.extend(actions)
    assert state.ended, f"{name} still running after {state.turns} turns in {state.state}"
    assert state.turns <= max_turns
    terminals = [a for a in emitted if isinstance(a, TERMINAL)]
    assert len(terminals) == 1 and emitted[-1] is terminals[0]
    # Once ended, nothing more happens.
    assert engine.step(state, NoInput()) == (state, [])


@pytest.mark.parametrize("name", sorted(ENGINES))
@settings(max_examples=60, deadline=None)
@given(script=st.lists(events, max_size=25))
def test_replaying_the_same_events_gives_the_same_actions(
    name: str, script: list[tuple[str, object]]
) -> None:
    engine = ENGINES[name]

    def play() -> list[object]:
        state, actions = engine.start({})
        emitted: list[object] = [*actions]
        for item in script:
            state, actions = engine.step(state, to_event(engine, state, item))
            emitted.extend(actions)
            emitted.append((state.state, state.turns, dict(state.slots)))
        return emitted

    assert play() == play()
