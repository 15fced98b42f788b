"""No-input and no-match: say the state's (or the flow's) retry prompt and ask again,
and when the retries run out go where the flow says, or give up the flow's way
(`defaults.on_max_turns`, a hangup unless set to a transfer).
"""

from __future__ import annotations

from typing import Any

from voicebot.flow.actions import Action, Hangup, Say
from voicebot.flow.call_state import Run
from voicebot.flow.engine_core import EngineCore
from voicebot.flow.schema import RetrySpec, State

DEFAULT_TIMEOUT = 6.0
DEFAULT_RETRIES = 2
DEFAULT_PROMPTS = {
    "no_input": "Sorry, I didn't hear anything.",
    "no_match": "Sorry, I didn't understand.",
}


class Retries(EngineCore):
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

    def _reprompt(self, run: Run) -> list[Action]:
        if run.pending is not None:
            return [Say(run.pending["prompt"], self._barge(run))]
        return list(run.last_prompt)

    def _retry(self, run: Run, kind: str, failed: bool = False) -> None:
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

    def _give_up(self, run: Run, reason: str) -> None:
        ending = self.flow.defaults.on_max_turns
        if ending.say is not None:
            run.actions.append(self._say(run, self._pick(ending.say, "give_up", run.turns, False)))
        if ending.transfer:
            self._end(run, self._transfer(run, ending.transfer, ending.summary), reason)
        else:
            self._end(run, Hangup(reason), reason)
