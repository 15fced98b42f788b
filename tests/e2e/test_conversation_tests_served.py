"""The example flows' conversation tests, replayed as phone calls to `voicebot serve`.

Each case of flows/tests/*.yaml becomes a call over the real WebSocket at real-time pace:
the caller speaks (real audio, cut into utterances by the server's VAD and endpointer),
presses keys (RFC 4733) and stays silent (the server's own no-input timer). Only speech
recognition is scripted (voicebot.testing.scripted_stt hears the case's lines), so what
is checked is understanding: the NLU config.yaml names, the call session and the flow.
What the bot said (the call record) and did (the wire) must be what the conversation
test saw. Two kinds of case are not replayed, and chat and test (and
tests/flow/test_chat_test_serve_agree.py) cover them: a webhook turn is not something a
caller does (tests/e2e/test_webhooks_e2e.py sends a hangup webhook over the wire), and a
case that fixes the time (`now:`) cannot fix the server's wall clock.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from voicebot.config import load_config
from voicebot.flow.actions import Action, Hangup, Play, Say, SendDigits, Transfer
from voicebot.flow.convtest import Case, load_tests
from voicebot.flow.engine import FlowEngine
from voicebot.flow.events import Dtmf, Event, NoInput, TurnFailed, understood
from voicebot.flow.loader import load_flow
from voicebot.flow.targets import resolve
from voicebot.flow_cli import as_function, configured_nlu
from voicebot.simulator import Key, Silence, Speech, Step, WaitFor, WaitQuiet, simulate
from voicebot.testing.audio import speech
from voicebot.testing.server import ROOT, running_server
from voicebot.types import NLUFunction

pytestmark = pytest.mark.e2e

TEST_FILES = sorted((ROOT / "flows" / "tests").glob("*.yaml"))
FAIL = "!fail"  # the scripted recogniser's failure line: an `error:` turn
CONCURRENT_CALLS = 8  # per server: no speech model here, a call is mostly waiting


def utterance() -> Any:
    # One short phrase without pauses, so the endpointer makes one utterance of it.
    pcm, _text = speech(8000, "I would like some help")
    return pcm


def served_cases(path: Path) -> list[tuple[str, Case]]:
    """The cases a caller can play: no webhook turn, and no fixed clock (`now:`), since
    the server reads the real clock (the chat/test/serve agreement test runs those)."""
    tests, _source = load_tests(path)
    return [(f"{path.stem}-{index}", case) for index, case in enumerate(tests.tests)
            if case.now is None
            and all(turn.webhook is None and turn.now is None for turn in case.turns)]


SERVED_FILES = [path for path in TEST_FILES if served_cases(path)]
CONFIG = load_config(ROOT / "config.yaml")


def event_of(turn: Any, engine: FlowEngine, state: Any, nlu: NLUFunction) -> Event:
    if turn.user is not None:
        return understood(nlu, turn.user, engine.expectation(state))
    if turn.dtmf is not None:
        return Dtmf(str(turn.dtmf))
    return NoInput() if turn.silence else TurnFailed("stt")


def expected(engine: FlowEngine, call: dict[str, Any], case: Case,
             nlu: NLUFunction) -> tuple[list[list[Action]], list[float]]:
    """The actions of each step (the greeting first), as the conversation test runs it,
    and the no-input time-out of the state each turn is taken in."""
    state, actions = engine.start(call)
    steps, timeouts = [actions], []
    for turn in case.turns:
        timeouts.append(engine.no_input_timeout(state) or 0.0)
        state, actions = engine.step(state, event_of(turn, engine, state, nlu))
        steps.append(actions)
    return steps, timeouts


def caller(case: Case, steps: list[list[Action]], no_input_s: list[float],
           speech_8k: Any) -> list[Step]:
    """What a polite caller does: waits for each prompt to end, then takes its turn."""
    script: list[Step] = [WaitQuiet(1.5, timeout=40)]
    for turn, reply, timeout in zip(case.turns, steps[1:], no_input_s, strict=True):
        if turn.user is not None or turn.error is not None:
            script.append(Speech(speech_8k))
        elif turn.dtmf is not None:
            script += [Key(digit) for digit in str(turn.dtmf)]
        else:
            script.append(Silence(timeout + 0.5))
        if any(isinstance(a, (Say, Play)) for a in reply):
            script.append(WaitQuiet(1.5, timeout=40, first=False))
        else:
            script.append(Silence(1.5))  # keys buffered, or the call ended: nothing to hear
    # A call the flow ends is waited for: the transfer comes after its prompt has played;
    # on a hangup the server closes the WebSocket, which ends the call's script.
    last = steps[-1]
    if any(isinstance(a, Transfer) for a in last):
        return script + [WaitFor("transfer", timeout=20)]
    return script + [Silence(10.0 if any(isinstance(a, Hangup) for a in last) else 1.0)]


def record_of(db: Path, call_id: str) -> list[dict[str, Any]]:
    """The call's events once its record is closed."""
    deadline = time.monotonic() + 10
    with sqlite3.connect(db) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("select closed_at from calls where call_id = ?",
                               (call_id,)).fetchone()
            if row and row[0] is not None:
                break
            time.sleep(0.1)
        return [{"kind": k, "data": json.loads(d)} for k, d in conn.execute(
            "select kind, data from events where call_id = ? order by id", (call_id,))]


