"""HTTP steps: the pure engine asks, a real local server answers, the flow routes.

Every request here goes over a real socket to a real HTTP server on 127.0.0.1 (allowed
through `allow_hosts`, as a user allows their own API), except where a conversation test
stubs the answer in YAML.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from flow_helpers import FlowFiles, understand
from test_flow_validate import assert_error_at

from voicebot.call import http_step
from voicebot.check import check_main
from voicebot.flow.actions import HttpCall, Say
from voicebot.flow.convtest import run_file, sender, settle
from voicebot.flow.engine import CallState, FlowEngine
from voicebot.flow.events import HttpResult, UserInput
from voicebot.flow.http_client import HttpBudget, HttpLimits, execute
from voicebot.flow.http_spec import read_path
from voicebot.flow.tools import chat_main


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        path = self.path
        if path.startswith("/orders/"):
            number = path.removeprefix("/orders/")
            if number == "123456":
                self.reply(200, {"order": {"status": "shipped",
                                           "deliveries": [{"eta": "Thursday"}]}})
            else:
                self.reply(404, {"error": "no such order"})
        elif path == "/slow":
            time.sleep(1.5)
            self.reply(200, {"late": True})
        elif path == "/big":
            self.reply(200, {"blob": "x" * 300_000})
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/headers":
            self.reply(200, {"auth": self.headers.get("Authorization")})
        elif path == "/text":
            body = b"not json"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.reply(404, {})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        self.reply(200, {"got": json.loads(self.rfile.read(length))})

    def reply(self, status: int, data: object) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the time-out tests)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERS_TOKEN", "t0ken")  # chat/test send with the real environment


LOCAL = HttpLimits(allow_hosts=["127.0.0.1"], env=["ORDERS_TOKEN"])

FLOW = """\
name: orders
start: ask
intents:
  agent: {examples: [agent]}
states:
  ask:
    say: "Your order number?"
    collect: {slot: order, type: digits, length: 6}
    on:
      - filled: order
        goto: lookup
  lookup:
    say: "Let me look."
    http:
      url: "API/orders/{{ slots.order }}"
      headers: {Authorization: "Bearer {{ env.ORDERS_TOKEN }}"}
      timeout: 1
      save: {status: "order.status", eta: "order.deliveries[0].eta", missing: "order.x.y"}
    branch:
      - if: vars.eta != null
        say: "Your order is {{ vars.status }}, arriving {{ vars.eta }}."
        hangup: true
      - say: "Your order is {{ vars.status }}."
        hangup: true
    on_error:
      say: "I could not find that order."
      transfer: "+33123456789"
