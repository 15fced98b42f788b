"""A call's place in the flow (`CallState`, immutable between steps) and the working copy
one engine step changes (`Run`): what the engine modules share, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voicebot.flow import expressions
from voicebot.flow.actions import Action, Say, SendDigits
from voicebot.flow.clock import Moment
from voicebot.types import NLUResult


@dataclass(frozen=True)
class CallState:
    """One call's place in the flow. Treat as immutable: `step` returns a new one."""

    state: str
    slots: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    call: dict[str, Any] = field(default_factory=dict)
    turns: int = 0
    retries: dict[str, int] = field(default_factory=dict)
    ended: bool = False
    end_reason: str | None = None
    visits: dict[str, int] = field(default_factory=dict)
    # A slot value heard but awaiting "yes" to the confirmation question.
    pending: dict[str, Any] | None = None
    dtmf_buffer: str = ""
    # What the bot asked last, for `repeat` and for re-prompts after a no-match.
    last_prompt: tuple[Action, ...] = ()
    # An http step is out: only its HttpResult moves the call on. `http_from` says which
    # transition made it (("on", i) or ("global", i)); None: the state itself.
    http_wait: bool = False
    http_from: tuple[str, int] | None = None


class Run:
    """A mutable working copy of a CallState for the length of one step."""

    def __init__(self, state: CallState, moment: Moment | None = None) -> None:
        self.state = state.state
        self.moment = moment
        self.slots = dict(state.slots)
        self.vars = dict(state.variables)
        self.call = dict(state.call)
        self.turns = state.turns
        self.retries = dict(state.retries)
        self.ended = state.ended
        self.end_reason = state.end_reason
        self.visits = dict(state.visits)
        self.pending = state.pending
        self.buffer = state.dtmf_buffer
        self.last_prompt = state.last_prompt
        self.http_wait = state.http_wait
        self.http_from = state.http_from
        self.actions: list[Action] = []
        self.entry_prompts: list[Action] = []
        # What the caller said in this step (None for keys, time-outs, webhooks): its
        # entities are `entities.*` in set/if/templates, and it may answer the slots of
        # the states it leads to ("two large pepperoni": quantity, then size, then topping).
        self.said: NLUResult | None = None
        self.filled_now: list[str] = []

    def scope(self) -> dict[str, Any]:
        entities = self.said.entities if self.said is not None else {}
        return {"slots": self.slots, "vars": self.vars, "call": self.call,
                "entities": entities, expressions.MOMENT: self.moment}

    def freeze(self) -> CallState:
        return CallState(
            state=self.state,
            slots=self.slots,
            variables=self.vars,
            call=self.call,
            turns=self.turns,
            retries=self.retries,
            ended=self.ended,
            end_reason=self.end_reason,
            visits=self.visits,
            pending=self.pending,
            dtmf_buffer=self.buffer,
            last_prompt=self.last_prompt,
            http_wait=self.http_wait,
            http_from=self.http_from,
        )


def audible(actions: list[Action]) -> list[Action]:
    """Drop prompts and digits that rendered empty (e.g. a template of missing call data):
    a TTS plugin should never be asked to speak nothing."""
    return [
        a
        for a in actions
        if not (isinstance(a, Say) and not a.text.strip())
        and not (isinstance(a, SendDigits) and not a.digits)
    ]


def state_scope(state: CallState) -> dict[str, Any]:
    return {"slots": state.slots, "vars": state.variables, "call": state.call, "entities": {}}
