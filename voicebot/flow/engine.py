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
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from voicebot.flow import expressions, http_spec, slots
from voicebot.flow.actions import Action, Break, Hangup, Play, Say, SendDigits, Transfer
from voicebot.flow.clock import Clock, Moment, system_clock
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
from voicebot.flow.expressions import set_expression
from voicebot.flow.model import Flow
from voicebot.flow.schema import Collect, RetrySpec, State, Transition
from voicebot.flow.templates import render
from voicebot.types import Expectation, IntentSpec, NLUResult, SlotSpec

DEFAULT_TIMEOUT = 6.0
DEFAULT_RETRIES = 2
DEFAULT_PROMPTS = {
    "no_input": "Sorry, I didn't hear anything.",
    "no_match": "Sorry, I didn't understand.",
}
# Ringover webhooks after which the caller is gone (see voicebot/telephony/webhooks.py).
HANGUP_WEBHOOKS = frozenset({"hangup", "hang_up", "call_ended", "ended", "missed", "voicemail"})


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


class _Run:
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


class FlowEngine:
    def __init__(self, flow: Flow, clock: Clock = system_clock) -> None:
        self.flow = flow
        self.clock = clock
        self.zone = ZoneInfo(flow.timezone)
        self._conditions: dict[str, expressions.Node] = {}

    def moment(self) -> Moment:
        """Now, read once from the injected clock, on the wall clocks of the flow's zone."""
        return Moment(self.clock().astimezone(self.zone), self.flow.open_hours)

    # -- public API -------------------------------------------------------------

    def start(self, call: dict[str, Any]) -> tuple[CallState, list[Action]]:
        """A new call: enter the start state and return the greeting."""
        run = _Run(
            CallState(
                state=self.flow.start, call=dict(call), variables=copy.deepcopy(self.flow.vars)
            ),
            self.moment(),
        )
        run.state = ""  # so entering the start state counts as a change of state
        self._enter(run, self.flow.start)
        return run.freeze(), _audible(run.actions)

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
        run = _Run(state, self.moment())
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
        return run.freeze(), _audible(run.actions)

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
        current = self.flow.states.get(state.state)
        return (
            current.barge_in if current and current.barge_in else None
        ) or self.flow.defaults.barge_in

    def error_prompt(self, state: CallState) -> str:
        return render(self.flow.defaults.error_prompt, _scope(state))

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

    # -- states and transitions -------------------------------------------------

    def _accepted_intents(self, state: State) -> list[str]:
        names = [t.intent for t in state.on if t.intent]
        names += [t.intent for t in self._globals(state) if t.intent]
        return list(dict.fromkeys(names))

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

    def _find(self, run: _Run, accepts: Callable[[Transition], bool]) -> Transition | None:
        current = self.flow.states[run.state]
        for transition in [*current.on, *self._globals(current)]:
            if accepts(transition) and self._holds(run, transition.if_):
                return transition
        return None

    def _holds(self, run: _Run, condition: str | None) -> bool:
        if condition is None:
            return True
        node = self._conditions.get(condition)
        if node is None:
            node = self._conditions[condition] = expressions.parse(condition)
        return expressions.truthy(expressions.evaluate(node, run.scope()))

    def _say(self, run: _Run, text: str) -> Say:
        return Say(render(text, run.scope()), self._barge(run))

    def _barge(self, run: _Run) -> Any:
        current = self.flow.states.get(run.state)
        return (
            current.barge_in if current and current.barge_in else None
        ) or self.flow.defaults.barge_in

    def _pick(self, value: str | list[str], seed: str, index: int, random: bool) -> str:
        if isinstance(value, str):
            return value
        if random:  # "random" but a pure function of the state, so replays are exact
            index = zlib.crc32(f"{self.flow.name}:{seed}:{index}".encode())
        return value[index % len(value)]

    def _set(self, run: _Run, values: dict[str, Any]) -> None:
        for key, value in values.items():
            expression = set_expression(value)
            if expression is not None:
                node = self._conditions.get(expression)
                if node is None:
                    node = self._conditions[expression] = expressions.parse(expression)
                run.vars[key] = expressions.evaluate(node, run.scope())
            elif isinstance(value, str):
                run.vars[key] = render(value, run.scope())
            else:
                run.vars[key] = copy.deepcopy(value)

    def _transfer(self, run: _Run, target: str, summary: str | None) -> Transfer:
        scope = run.scope()
        said = render(summary, scope).strip() if summary is not None else ""
        return Transfer(render(target, scope).strip(), said or None)

    def _end(self, run: _Run, action: Transfer | Hangup, reason: str) -> None:
        run.actions.append(action)
        run.ended = True
        run.end_reason = reason

    def _enter(self, run: _Run, name: str, depth: int = 0) -> None:
        if depth > len(self.flow.states):  # the validator refuses goto loops; belt and braces
            self._end(run, Hangup("loop"), "loop")
            return
        if depth == 0:
            run.entry_prompts = []
        # Re-entering the same state (goto itself) keeps its retry counters, so a loop
        # back still runs out of retries; a new state starts afresh.
        if name != run.state:
            run.retries = {}
        run.pending = None
        run.buffer = ""
        run.state = name
        run.visits[name] = run.visits.get(name, 0) + 1
        state = self.flow.states[name]
        if state.break_:
            run.actions.append(Break())
        self._set(run, state.set)
        if self._answered_already(run, state):
            return
        prompts: list[Action] = []
        if state.say is not None:
            visit = run.visits[name] - 1
            text = self._pick(state.say, f"{name}:{run.turns}", visit, state.variants == "random")
            prompts.append(self._say(run, text))
        if state.play:
            prompts.append(Play(render(state.play, run.scope()), self._barge(run)))
        run.actions.extend(prompts)
        run.entry_prompts.extend(prompts)
        if state.digits:
            run.actions.append(SendDigits(render(state.digits, run.scope())))
        if state.http is not None:
            run.actions.append(http_spec.request(state.http, run.scope()))
            run.http_wait = True
            run.last_prompt = tuple(run.entry_prompts)
            return
        self._leave(run, state, depth)

    def _answered(self, state: CallState, result: HttpResult) -> tuple[CallState, list[Action]]:
        """The request of the state (or of the transition taken) came back: save what it
        asked for and move on, or take `on_error`."""
        current = self.flow.states[state.state]
        if not state.http_wait:
            return state, []  # a late or stray answer
        run = _Run(state, self.moment())
        run.http_wait, run.http_from = False, None
        owner: State | Transition = current
        if state.http_from is not None:
            owner = self._deref(current, state.http_from)
        assert owner.http is not None and owner.on_error is not None  # the schema pairs them
        if result.ok:
            for name, path in owner.http.save.items():
                run.vars[name] = http_spec.read_path(result.data, path)
            if isinstance(owner, Transition):
                self._finish(run, owner)
            else:
                self._leave(run, owner, 0)
        else:
            run.vars["http_error"] = result.error or "failed"
            self._apply(run, owner.on_error)
        return run.freeze(), _audible(run.actions)

    def _ref(self, run: _Run, t: Transition) -> tuple[str, int]:
        """Where `t` is, so the answer to its request finds it again: the current state's
        `on` list or the globals (the validator keeps http out of branches and on_error)."""
        own = self.flow.states[run.state].on
        for index, candidate in enumerate(own):
            if candidate is t:
                return ("on", index)
        return ("global", next(i for i, g in enumerate(self.flow.global_transitions)
                               if g is t))

    def _deref(self, state: State, ref: tuple[str, int]) -> Transition:
        kind, index = ref
        return state.on[index] if kind == "on" else self.flow.global_transitions[index]

    def _leave(self, run: _Run, state: State, depth: int) -> None:
        """How a state that does not wait moves on (or, if it waits, what it asked)."""
        if state.transfer:
            self._end(run, self._transfer(run, state.transfer, state.summary), "transfer")
        elif state.hangup:
            self._end(run, Hangup("flow"), "flow")
        elif state.goto:
            self._enter(run, state.goto, depth + 1)
        elif state.flow:
            self._enter(run, self.flow.flows[state.flow], depth + 1)
        elif state.branch:
            # The validator makes the last entry unconditional; without one, stay here.
            taken = next((t for t in state.branch if self._holds(run, t.if_)), None)
            if taken is not None:
                self._apply(run, taken, depth + 1)
        else:  # the state waits: what led here is what `repeat` and re-prompts say again
            run.last_prompt = tuple(run.entry_prompts)

    def _apply(self, run: _Run, t: Transition, depth: int = 0) -> None:
        self._set(run, t.set)
        if t.say is not None:
            run.actions.append(self._say(run, self._pick(t.say, run.state, run.turns, False)))
        if t.play:
            run.actions.append(Play(render(t.play, run.scope()), self._barge(run)))
        if t.digits:
            run.actions.append(SendDigits(render(t.digits, run.scope())))
        if t.http is not None:  # the rest waits for the answer (_answered)
            run.actions.append(http_spec.request(t.http, run.scope()))
            run.http_wait = True
            run.http_from = self._ref(run, t)
            return
        self._finish(run, t, depth)

    def _finish(self, run: _Run, t: Transition, depth: int = 0) -> None:
        """Where a transition takes the call, once its effects (and request) are done."""
        if t.transfer:
            self._end(run, self._transfer(run, t.transfer, t.summary), "transfer")
        elif t.hangup:
            self._end(run, Hangup("flow"), "flow")
        elif t.repeat:
            run.actions.extend(self._reprompt(run))
        elif t.goto:
            self._enter(run, t.goto, depth)
        elif t.flow:
            self._enter(run, self.flow.flows[t.flow], depth)

    # -- input ---------------------------------------------------------------------

    def _on_input(self, run: _Run, nlu: NLUResult) -> None:
        run.said = nlu
        current = self.flow.states[run.state]
        if run.pending is not None:
            answer = slots.from_text(_YES_NO, nlu.text, nlu.entities, self.flow.language)
            if answer is not None:
                self._confirmed(run, answer)
                return
        intent = nlu.intent if nlu.confidence >= self.flow.defaults.min_confidence else None
        if intent:
            transition = self._find(run, lambda t: t.intent == intent)
            if transition:
                self._apply(run, transition)
                return
        if current.collect and run.pending is None:
            value = slots.from_text(current.collect, nlu.text, nlu.entities,
                                     self.flow.language)
            if value is not None:
                self._heard(run, current.collect, value)
                return
        self._retry(run, "no_match")

    def _on_dtmf(self, run: _Run, digits: str) -> bool:
        """Handle keys; False when they were only buffered (the entry is not complete)."""
        current = self.flow.states[run.state]
        if digits == "#" and not run.buffer and not self._find(run, lambda t: t.dtmf == "#"):
            # "#" ends an entry. Alone, it usually follows an entry that its length already
            # completed ("six digits, then #"): it says nothing, so it is not a no-match.
            return False
        if run.pending is not None:
            answer = slots.from_dtmf(_YES_NO, digits[:1])
            if answer is None:
                self._retry(run, "no_match")
            else:
                self._confirmed(run, answer)
            return True
        if not run.buffer:
            transition = self._find(run, lambda t: t.dtmf == digits)
            if transition:
                self._apply(run, transition)
                return True
        collect = current.collect
        if collect is None or collect.type not in ("digits", "number"):
            value = slots.from_dtmf(collect, digits) if collect else None
            if value is None:
                self._retry(run, "no_match")
            else:
                self._heard(run, collect, value)  # type: ignore[arg-type]
            return True
        run.buffer += digits
        terminator = collect.terminator
        limit = collect.length or collect.max_length
        if collect.type == "number" and collect.max is not None:
            limit = len(str(int(abs(collect.max))))
        if terminator and terminator in run.buffer:
            entry = run.buffer[: run.buffer.index(terminator)]
        elif len(digits) > 1 or (limit is not None and len(run.buffer) >= limit):
            # Several keys in one event are a whole entry (chat, or a JSON control message).
            entry = run.buffer
        else:
            return False
        self._complete_entry(run, entry)
        return True

    def _complete_entry(self, run: _Run, entry: str) -> None:
        run.buffer = ""
        collect = self.flow.states[run.state].collect
        value = slots.from_dtmf(collect, entry) if collect else None
        if value is None:
            self._retry(run, "no_match")
        else:
            self._heard(run, collect, value)  # type: ignore[arg-type]

    def _heard(self, run: _Run, collect: Collect, value: Any) -> None:
        if collect.confirm is None:
            self._fill(run, collect.slot, value)
            return
        # Confirm before the slot is filled, but let the question quote the value.
        scope = run.scope()
        scope = {**scope, "slots": {**run.slots, collect.slot: value}}
        question = self._pick(collect.confirm, f"{run.state}:confirm", run.turns, False)
        say = Say(render(question, scope), self._barge(run))
        run.pending = {"slot": collect.slot, "value": value, "prompt": say.text}
        run.actions.append(say)

    def _confirmed(self, run: _Run, yes: bool) -> None:
        pending = run.pending or {}
        run.pending = None
        if yes:
            self._fill(run, pending["slot"], pending["value"])
        else:
            run.actions.extend(run.last_prompt)

    def _answered_already(self, run: _Run, state: State) -> bool:
        """Fill the state's slot from what the caller just said, if it holds the answer,
        and move on without asking: "two large pepperoni" answers the quantity, then the
        size and the topping states it leads to (only once a slot was filled this step).
        Only slots the caller named plainly: a choice, a number or digits (never yes/no
        or free text, which would take an answer meant for something else), not a slot
        already held, and not one that asks for confirmation (the caller should hear
        that question)."""
        collect = state.collect
        said = run.said
        # Only along a sequence of slots: after an intent, the next state's question is
        # asked ("the app crashes" routes to the technical desk, which still asks).
        if (said is None or collect is None or not run.filled_now
                or collect.type in ("yes_no", "text")
                or collect.confirm is not None or collect.slot in run.slots):
            return False
        if not self._find(run, lambda t: t.filled == collect.slot):
            return False  # nothing would move on from it: ask as usual
        value = slots.from_text(collect, said.text, None, self.flow.language)
        # A value that already filled a slot in this step answers nothing else: "two"
        # fills the quantity, not also the number of guests asked next.
        if value is None or value in [run.slots[name] for name in run.filled_now]:
            return False
        self._fill(run, collect.slot, value)
        return True

    def _fill(self, run: _Run, slot: str, value: Any) -> None:
        run.slots[slot] = value
        run.filled_now.append(slot)
        transition = self._find(run, lambda t: t.filled == slot)
        if transition:
            self._apply(run, transition)
        else:
            self._retry(run, "no_match")

    # -- retries and endings ------------------------------------------------------

    def _retry_spec(self, state: State, kind: str) -> tuple[float, int, Any, str | None]:
        own: RetrySpec = getattr(state, kind) or RetrySpec()
        default: RetrySpec = getattr(self.flow.defaults, kind)
        timeout = own.timeout or default.timeout or DEFAULT_TIMEOUT
        retries = own.retries if own.retries is not None else default.retries
        prompt = own.prompt if own.prompt is not None else default.prompt
        return (
            timeout,
            DEFAULT_RETRIES if retries is None else retries,
            DEFAULT_PROMPTS[kind] if prompt is None else prompt,
            own.goto or default.goto,
        )

    def _reprompt(self, run: _Run) -> list[Action]:
        if run.pending is not None:
            return [Say(run.pending["prompt"], self._barge(run))]
        return list(run.last_prompt)

    def _retry(self, run: _Run, kind: str, failed: bool = False) -> None:
        current = self.flow.states[run.state]
        _timeout, retries, prompt, target = self._retry_spec(current, kind)
        key = f"{run.state}:{kind}"
        run.retries[key] = run.retries.get(key, 0) + 1
        if run.retries[key] <= retries:
            if failed:  # a plugin broke: apologise, the caller says it again
                run.actions.append(self._say(run, self.flow.defaults.error_prompt))
                return
            text = self._pick(prompt, key, run.retries[key] - 1, False)
            if text:
                run.actions.append(self._say(run, text))
            run.actions.extend(self._reprompt(run))
            return
        run.retries[key] = 0
        if target:
            self._enter(run, target)
        else:
            self._give_up(run, kind)

    def _give_up(self, run: _Run, reason: str) -> None:
        ending = self.flow.defaults.on_max_turns
        if ending.say is not None:
            run.actions.append(self._say(run, self._pick(ending.say, "give_up", run.turns, False)))
        if ending.transfer:
            self._end(run, self._transfer(run, ending.transfer, ending.summary), reason)
        else:
            self._end(run, Hangup(reason), reason)


_YES_NO = Collect(slot="confirm", type="yes_no")


def _audible(actions: list[Action]) -> list[Action]:
    """Drop prompts and digits that rendered empty (e.g. a template of missing call data):
    a TTS plugin should never be asked to speak nothing."""
    return [
        a
        for a in actions
        if not (isinstance(a, Say) and not a.text.strip())
        and not (isinstance(a, SendDigits) and not a.digits)
    ]


def _scope(state: CallState) -> dict[str, Any]:
    return {"slots": state.slots, "vars": state.variables, "call": state.call, "entities": {}}
