"""What the caller said or keyed, and the slots it fills: a pending confirmation first,
then the state's intents, then the global ones, then the slot it collects; keys are
buffered into an entry until its length or terminator completes it.
"""

from __future__ import annotations

from typing import Any

from voicebot.flow import slots
from voicebot.flow.actions import Say
from voicebot.flow.call_state import Run
from voicebot.flow.engine_core import EngineCore
from voicebot.flow.schema import Collect, State
from voicebot.flow.templates import render
from voicebot.types import NLUResult

_YES_NO = Collect(slot="confirm", type="yes_no")


class SlotFilling(EngineCore):
    def _on_input(self, run: Run, nlu: NLUResult) -> None:
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

    def _on_dtmf(self, run: Run, digits: str) -> bool:
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
            self._keyed(run, collect, digits)
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

    def _complete_entry(self, run: Run, entry: str) -> None:
        run.buffer = ""
        self._keyed(run, self.flow.states[run.state].collect, entry)

    def _keyed(self, run: Run, collect: Collect | None, keys: str) -> None:
        """A whole key entry: the value of the state's slot, or a no-match."""
        value = slots.from_dtmf(collect, keys) if collect else None
        if collect is None or value is None:
            self._retry(run, "no_match")
        else:
            self._heard(run, collect, value)

    def _heard(self, run: Run, collect: Collect, value: Any) -> None:
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

    def _confirmed(self, run: Run, yes: bool) -> None:
        pending = run.pending or {}
        run.pending = None
        if yes:
            self._fill(run, pending["slot"], pending["value"])
        else:
            run.actions.extend(run.last_prompt)

    def _answered_already(self, run: Run, state: State) -> bool:
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

    def _fill(self, run: Run, slot: str, value: Any) -> None:
        run.slots[slot] = value
        run.filled_now.append(slot)
        transition = self._find(run, lambda t: t.filled == slot)
        if transition:
            self._apply(run, transition)
        else:
            self._retry(run, "no_match")
