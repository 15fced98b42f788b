"""Issue 16's "done when", spoken: flows/front_desk.yaml served by `voicebot serve`, a
caller asks where their order is over the real WebSocket (real audio, real-time pace),
keys the number in (RFC 4733), and the bot's reply carries what the real local orders API
(flows/servers/orders_api.py) answered. Speech recognition alone is scripted.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tests.e2e.test_conversation_tests_served import record_of
from voicebot.simulator import Key, Silence, Speech, WaitQuiet, simulate
from voicebot.testing.audio import speech
from voicebot.testing.server import ROOT, running_server

pytestmark = pytest.mark.e2e


def orders_api() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "orders_api", ROOT / "flows" / "servers" / "orders_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def said_in(db: Path, call_id: str) -> list[str]:
    return [e["data"]["text"] for e in record_of(db, call_id) if e["kind"] == "say"]


def test_a_spoken_call_hears_the_lookup_result(tmp_path: Path) -> None:
    api = orders_api().start(0)
    try:
        # The example flow, pointed at this run's orders API (any free port).
        flow = tmp_path / "front_desk.yaml"
        flow.write_text((ROOT / "flows" / "front_desk.yaml").read_text().replace(
            "http://127.0.0.1:8765", f"http://127.0.0.1:{api.server_address[1]}"))
        pcm, _text = speech(8000, "where is my order")
        script = [WaitQuiet(1.5, timeout=40), Speech(pcm), WaitQuiet(1.5, timeout=40,
                                                                     first=False),
                  *[Key(d) for d in "123456"], WaitQuiet(1.5, timeout=40, first=False),
                  Silence(3.0)]
        stt = {"use": "voicebot.testing.scripted_stt:ScriptedSTT",
               "options": {"lines": {"lookup-1": ["where is my order"]}}}
        with running_server(flow, stt=stt, listen={"speculative": False},
                            http={"allow_hosts": ["127.0.0.1"]}) as server:
            asyncio.run(simulate(server["url"], script, timeout=120, linger=0.5,
                                 start_message={"event": "start", "call_id": "lookup-1"}))
            said = said_in(server["db"], "lookup-1")
    finally:
        api.shutdown()
        api.server_close()
    assert any("six-digit order number" in line for line in said), said
    assert any("is shipped, arriving Thursday" in line for line in said), said
