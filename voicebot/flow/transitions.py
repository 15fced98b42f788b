"""Entering states and taking transitions: prompts, `set`, digits, the state's or the
transition's http request and its answer, then where the call goes (goto, a sub-flow, a
branch, a transfer, a hang-up), or the state waits for the caller.
"""

from __future__ import annotations

from voicebot.flow import http_spec
from voicebot.flow.actions import Action, Break, Hangup, Play, SendDigits
from voicebot.flow.call_state import CallState, Run, audible
from voicebot.flow.engine_core import EngineCore
from voicebot.flow.events import HttpResult
from voicebot.flow.schema import State, Transition
from voicebot.flow.templates import render


class Transitions(EngineCore):
    def _enter(self, run: Run, name: str, depth: int = 0) -> None:
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

    def _leave(self, run: Run, state: State, depth: int) -> None:
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

    def _apply(self, run: Run, t: Transition, depth: int = 0) -> None:
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

    def _finish(self, run: Run, t: Transition, depth: int = 0) -> None:
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

    def _answered(self, state: CallState, result: HttpResult) -> tuple[CallState, list[Action]]:
        """The request of the state (or of the transition taken) came back: save what it
        asked for and move on, or take `on_error`."""
        current = self.flow.states[state.state]
        if not state.http_wait:
            return state, []  # a late or stray answer
        run = Run(state, self.moment())
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
        return run.freeze(), audible(run.actions)

    def _ref(self, run: Run, t: Transition) -> tuple[str, int]:
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