def wire_actions(actions: list[Action]) -> list[tuple[str, str]]:
    out = []
    for action in actions:
        if isinstance(action, Transfer):  # a target name goes out as its number
            out.append(("transfer", resolve(action.number, CONFIG.targets) or "?"))
        elif isinstance(action, SendDigits):
            out.append(("digits", action.digits))
        elif isinstance(action, Play):
            out.append(("play", action.url))
    return out


@pytest.mark.parametrize("path", SERVED_FILES, ids=[p.stem for p in SERVED_FILES])
def test_served_calls_do_what_the_conversation_tests_saw(path: Path) -> None:
    flow_path = (path.parent / load_tests(path)[0].flow).resolve()
    engine = FlowEngine(load_flow(flow_path))
    nlu = as_function(configured_nlu(CONFIG))
    speech_8k = utterance()
    plans = {}
    for call_id, case in served_cases(path):
        call = {"call_id": call_id, **{k: str(v) for k, v in case.call.items()}}
        steps, timeouts = expected(engine, call, case, nlu)
        lines = [turn.user if turn.user is not None else FAIL
                 for turn in case.turns if turn.user is not None or turn.error is not None]
        actions = [a for step in steps for a in step]
        plans[call_id] = (call, caller(case, steps, timeouts, speech_8k), lines, actions)

    scripted = {"use": "voicebot.testing.scripted_stt:ScriptedSTT",
                "options": {"lines": {cid: plan[2] for cid, plan in plans.items()},
                            "fail_line": FAIL}}
    with running_server(flow_path, stt=scripted, listen={"speculative": False},
                        targets=CONFIG.targets) as server:
        async def one(call_id: str, gate: asyncio.Semaphore) -> Any:
            call, script, _lines, _actions = plans[call_id]
            async with gate:
                return await simulate(server["url"], script, timeout=240, linger=0.5,
                                      start_message={"event": "start", **call})

        async def all_calls() -> list[Any]:
            gate = asyncio.Semaphore(CONCURRENT_CALLS)
            return await asyncio.gather(*(one(cid, gate) for cid in plans))

        results = dict(zip(plans, asyncio.run(all_calls()), strict=True))
        problems = []
        for call_id, result in results.items():
            actions = plans[call_id][3]
            said = [e["data"]["text"] for e in record_of(server["db"], call_id)
                    if e["kind"] == "say"]
            want_said = [a.text for a in actions if isinstance(a, Say)]
            did = [(r.kind, str(r.event.get("data"))) for r in result.events
                   if r.kind in ("transfer", "digits", "play")]
            if said != want_said or did != wire_actions(actions):
                problems.append(f"{call_id}: said {said} did {did}; the conversation test "
                                f"saw {want_said} and {wire_actions(actions)}")
    assert not problems, "\n".join(problems)
