"""The pure flow engine: (call state, event) -> (new call state, actions).

No I/O, no wall clock (time comes from the injected clock, read once per step), no
randomness that is not derived from the state, so a conversation replays exactly. The call
session executes the actions and turns silence, speech and keys into events.

Order of precedence for one utterance: a pending confirmation (yes/no), then the state's own
intent transitions, then the global intents it allows, then the slot it collects, then
no-match. Every caller turn counts against `max_turns`; when it trips, the flow's give-up
ending (`defaults.on_max_turns`, a hangup unless set to a transfer) ends the call.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from voicebot.flow import slots
from voicebot.flow.actions import Action, Play, Say
from voicebot.flow.call_state import CallState, Run, audible, state_scope
from voicebot.flow.events import (
    CallEnd,
    CallStart,
    Dtmf,
    Event,
    HttpResult,
    NoInput,
    TurnFailed,
    UserInput,
    Webhook,
)
from voicebot.flow.retries import Retries
from voicebot.flow.schema import State
from voicebot.flow.slot_filling import SlotFilling
from voicebot.flow.templates import render
from voicebot.flow.transitions import Transitions
from voicebot.types import Expectation, IntentSpec, SlotSpec

__all__ = ["HANGUP_WEBHOOKS", "CallState", "FlowEngine"]

# Ringover webhooks after which the caller is gone (see voicebot/telephony/webhooks.py).
HANGUP_WEBHOOKS = frozenset({"hangup", "hang_up", "call_ended", "ended", "missed", "voicemail"})


class FlowEngine(Transitions, SlotFilling, Retries):
    """The flow's public face: `start` a call, `step` it with each event, and tell the
    session what the current state expects (intents, slot, time-out, barge-in)."""

    def start(self, call: dict[str, Any]) -> tuple[CallState, list[Action]]:
        """A new call: enter the start state and return the greeting."""
        run = Run(
            CallState(
                state=self.flow.start, call=dict(call), variables=copy.deepcopy(self.flow.vars)
            ),
            self.moment(),
        )
        run.state = ""  # so entering the start state counts as a change of state
        self._enter(run, self.flow.start)
        return run.freeze(), audible(run.actions)

    def step(self, state: CallState, event: Event) -> tuple[CallState, list[Action]]:
        if state.ended or isinstance(event, CallStart):
            return state, []
        if isinstance(event, CallEnd):
            return replace(state, ended=True, end_reason=event.reason or "hangup"), []
        if isinstance(event, Webhook):
            if event.name.lower() in HANGUP_WEBHOOKS:
                return replace(state, ended=True, end_reason=event.name.lower()), []
            return state, []
        if isinstance(event, HttpResult) or state.http_wait:
            # Not a caller turn: the answer to the state's request, or (while it is out)
            # nothing can move the call on; speech and keys in the wait are not lost to a
            # half-made decision, they are simply not taken.
            return self._answered(state, event) if isinstance(event, HttpResult) else (
                state, [])
        run = Run(state, self.moment())
        if isinstance(event, UserInput):
            run.buffer = ""
            self._on_input(run, event.nlu)
        elif isinstance(event, Dtmf):
            if not self._on_dtmf(run, event.digits):
                return run.freeze(), []  # keys buffered: not yet a turn
        elif isinstance(event, NoInput):
            if run.buffer:  # silence after some keys ends the entry (inter-digit time-out)
                self._complete_entry(run, run.buffer)
            else:
                self._retry(run, "no_input")
        elif isinstance(event, TurnFailed):
            self._retry(run, "no_match", failed=True)
        else:  # pragma: no cover - the Event union is closed
            return state, []
        run.turns += 1
        if not run.ended and run.turns >= self.flow.defaults.max_turns:
            run.actions = [a for a in run.actions if not isinstance(a, (Say, Play))]
            self._give_up(run, "max_turns")
        return run.freeze(), audible(run.actions)

    def expectation(self, state: CallState) -> Expectation:
        """The intents and slot the current state accepts, to guide STT and NLU."""
        language = self.flow.language
        if state.ended:
            return Expectation(language=language)
        current = self.flow.states[state.state]
        if state.pending is not None:
            return Expectation(
                self.intent_specs(self._accepted_intents(current)),
                SlotSpec(name=state.pending["slot"], type="yes_no"), language,
            )
        slot = slots.slot_spec(current.collect) if current.collect else None
        return Expectation(self.intent_specs(self._accepted_intents(current)), slot, language)

    def no_input_timeout(self, state: CallState) -> float | None:
        if state.ended:
            return None
        return self._retry_spec(self.flow.states[state.state], "no_input")[0]

    def barge_in(self, state: CallState) -> str:
        return self._barge_in_at(state.state)

    def error_prompt(self, state: CallState) -> str:
        return render(self.flow.defaults.error_prompt, state_scope(state))

    def intent_specs(self, names: list[str] | None = None) -> list[IntentSpec]:
        names = list(self.flow.intents) if names is None else names
        specs = []
        for name in names:
            intent = self.flow.intents[name]
            specs.append(
                IntentSpec(
                    name=name,
                    examples=list(intent.examples),
                    patterns=list(intent.regex),
                    synonyms={k: list(v) for k, v in intent.synonyms.items()},
                    description=intent.description or "",
                )
            )
        return specs

    def _accepted_intents(self, state: State) -> list[str]:
        names = [t.intent for t in state.on if t.intent]
        names += [t.intent for t in self._globals(state) if t.intent]
        return list(dict.fromkeys(names))
