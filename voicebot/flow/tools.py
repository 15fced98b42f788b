"""`voicebot validate | chat | test | graph`: the flow author's tools.

Each `*_main` takes plain arguments (chat and test: the NLU to understand the caller
with), prints to stdout and returns an exit code. Choosing that NLU from config.yaml, as
`voicebot serve` does, is the command line's job (`voicebot.flow_cli`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

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
from voicebot.flow.convtest import Stub, run_file, sender, settle
from voicebot.flow.engine import CallState, FlowEngine
from voicebot.flow.events import Dtmf, Event, NoInput, TurnFailed, Webhook, understood
from voicebot.flow.graph import to_dot, to_mermaid
from voicebot.flow.http_client import HttpLimits
from voicebot.flow.loader import FlowError, expand_paths, load_flow, validate_paths
from voicebot.types import Expectation, NLUFunction, NLUResult


def validate_main(paths: list[str], output: TextIO | None = None,
                  errors_to: TextIO | None = None) -> int:
    """Problems (errors and warnings, at file:line:col) go to stderr, so `validate f.yaml
    > report` still shows them; the one-line verdict goes to stdout."""
    out = output or sys.stdout
    err = errors_to or sys.stderr
    errors, warnings = validate_paths(paths)
    count = len(expand_paths(paths))
    for problem in [*errors, *warnings]:
        print(problem, file=err)
    if errors:
        print(f"{len(errors)} error(s), {len(warnings)} warning(s)", file=err)
        return 1
    print(f"ok: {count} flow file(s), {len(warnings)} warning(s)", file=out)
    return 0


def describe(action: Action) -> str:
    if isinstance(action, Say):
        return f"bot: {action.text}"
    if isinstance(action, Play):
        return f"play: {action.url}"
    if isinstance(action, Transfer):
        summary = f" (summary: {action.summary})" if action.summary else ""
        return f"-> transfer {action.number}{summary}"
    if isinstance(action, SendDigits):
        return f"-> digits {action.digits}"
    if isinstance(action, Hangup):
        return f"-> hangup ({action.reason})"
    if isinstance(action, Break):
        return "-> break"
    if isinstance(action, HttpCall):
        return f"-> http {action.method} {action.url}"
    return repr(action)


_CHAT_HELP = (
    "Type what the caller says. #1234 sends DTMF keys, /silence a no-input "
    "time-out, /error a failed turn, /hangup hangs up, /state shows slots and "
    "variables, /now 2026-12-24T18:30 fixes the clock, /restart starts over, /quit leaves."
)


# Lines saying why an utterance matched what it did (`chat --explain`): the top intents
# with their scores and the example or rule behind each.
Explainer = Callable[[str, Expectation], list[str]]


def understanding(result: NLUResult, min_confidence: float) -> str:
    """How the flow will take an NLU result: an intent under the flow's min_confidence is
    a no-match, and is printed as one."""
    if result.intent and result.confidence >= min_confidence:
        said = f"intent {result.intent} {result.confidence:.2f}"
    elif result.intent:
        said = (f"no match: {result.intent} scored {result.confidence:.2f}, under "
                f"min_confidence {min_confidence:.2f}")
    else:
        said = "no intent"
    if result.entities:
        said += "; " + ", ".join(f"{k}={v!r}" for k, v in result.entities.items())
    return f"({said})"


def chat_main(
    flow_path: str | Path,
    nlu: NLUFunction,
    input: TextIO | None = None,
    output: TextIO | None = None,
    call: dict[str, str] | None = None,
    explainer: Explainer | None = None,
    now: str | None = None,
    http: HttpLimits | None = None,
    stubs: list[Stub] | None = None,
) -> int:
    # Looked up now, not at import: a caller (or a test) may have replaced them since.
    input = sys.stdin if input is None else input
    output = sys.stdout if output is None else output
    try:
        flow = load_flow(flow_path)
    except FlowError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    # `--now` or `/now` fixes the clock, as `now:` does in a conversation test.
    clock: FixedClock | None = None
    if now is not None:
        try:
            clock = FixedClock(parse_moment(now, flow.timezone))
        except ValueError as exc:
            print(exc, file=output)
            return 1
    engine = FlowEngine(flow, clock or system_clock)
    # Real requests within config's http limits; `stubs` (a conversation test's canned
    # answers) come first, so chat can replay a test exactly.
    answer = sender(http or HttpLimits(), stubs)
    call = call or {"from_number": "+33100000000", "to_number": "+33200000000", "call_id": "chat"}
    print(_CHAT_HELP, file=output)

    def show(state: CallState, actions: list[Action]) -> CallState:
        state, actions = settle(engine, state, actions, answer)
        for action in actions:
            print(f"  {describe(action)}", file=output)
        if state.ended:
            print(f"[call ended: {state.end_reason}] (/restart to start again)", file=output)
        else:
            print(f"[{state.state}]", file=output)
        return state

    state = show(*engine.start(call))
    for raw in input:
        line = raw.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        if line == "/restart":
            answer = sender(http or HttpLimits(), stubs)  # a new call, a new budget
            state = show(*engine.start(call))
            continue
        if line.startswith("/now "):
            try:
                moment = parse_moment(line[5:], flow.timezone)
            except ValueError as exc:
                print(f"  ({exc})", file=output)
                continue
            if clock is None:
                clock = FixedClock(moment)
                engine = FlowEngine(flow, clock)
            clock.moment = moment
            print(f"  (clock: {moment.isoformat(timespec='minutes')})", file=output)
            continue
        if line == "/state":
            print(
                f"  state={state.state} slots={state.slots} vars={state.variables} "
                f"turns={state.turns}",
                file=output,
            )
            continue
        event: Event
        if line.startswith("#"):
            event = Dtmf(line[1:] or "#")
        elif line == "/silence":
            event = NoInput()
        elif line == "/error":
            event = TurnFailed("chat")
        elif line == "/hangup":
            event = Webhook("hangup")
        elif line.startswith("/"):
            print(_CHAT_HELP, file=output)
            continue
        else:
            expectation = engine.expectation(state)
            event = understood(nlu, line, expectation)
            if isinstance(event, TurnFailed):
                print(f"  (nlu failed: {event.message})", file=output)
            else:
                print("  " + understanding(event.nlu, engine.flow.defaults.min_confidence),
                      file=output)
            for reason in explainer(line, expectation) if explainer else []:
                print(f"    {reason}", file=output)
        state = show(*engine.step(state, event))
    return 0


def test_main(paths: list[str], nlu: NLUFunction, output: TextIO | None = None,
              http: HttpLimits | None = None) -> int:
    out = output or sys.stdout
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    passed = failed = 0
    for file in files:
        try:
            results = run_file(file, nlu, http)
        except FlowError as exc:
            for error in exc.errors:
                print(f"ERROR {error}", file=out)
            failed += 1
            continue
        for result, line in results:
            if result.passed:
                passed += 1
                print(f"PASS {file}:{line}: {result.name}", file=out)
            else:
                failed += 1
                print(f"FAIL {file}:{line}: {result.name}", file=out)
                for failure in result.failures:
                    print(f"    {failure}", file=out)
    print(f"{passed} passed, {failed} failed", file=out)
    return 1 if failed or not passed else 0


def graph_main(flow_path: str, fmt: str = "mermaid", out: str | None = None) -> int:
    try:
        flow = load_flow(flow_path)
    except FlowError as exc:
        for error in exc.errors:  # stderr: `graph bad.yaml > f.mmd` must not hide them
            print(error, file=sys.stderr)
        return 1
    text = to_dot(flow) if fmt == "dot" else to_mermaid(flow)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {out}")
    else:
        print(text, end="")
    return 0
