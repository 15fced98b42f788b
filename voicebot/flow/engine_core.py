"""What every part of the flow engine stands on: the flow and its clock, which transition
applies, and how prompts, variables and endings are made.

The engine is split by idea: entering states and taking transitions (transitions.py),
what the caller said or keyed and the slots it fills (slot_filling.py), no-input and
no-match retries and the give-up ending (retries.py). They call one another through the
hooks declared abstract here, so none imports another; engine.py joins them into
`FlowEngine`, the public API.
"""

from __future__ import annotations

import copy
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from voicebot.flow import expressions
from voicebot.flow.actions import Action, Hangup, Say, Transfer
from voicebot.flow.call_state import Run
from voicebot.flow.clock import Clock, Moment, system_clock
from voicebot.flow.expressions import set_expression
from voicebot.flow.model import Flow
from voicebot.flow.schema import BargeInValue, State, Transition
from voicebot.flow.templates import render


class EngineCore(ABC):
    def __init__(self, flow: Flow, clock: Clock = system_clock) -> None:
        self.flow = flow
        self.clock = clock
        self.zone = ZoneInfo(flow.timezone)
        self._conditions: dict[str, expressions.Node] = {}

    def moment(self) -> Moment:
        """Now, read once from the injected clock, on the wall clocks of the flow's zone."""
        return Moment(self.clock().astimezone(self.zone), self.flow.open_hours)

    # -- which transition applies -----------------------------------------------

    def _globals(self, state: State) -> list[Transition]:
        own = {t.intent for t in state.on if t.intent}
        own_keys = {t.dtmf for t in state.on if t.dtmf}
        return [
            t
            for t in self.flow.global_transitions
            if state.allows_global(t)
            and t.intent not in own
            and (t.dtmf is None or t.dtmf not in own_keys)
        ]

    def _find(self, run: Run, accepts: Callable[[Transition], bool]) -> Transition | None:
        current = self.flow.states[run.state]
        for transition in [*current.on, *self._globals(current)]:
            if accepts(transition) and self._holds(run, transition.if_):
                return transition
        return None

    def _holds(self, run: Run, condition: str | None) -> bool:
        if condition is None:
            return True
        return expressions.truthy(expressions.evaluate(self._parsed(condition), run.scope()))

    def _parsed(self, expression: str) -> expressions.Node:
        """An `if:` or `set:` expression, parsed once per engine."""
        node = self._conditions.get(expression)
        if node is None:
            node = self._conditions[expression] = expressions.parse(expression)
        return node

    # -- prompts, variables, endings ---------------------------------------------

    def _say(self, run: Run, text: str) -> Say:
        return Say(render(text, run.scope()), self._barge(run))

    def _barge(self, run: Run) -> BargeInValue:
        return self._barge_in_at(run.state)

    def _barge_in_at(self, name: str) -> BargeInValue:
        """The state's own barge-in setting, else the flow's."""
        current = self.flow.states.get(name)
        return (
            current.barge_in if current and current.barge_in else None
        ) or self.flow.defaults.barge_in

    def _pick(self, value: str | list[str], seed: str, index: int, random: bool) -> str:
        if isinstance(value, str):
            return value
        if random:  # "random" but a pure function of the state, so replays are exact
            index = zlib.crc32(f"{self.flow.name}:{seed}:{index}".encode())
        return value[index % len(value)]

    def _set(self, run: Run, values: dict[str, Any]) -> None:
        for key, value in values.items():
            expression = set_expression(value)
            if expression is not None:
                run.vars[key] = expressions.evaluate(self._parsed(expression), run.scope())
            elif isinstance(value, str):
                run.vars[key] = render(value, run.scope())
            else:
                run.vars[key] = copy.deepcopy(value)

    def _transfer(self, run: Run, target: str, summary: str | None) -> Transfer:
        scope = run.scope()
        said = render(summary, scope).strip() if summary is not None else ""
        return Transfer(render(target, scope).strip(), said or None)

    def _end(self, run: Run, action: Transfer | Hangup, reason: str) -> None:
        run.actions.append(action)
        run.ended = True
        run.end_reason = reason

    # -- what the other parts do (declared here so that none imports another) -------

    @abstractmethod
    def _enter(self, run: Run, name: str, depth: int = 0) -> None:
        """Enter the state `name`: its prompts, and on if it does not wait (transitions.py)."""

    @abstractmethod
    def _apply(self, run: Run, t: Transition, depth: int = 0) -> None:
        """Take the transition `t`: its effects, then where it leads (transitions.py)."""

    @abstractmethod
    def _answered_already(self, run: Run, state: State) -> bool:
        """Whether what was just said answers the state's slot too (slot_filling.py)."""

    @abstractmethod
    def _fill(self, run: Run, slot: str, value: Any) -> None:
        """Fill a slot and take the transition waiting for it (slot_filling.py)."""

    @abstractmethod
    def _retry(self, run: Run, kind: str, failed: bool = False) -> None:
        """A no-input or no-match: ask again, or give up (retries.py)."""

    @abstractmethod
    def _reprompt(self, run: Run) -> list[Action]:
        """What the bot asked last, to say again (retries.py)."""

    @abstractmethod
    def _give_up(self, run: Run, reason: str) -> None:
        """End the call the flow's give-up way (retries.py)."""