"""


def run(call: HttpCall, limits: HttpLimits = LOCAL, budget: HttpBudget | None = None,
        environ: dict[str, str] | None = None) -> HttpResult:
    return asyncio.run(execute(call, limits, budget or HttpBudget(), environ or {}))


def test_a_lookup_fills_vars_and_routes(files: FlowFiles, api: str) -> None:
    engine = FlowEngine(files.load(FLOW.replace("API", api)))
    answer = sender(LOCAL)
    state, _ = engine.start({})
    state, actions = engine.step(state, _said(engine, state, "123456"))
    assert isinstance(actions[-1], HttpCall) and state.http_wait
    assert actions[-1].url == f"{api}/orders/123456"
    assert actions[-1].headers == {"Authorization": "Bearer {{ env.ORDERS_TOKEN }}"}
    state, actions = settle(engine, state, actions, answer)
    assert state.variables == {"status": "shipped", "eta": "Thursday", "missing": None}
    assert [a.text for a in actions if isinstance(a, Say)][-1] == \
        "Your order is shipped, arriving Thursday."
    assert state.ended


def test_an_http_error_takes_on_error(files: FlowFiles, api: str) -> None:
    engine = FlowEngine(files.load(FLOW.replace("API", api)))
    state, _ = engine.start({})
    state, actions = settle(engine, *engine.step(state, _said(engine, state, "999999")),
                            sender(LOCAL))
    assert state.variables["http_error"] == "HTTP 404"
    assert state.end_reason == "transfer"
    assert "I could not find that order." in [a.text for a in actions if isinstance(a, Say)]


def test_the_wait_takes_no_caller_turn_and_a_stray_answer_is_ignored(
    files: FlowFiles, api: str,
) -> None:
    engine = FlowEngine(files.load(FLOW.replace("API", api)))
    state, _ = engine.start({})
    waiting, _ = engine.step(state, _said(engine, state, "123456"))
    assert engine.step(waiting, _said(engine, waiting, "agent")) == (waiting, [])
    assert engine.step(state, HttpResult(True, 200, {})) == (state, [])


def _said(engine: FlowEngine, state: CallState, text: str) -> UserInput:
    return UserInput(understand(text, engine.expectation(state)))


@pytest.mark.parametrize(("path", "error"), [
    ("/slow", "timed out"),
    ("/big", "answer over 262144 bytes refused"),
    ("/redirect", "redirect refused"),
    ("/text", "the answer is not JSON"),
    ("/nowhere", "HTTP 404"),
])
def test_failures_are_results_never_exceptions(api: str, path: str, error: str) -> None:
    result = run(HttpCall("GET", api + path, timeout=0.5))
    assert not result.ok and result.error == error


def test_private_and_loopback_addresses_are_refused_unless_allowed(api: str) -> None:
    strict = HttpLimits()
    port = api.rsplit(":", 1)[1]
    for url in (api + "/headers", f"http://localhost:{port}/headers",
                "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data",
                "http://[::1]/"):
        result = run(HttpCall("GET", url), strict)
        assert not result.ok and "private or loopback" in (result.error or ""), url
    assert run(HttpCall("GET", api + "/headers"), HttpLimits(allow_private=True)).ok


def test_only_http_and_https(api: str) -> None:
    for url in ("file:///etc/passwd", "ftp://example.com/x", "gopher://x/"):
        result = run(HttpCall("GET", url))
        assert not result.ok and "scheme" in (result.error or "")


def test_secrets_come_from_the_environment_only_when_listed(api: str) -> None:
    call = HttpCall("GET", api + "/headers", {"Authorization": "Bearer {{ env.ORDERS_TOKEN }}"})
    result = run(call, environ={"ORDERS_TOKEN": "s3cret"})
    assert result.ok and result.data == {"auth": "Bearer s3cret"}
    other = HttpCall("GET", api + "/headers", {"X": "{{ env.HOME }}"})
    result = run(other, environ={"HOME": "/root"})
    assert not result.ok and "env.HOME is not listed" in (result.error or "")
    assert "not set" in (run(call).error or "")


def test_a_json_body_is_sent(api: str) -> None:
    result = run(HttpCall("POST", api + "/echo", json={"order": "123"}))
    assert result.ok and result.data == {"got": {"order": "123"}}


def test_the_per_call_budget_counts_requests_and_time(api: str) -> None:
    limits = HttpLimits(allow_hosts=["127.0.0.1"], max_requests_per_call=2)
    budget = HttpBudget()
    assert run(HttpCall("GET", api + "/headers"), limits, budget).ok
    assert run(HttpCall("GET", api + "/headers"), limits, budget).ok
    spent = run(HttpCall("GET", api + "/headers"), limits, budget)
    assert not spent.ok and "budget" in (spent.error or "")
    limits = HttpLimits(allow_hosts=["127.0.0.1"], max_seconds_per_call=0.6)
    budget = HttpBudget()
    slow = run(HttpCall("GET", api + "/slow", timeout=5, retries=3), limits, budget)
    assert not slow.ok and budget.seconds < 1.5  # the budget cut the time-out short


def test_read_path() -> None:
    data = {"order": {"items": [{"name": "pen"}, {"name": "ink"}]}}
    assert read_path(data, "order.items[1].name") == "ink"
    assert read_path(data, "order.items.0.name") == "pen"
    assert read_path(data, "order.items[5].name") is None
    assert read_path(data, "order.nothing.here") is None
    assert read_path([1], "x") is None


def test_conversation_tests_call_a_real_server_or_a_stub(files: FlowFiles, api: str) -> None:
    files.write(FLOW.replace("API", api), "orders.yaml")
    tests = files.write(f"""\
    flow: orders.yaml
    tests:
      - name: real server
        turns:
          - user: "123456"
            http: "GET {api}/orders/123456"
            say: ["arriving Thursday"]
            vars: {{status: shipped}}
      - name: stubbed answer
        http:
          - url: "{api}/orders/*"
            json: {{order: {{status: lost}}}}
        turns:
          - user: "123456"
            say: ["your order is lost"]
      - name: stubbed time-out
        http:
          - url: "{api}/orders/123456"
            error: timed out
        turns:
          - user: "123456"
            transfer: "+33123456789"
            vars: {{http_error: timed out}}
      - name: wrong on purpose
        turns:
          - user: "123456"
            say: ["arriving Monday"]
    """, "orders_test.yaml")
    results = [r for r, _line in run_file(tests, understand, LOCAL)]
    assert [r.passed for r in results] == [True, True, True, False], results


ON_ERROR = FLOW[FLOW.index("    on_error:"):]


@pytest.mark.parametrize(("old", "new", "needle", "words"), [
    ('url: "API', 'url: "ftp://API', "url:", "must start with http"),
    ('missing: "order.x.y"', 'missing: "order..y"', "save:", "bad path 'order..y'"),
    ("{{ slots.order }}", "{{ slots.ordre }}", "url:", "undefined slot 'ordre'"),
    (ON_ERROR, "", 'say: "Let me look."', "'http' and 'on_error' go together"),
    ('      transfer: "+33123456789"\n', "      set: {x: 1}\n", "on_error:", "must move on"),
])
def test_validate_checks_http_steps(files: FlowFiles, old: str, new: str, needle: str,
                                    words: str) -> None:
    text = FLOW.replace(old, new).replace("API", "http://api.example.com")
    assert_error_at(files, text, needle, words)


def test_env_belongs_in_url_and_headers_not_the_body(files: FlowFiles) -> None:
    text = FLOW.replace("API", "http://api.example.com").replace(
        "      timeout: 1\n", "      timeout: 1\n      json: {key: \"{{ env.ORDERS_TOKEN }}\"}\n")
    assert_error_at(files, text, "json:", "not in the body")


def test_chat_sends_requests_for_real(files: FlowFiles, api: str) -> None:
    path = files.write(FLOW.replace("API", api), "orders.yaml")
    out = io.StringIO()
    assert chat_main(path, understand, io.StringIO("#123456\n"), out, http=LOCAL) == 0
    text = out.getvalue()
    assert f"-> http GET {api}/orders/123456" in text
    assert "arriving Thursday" in text


def test_on_a_call_a_slow_answer_gets_the_filler_first(api: str) -> None:
    said: list[str] = []
    answers: list[HttpResult] = []

    async def say(text: str) -> None:
        said.append(text)

    slow = HttpCall("GET", api + "/slow", timeout=5, filler="One moment.", filler_after=0.2)
    fast = HttpCall("GET", api + "/headers", timeout=5, filler="One moment.",
                    filler_after=2.0)
    for call in (slow, fast):
        asyncio.run(http_step.run(call, LOCAL, HttpBudget(), say, answers.append))
    assert said == ["One moment."]  # the fast answer came before its filler was due
    assert [a.ok for a in answers] == [True, True]


def test_a_hangup_cancels_the_request(api: str) -> None:
    answers: list[HttpResult] = []

    async def scenario() -> None:
        async def say(text: str) -> None:
            pass

        task = asyncio.ensure_future(http_step.run(
            HttpCall("GET", api + "/slow", timeout=5), LOCAL, HttpBudget(), say,
            answers.append))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert answers == []


def test_check_wants_env_names_listed_and_set(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "orders.yaml").write_text(FLOW.replace("API", "https://api.example.com"))
    config = tmp_path / "config.yaml"
    config.write_text("flow: orders.yaml\nnlu: {use: examples}\n")
    err = io.StringIO()
    assert check_main(str(config), load=False, out=io.StringIO(), err=err) == 1
    assert "env.ORDERS_TOKEN is not listed in config http.env" in err.getvalue()
    config.write_text("flow: orders.yaml\nnlu: {use: examples}\nhttp: {env: [ORDERS_TOKEN]}\n")
    monkeypatch.delenv("ORDERS_TOKEN")
    err = io.StringIO()
    assert check_main(str(config), load=False, out=io.StringIO(), err=err) == 1
    assert "env.ORDERS_TOKEN is not set in the environment" in err.getvalue()
    monkeypatch.setenv("ORDERS_TOKEN", "x")
    err = io.StringIO()
    assert check_main(str(config), load=False, out=io.StringIO(), err=err) == 0, err.getvalue()


TRANSITION_FLOW = """\
name: tx
start: ask
intents:
  check: {examples: [check]}
