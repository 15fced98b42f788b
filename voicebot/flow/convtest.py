"""Conversation tests: YAML scripts of caller turns and what the bot must do in reply.

    flow: ../support_router.yaml
    tests:
      - name: agent on request
        greeting: {say: ["thank you for calling"], state: greeting}
        turns:
          - user: "I want to speak to an agent"
            say: ["transferring you"]
            actions: [say, transfer]
            transfer: "+33123456789"

`now: 2026-12-24T18:30` (on the file, a case, or a turn) fixes the clock the engine reads,
as a wall-clock time in the flow's time zone, so a test of opening hours is exact.

They run on the pure engine with the NLU they are given (`voicebot test` builds the one
config.yaml names, as `voicebot serve` does), so they are exact and fast, and CI reads the
exit code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from voicebot.flow.actions import (
    Action,
    Break,
    Hangup,
    HttpCall,
    Play,
    Say,
    SendDigits,
    Transfer,
)
from voicebot.flow.clock import FixedClock, parse_moment, system_clock
from voicebot.flow.engine import CallState, FlowEngine
from voicebot.flow.events import (
    Dtmf,
    Event,
    HttpResult,
    NoInput,
    TurnFailed,
    Webhook,
    understood,
)
from voicebot.flow.http_client import HttpBudget, HttpLimits, execute
from voicebot.flow.loader import load_flow
from voicebot.flow.problems import FlowError, pydantic_errors
from voicebot.flow.yamlsource import SourceMap, parse_yaml, read_yaml_text
from voicebot.types import NLUFunction

ACTION_KINDS: dict[type, str] = {Say: "say", Play: "play", Transfer: "transfer",
                                 SendDigits: "digits", Hangup: "hangup", Break: "break",
                                 HttpCall: "http"}
Answer = Callable[[HttpCall], HttpResult]


class Stub(BaseModel):
    """A canned answer for the flow's requests: `url` exact, or a prefix ending in `*`."""

    model_config = ConfigDict(extra="forbid")

    method: str = "GET"
    url: str
    status: int = 200
    json_: Any = Field(default=None, alias="json")
    error: str | None = None  # e.g. "timed out": the request fails this way

    def matches(self, call: HttpCall) -> bool:
        if self.method.upper() != call.method:
            return False
        if self.url.endswith("*"):
            return call.url.startswith(self.url[:-1])
        return call.url == self.url

    def result(self) -> HttpResult:
        if self.error is not None:
            return HttpResult(False, error=self.error)
        if not 200 <= self.status < 300:
            return HttpResult(False, self.status, error=f"HTTP {self.status}")
        return HttpResult(True, self.status, self.json_)


def settle(engine: FlowEngine, state: CallState, actions: list[Action],
           answer: Answer) -> tuple[CallState, list[Action]]:
    """Run the flow's requests (`answer` sends or stubs them) until it asks for none: the
    actions of one step, with what followed each answer."""
    done = list(actions)
    while done and isinstance(done[-1], HttpCall) and not state.ended:
        state, more = engine.step(state, answer(done[-1]))
        done += more
    return state, done


def sender(limits: HttpLimits, stubs: list[Stub] | None = None) -> Answer:
    """Answer from the first matching stub, else send the request for real (one budget
    per sender: make one per call)."""
    budget = HttpBudget()

    def answer(call: HttpCall) -> HttpResult:
        for stub in stubs or []:
            if stub.matches(call):
                return stub.result()
        return asyncio.run(execute(call, limits, budget))

    return answer


def _valid_now(value: Any) -> Any:
    """Refuse a bad `now:` when the file loads, with its line, not mid-run."""
    if value is not None:
        parse_moment(value, "UTC")
    return value


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    say: str | list[str] | None = None  # substrings (case-insensitive) of what the bot says
    not_say: str | list[str] | None = None
    play: str | None = None
    actions: list[str] | None = None  # the kinds, in order: say play transfer digits ...
    transfer: str | None = None
    summary: str | list[str] | None = None  # substrings of the transfer's summary
    digits: str | None = None
    state: str | None = None
    http: str | list[str] | None = None  # "GET https://..." requests made, in order
    slots: dict[str, Any] | None = None  # a subset of the slots after the turn
    vars: dict[str, Any] | None = None
    ended: bool | None = None


class Turn(Expect):
    user: str | None = None
    dtmf: str | int | None = None
    silence: bool = False
    error: str | None = None  # a plugin failure of this kind (TurnFailed)
    webhook: str | None = None
    now: str | datetime | None = None  # the clock from this turn on
    _now = field_validator("now")(_valid_now)

    @model_validator(mode="after")
    def _one_input(self) -> Turn:
        given = [self.user is not None, self.dtmf is not None, self.silence,
                 self.error is not None, self.webhook is not None]
        if sum(given) != 1:
            raise ValueError("a turn needs exactly one of user, dtmf, silence, error, webhook")
        return self


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    call: dict[str, Any] = {}
    http: list[Stub] = []  # answers for this case's requests (before the file's)
    now: str | datetime | None = None  # the clock at the start of the call
    _now = field_validator("now")(_valid_now)
    greeting: Expect | None = None
    turns: list[Turn] = []


class TestFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flow: str
    http: list[Stub] = []  # answers for every case's requests; others are sent for real
    now: str | datetime | None = None  # every case's clock, unless the case sets its own
    _now = field_validator("now")(_valid_now)
    tests: list[Case] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_now(self) -> TestFile:
        for case in self.tests:
            if case.now is None:
                case.now = self.now
            case.http = [*case.http, *self.http]
        return self


