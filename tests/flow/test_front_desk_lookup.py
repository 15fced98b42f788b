"""Issue 16's "done when", as a conversation test: flows/front_desk.yaml, its clock fixed,
looks orders up in the tiny example API (flows/servers/orders_api.py) over a real socket,
fills vars from the JSON, and routes on opening hours. No stub: `voicebot test` sends the
requests itself, within config limits that allow 127.0.0.1 as a user allows their API.
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flow_helpers import understand

from voicebot.flow.convtest import run_file
from voicebot.flow.http_client import HttpLimits
from voicebot.flow.tools import test_main as voicebot_test

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def orders_api() -> Iterator[int]:
    spec = importlib.util.spec_from_file_location(
        "orders_api", ROOT / "flows" / "servers" / "orders_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    server = module.start(0)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


TESTS = """\
flow: front_desk.yaml
tests:
  - name: open, a known order is read back from the API
    now: 2026-12-22T10:15
    greeting: {state: open}
    turns:
      - user: "where is my order"
        state: ask_order
      - dtmf: "123456"
        http: "GET API/orders/123456"
        vars: {status: shipped, eta: Thursday}
        say: ["is shipped, arriving thursday"]
        ended: true
  - name: open, an unknown order goes to the desk with what was learned
    now: 2026-12-22T10:15
    call: {from_number: "+33612345678"}
    turns:
      - user: "where is my order"
      - dtmf: "999999"
        vars: {http_error: "HTTP 404"}
        transfer: desk
        summary: ["Order 999999: lookup failed (HTTP 404)"]
  - name: closed on Christmas Day, an order still gets its answer
    now: 2026-12-25T10:00
    greeting: {state: closed}
    turns:
      - user: "where is my order"
      - dtmf: "654321"
        say: ["is being prepared"]
        not_say: ["arriving"]
  - name: closed, an unknown order is told to call back
    now: 2026-12-25T10:00
    turns:
      - user: "where is my order"
      - dtmf: "999999"
        say: ["call back when we are open"]
        ended: true
"""


def write(tmp_path: Path, port: int) -> Path:
    api = f"http://127.0.0.1:{port}"
    flow = (ROOT / "flows" / "front_desk.yaml").read_text()
    (tmp_path / "front_desk.yaml").write_text(flow.replace("http://127.0.0.1:8765", api))
    tests = tmp_path / "front_desk_test.yaml"
    tests.write_text(TESTS.replace("API", api))
    return tests


def test_a_conversation_test_looks_up_a_real_endpoint_and_routes_on_the_clock(
    tmp_path: Path, orders_api: int,
) -> None:
    results = run_file(write(tmp_path, orders_api), understand,
                       HttpLimits(allow_hosts=["127.0.0.1"]))
    assert [r.failures for r, _line in results] == [[], [], [], []]


def test_without_allowing_the_local_api_the_lookup_is_refused(
    tmp_path: Path, orders_api: int,
) -> None:
    out = io.StringIO()
    assert voicebot_test([str(write(tmp_path, orders_api))], understand, out) == 1
    assert "private or loopback" in out.getvalue()  # vars.http_error, in the failures
