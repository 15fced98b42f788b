"""A real call session resolves `transfer: NAME` from config targets and keeps the
hand-off summary on the call record."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.call.harness import Call, ScriptedSTT, make_services, until
from voicebot.store.records import CallStore

FLOW = """
name: handoff
start: hand
states:
  hand:
    set: {order: "A-12"}
    transfer: TARGET
    summary: "Order {{ vars.order }}, caller {{ call.from_number }}."
"""


def run_call(tmp_path: Path, target: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    flow = tmp_path / "handoff.yaml"
    flow.write_text(FLOW.replace("TARGET", target))

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        services = make_services(flow, ScriptedSTT(""), targets={"sales": "+33123456789"})
        services.store = CallStore(tmp_path / "calls.sqlite3")
        async with Call(services) as call:
            assert await until(lambda: call.session.ended)
            await asyncio.sleep(0.1)  # the outbox writes what the session sent
            sent = list(call.sent)
        record = await services.store.aget_call("test-call")
        await services.store.aclose()
        services.close()
        assert record is not None
        return sent, record

    return asyncio.run(scenario())


def test_a_named_target_is_dialled_and_the_summary_recorded(tmp_path: Path) -> None:
    sent, record = run_call(tmp_path, "sales")
    assert {"event": "transfer", "data": "+33123456789"} in sent
    (event,) = [e for e in record["events"] if e["kind"] == "transfer"]
    assert event["data"] == {"target": "sales", "number": "+33123456789",
                             "summary": "Order A-12, caller ."}
    assert record["meta"]["outcome"] == "transfer"


def test_an_unknown_target_hangs_up_and_says_why_in_the_record(tmp_path: Path) -> None:
    sent, record = run_call(tmp_path, "support")
    # No transfer goes on the wire (Ringover's streamer has no hangup event: the
    # session ends the call by closing the media socket).
    assert not any(e.get("event") == "transfer" for e in sent)
    assert record["meta"]["outcome"] == "error"
    (event,) = [e for e in record["events"] if e["kind"] == "transfer_failed"]
    assert "unknown transfer target 'support'" in event["data"]["error"]