@dataclass
class CaseResult:
    name: str
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


def check(expect: Expect, state: CallState, actions: list[Action]) -> list[str]:
    """What differs between `expect` and the outcome of one step (empty if all is well)."""
    problems: list[str] = []
    spoken = " | ".join(a.text for a in actions if isinstance(a, Say))
    for part in _as_list(expect.say):
        if part.lower() not in spoken.lower():
            problems.append(f"expected the bot to say '{part}', it said '{spoken}'")
    for part in _as_list(expect.not_say):
        if part.lower() in spoken.lower():
            problems.append(f"expected the bot not to say '{part}', it said '{spoken}'")
    kinds = [ACTION_KINDS[type(a)] for a in actions]
    if expect.actions is not None and kinds != expect.actions:
        problems.append(f"expected actions {expect.actions}, got {kinds}")
    for kind, wanted, got in (
        ("transfer", expect.transfer, [a.number for a in actions if isinstance(a, Transfer)]),
        ("digits", expect.digits, [a.digits for a in actions if isinstance(a, SendDigits)]),
        ("play", expect.play, [a.url for a in actions if isinstance(a, Play)]),
    ):
        if wanted is not None and wanted not in got:
            problems.append(f"expected {kind} {wanted!r}, got {got or 'none'}")
    summaries = " | ".join(a.summary or "" for a in actions if isinstance(a, Transfer))
    for part in _as_list(expect.summary):
        if part.lower() not in summaries.lower():
            problems.append(f"expected the transfer summary to hold '{part}', it is "
                            f"'{summaries}'")
    made = [f"{a.method} {a.url}" for a in actions if isinstance(a, HttpCall)]
    if expect.http is not None and made != _as_list(expect.http):
        problems.append(f"expected requests {_as_list(expect.http)}, made {made}")
    if expect.state is not None and state.state != expect.state:
        problems.append(f"expected state '{expect.state}', in '{state.state}'")
    for name, table, values in (("slot", expect.slots, state.slots),
                                ("variable", expect.vars, state.variables)):
        for key, wanted in (table or {}).items():
            if values.get(key) != wanted:
                problems.append(f"expected {name} {key}={wanted!r}, got {values.get(key)!r}")
    if expect.ended is not None and state.ended != expect.ended:
        problems.append(f"expected ended={expect.ended}, got {state.ended}")
    return problems


def _event(turn: Turn, engine: FlowEngine, state: CallState, nlu: NLUFunction) -> Event:
    if turn.user is not None:
        return understood(nlu, turn.user, engine.expectation(state))
    if turn.dtmf is not None:
        return Dtmf(str(turn.dtmf))
    if turn.error is not None:
        return TurnFailed(turn.error)
    if turn.webhook is not None:
        return Webhook(turn.webhook)
    return NoInput()


def case_engine(engine: FlowEngine, case: Case) -> tuple[FlowEngine, FixedClock | None]:
    """The engine to run `case` on: `engine` itself, or one on a clock fixed at the case's
    `now` when the case (or one of its turns) sets the time."""
    if case.now is None and all(turn.now is None for turn in case.turns):
        return engine, None
    zone = engine.flow.timezone
    clock = FixedClock(system_clock() if case.now is None else parse_moment(case.now, zone))
    return FlowEngine(engine.flow, clock), clock


def run_case(engine: FlowEngine, case: Case, nlu: NLUFunction,
             limits: HttpLimits | None = None) -> CaseResult:
    failures: list[str] = []
    engine, clock = case_engine(engine, case)
    answer = sender(limits or HttpLimits(), case.http)
    state, actions = settle(engine, *engine.start(case.call), answer)
    if case.greeting is not None:
        failures += [f"greeting: {p}" for p in check(case.greeting, state, actions)]
    for index, turn in enumerate(case.turns, start=1):
        if turn.now is not None and clock is not None:
            clock.moment = parse_moment(turn.now, engine.flow.timezone)
        state, actions = settle(
            engine, *engine.step(state, _event(turn, engine, state, nlu)), answer)
        failures += [f"turn {index}: {p}" for p in check(turn, state, actions)]
    return CaseResult(case.name, failures)


def load_tests(path: Path) -> tuple[TestFile, SourceMap]:
    file = str(path)
    text, problem = read_yaml_text(path)
    if text is None:
        assert problem is not None
        raise FlowError(file, problem.mark.line, problem.mark.column, problem.message)
    data, source, problems = parse_yaml(text, file)
    if problems:
        first = problems[0]
        raise FlowError(file, first.mark.line, first.mark.column, first.message)
    try:
        return TestFile.model_validate(data), source
    except ValidationError as exc:
        errors = pydantic_errors(exc, source)
        raise FlowError(errors[0].file, errors[0].line, errors[0].column, errors[0].message,
                        errors) from None


def run_file(path: Path, nlu: NLUFunction,
             limits: HttpLimits | None = None) -> list[tuple[CaseResult, int]]:
    """Run every case of a test file; each result comes with the line of its case."""
    tests, source = load_tests(path)
    engine = FlowEngine(load_flow(path.parent / tests.flow))
    results = []
    for index, case in enumerate(tests.tests):
        line = source.locate(("tests", index)).line
        results.append((run_case(engine, case, nlu, limits), line))
    return results