states:
  ask:
    say: "Say check."
    on:
      - intent: check
        say: "Checking."
        http:
          url: "API/orders/123456"
          save: {status: "order.status"}
        goto: done
        on_error: {say: "No answer.", hangup: true}
  done:
    say: "It is {{ vars.status }}."
    hangup: true
"""


def test_a_transition_makes_a_request_and_its_goto_waits_for_the_answer(
    files: FlowFiles, api: str,
) -> None:
    engine = FlowEngine(files.load(TRANSITION_FLOW.replace("API", api)))
    state, _ = engine.start({})
    state, actions = engine.step(state, _said(engine, state, "check"))
    assert [type(a).__name__ for a in actions] == ["Say", "HttpCall"]
    assert state.state == "ask" and state.http_from == ("on", 0)
    state, more = settle(engine, state, actions, sender(LOCAL))
    assert [a.text for a in more if isinstance(a, Say)][-1] == "It is shipped."
    broken = FlowEngine(files.load(TRANSITION_FLOW.replace("API", api + "/nowhere")))
    state, _ = broken.start({})
    state, actions = settle(broken, *broken.step(state, _said(broken, state, "check")),
                            sender(LOCAL))
    assert "No answer." in [a.text for a in actions if isinstance(a, Say)] and state.ended


def test_no_http_in_a_branch(files: FlowFiles) -> None:
    line = '      - say: "Your order is {{ vars.status }}."\n'
    extra = '        http: {url: "http://x.example"}\n        on_error: {hangup: true}\n'
    text = FLOW.replace("API", "http://api.example.com").replace(line, line + extra)
    assert_error_at(files, text, 'url: "http://x.example"', "no 'http' here")
