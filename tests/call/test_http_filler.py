"""A live call session runs a flow's http step off the brain: a slow answer gets the
filler prompt first, then the flow goes on with what the endpoint said."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.call.harness import Call, ScriptedSTT, make_services, until
from voicebot.store.records import CallStore


class Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        time.sleep(1.0)  # long enough for the filler (due after 0.2 s)
        body = json.dumps({"status": "ready"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


FLOW = """
name: filler
start: look
states:
  look:
    http:
      url: "API/status"
      save: {status: status}
      filler: "One moment please."
      filler_after: 0.2
    branch:
      - say: "Your order is {{ vars.status }}."
        hangup: true
    on_error: {say: "No luck.", hangup: true}
"""


def test_the_filler_then_the_answer(tmp_path: Path, api: str) -> None:
    flow = tmp_path / "filler.yaml"
    flow.write_text(FLOW.replace("API", api))

    async def scenario() -> list[str]:
        services = make_services(flow, ScriptedSTT(""), http={"allow_hosts": ["127.0.0.1"]})
        services.store = CallStore(tmp_path / "calls.sqlite3")
        async with Call(services) as call:
            assert await until(lambda: call.session.ended, timeout=20)
        record = await services.store.aget_call("test-call")
        await services.store.aclose()
        services.close()
        assert record is not None
        return [e["data"]["text"] for e in record["events"] if e["kind"] == "say"]

    said = asyncio.run(scenario())
    assert said == ["One moment please.", "Your order is ready."]
