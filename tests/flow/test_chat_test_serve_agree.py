"""`voicebot chat`, `voicebot test` and `voicebot serve` agree on every conversation test
of the example flows (flows/tests/*.yaml), under the repository's config.yaml.

A green conversation test must mean the server behaves the same. All three run the same
pure engine; what could differ is how the caller is understood. So, for every case:

- test:  the case passes through `voicebot test --config config.yaml` (the CLI's NLU);
- chat:  `voicebot chat`, fed the case's turns as typed lines, prints exactly the
         transcript (intents, bot actions, states) the conversation test went through;
- serve: the NLU object the server builds from the same config (`Services.build`, as
         `voicebot serve` does), called the server's way (`call_plugin` in its executor),
         understands every turn as the CLI did, so its transcript is the same too.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from voicebot.call.services import Services
from voicebot.cli import main as voicebot_main
from voicebot.config import Config, load_config
from voicebot.flow.clock import parse_moment
from voicebot.flow.convtest import Case, case_engine, load_tests, run_case, sender, settle
from voicebot.flow.engine import FlowEngine
from voicebot.flow.events import Dtmf, Event, NoInput, TurnFailed, UserInput, Webhook
from voicebot.flow.http_client import HttpLimits
from voicebot.flow.loader import load_flow
from voicebot.flow.tools import chat_main, describe, understanding
from voicebot.flow_cli import as_function, configured_nlu
from voicebot.plugins.base import call_plugin
from voicebot.types import Expectation, NLUFunction, NLUResult

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config.yaml"
TEST_FILES = sorted((ROOT / "flows" / "tests").glob("*.yaml"))
CHAT_CALL = {"from_number": "+33100000000", "to_number": "+33200000000", "call_id": "chat"}

AsyncNLU = Callable[[str, Expectation], Awaitable[NLUResult]]


def cases() -> list[tuple[Path, int, Case]]:
    found = []
    for path in TEST_FILES:
        tests, _source = load_tests(path)
        found.extend((path, index, case) for index, case in enumerate(tests.tests))
    return found


CASES = cases()


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(CONFIG)


@pytest.fixture(scope="module")
def cli_nlu(config: Config) -> NLUFunction:
    """The NLU `voicebot chat` and `voicebot test` build from config.yaml (loaded once)."""
    return as_function(configured_nlu(config))


@pytest.fixture(scope="module")
def servers(config: Config) -> Iterator[dict[Path, Services]]:
    """What `voicebot serve` builds from config.yaml, per flow, its NLU warmed up."""
    built: dict[Path, Services] = {}
    for path in TEST_FILES:
        flow = (path.parent / load_tests(path)[0].flow).resolve()
        if flow not in built:
            built[flow] = Services.build(config.model_copy(update={"flow": str(flow)}))
            built[flow].nlu.load()  # the server's warm-up does this at start
    yield built
    for services in built.values():
        services.executor.shutdown()
        if services.tts_executor is not None:
            services.tts_executor.shutdown()


def chat_lines(case: Case) -> list[str]:
    """The case's turns as a person types them into `voicebot chat`."""
    lines = []
    for turn in case.turns:
        if turn.now is not None:
            lines.append(f"/now {turn.now}")
        if turn.user is not None:
            assert turn.user.strip() and turn.user[0] not in "#/", turn.user
            lines.append(turn.user)
        elif turn.dtmf is not None:
            lines.append(f"#{turn.dtmf}")
        elif turn.silence:
            lines.append("/silence")
        elif turn.error is not None:
            lines.append("/error")
        else:
            assert turn.webhook == "hangup", "chat sends only the hangup webhook"
            lines.append("/hangup")
    return lines


async def transcript(engine: FlowEngine, case: Case, nlu: AsyncNLU) -> list[str]:
    """What `voicebot chat` prints for the case's turns, understanding speech with `nlu`."""
    out: list[str] = []
    engine, clock = case_engine(engine, case)
    answer = sender(HttpLimits(), case.http)  # the case's stubbed http answers

    def show(ended: bool, reason: str | None, state: str, actions: list[Any]) -> None:
        out.extend(f"  {describe(action)}" for action in actions)
        out.append(f"[call ended: {reason}] (/restart to start again)" if ended else f"[{state}]")

    state, actions = settle(engine, *engine.start(case.call or CHAT_CALL), answer)
    show(state.ended, state.end_reason, state.state, actions)
    for turn in case.turns:
        if turn.now is not None and clock is not None:
            clock.moment = parse_moment(turn.now, engine.flow.timezone)
            out.append(f"  (clock: {clock.moment.isoformat(timespec='minutes')})")
        event: Event
        if turn.user is not None:
            result = await nlu(turn.user, engine.expectation(state))
            out.append("  " + understanding(result, engine.flow.defaults.min_confidence))
            event = UserInput(result)
        elif turn.dtmf is not None:
            event = Dtmf(str(turn.dtmf))
        elif turn.silence:
            event = NoInput()
        elif turn.error is not None:
            event = TurnFailed("chat")
        else:
            event = Webhook(str(turn.webhook))
        state, actions = settle(engine, *engine.step(state, event), answer)
        show(state.ended, state.end_reason, state.state, actions)
    return out


def chat_transcript(flow: Path, case: Case, nlu: NLUFunction) -> list[str]:
    typed = io.StringIO("".join(f"{line}\n" for line in chat_lines(case)))
    out = io.StringIO()
    now = None if case.now is None else str(case.now)
    assert chat_main(flow, nlu, typed, out, call=case.call or CHAT_CALL, now=now,
                     stubs=case.http) == 0
    return out.getvalue().splitlines()[1:]  # after the help line


def test_voicebot_test_passes_every_case_with_the_configured_nlu(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert voicebot_main(["test", "--config", str(CONFIG), *map(str, TEST_FILES)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{len(CASES)} passed, 0 failed"


def test_the_cli_builds_the_nlu_the_server_builds(
    config: Config, servers: dict[Path, Services],
) -> None:
    cli = configured_nlu(config)
    for services in servers.values():
        assert type(cli) is type(services.nlu)
        assert cli.options == services.nlu.options  # type: ignore[attr-defined]


@pytest.mark.parametrize(("path", "index", "case"), CASES,
                         ids=[f"{p.stem}:{c.name}" for p, _i, c in CASES])
def test_chat_test_and_serve_agree(
    path: Path, index: int, case: Case, cli_nlu: NLUFunction, servers: dict[Path, Services],
) -> None:
    flow_path = (path.parent / load_tests(path)[0].flow).resolve()
    engine = FlowEngine(load_flow(flow_path))

    # test: the case passes with the CLI's NLU.
    result = run_case(engine, case, cli_nlu)
    assert result.passed, result.failures

    async def cli(text: str, expectation: Expectation) -> NLUResult:
        return cli_nlu(text, expectation)

    expected = asyncio.run(transcript(engine, case, cli))

    # chat: typing the turns prints the same transcript.
    assert chat_transcript(flow_path, case, cli_nlu) == expected

    # serve: the server's own services for this flow, its NLU called as a session calls it.
    services = servers[flow_path]

    async def served(text: str, expectation: Expectation) -> NLUResult:
        parsed: NLUResult = await call_plugin(
            services.executor, services.nlu.parse, text, expectation)
        return parsed

    assert asyncio.run(transcript(services.engine, case, served)) == expected
