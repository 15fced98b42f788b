"""Ringover webhooks meet the media session by call id, in either order, through the
real server: call data reaches the flow, and a hangup ends the call and its record."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from tests.webhooks.webhook_helpers import KEY, call_event, post_signed
from voicebot.simulator import Silence, Speech, WaitFor, WaitQuiet, simulate
from voicebot.testing.callers import piper_8k
from voicebot.testing.server import running_server

pytestmark = pytest.mark.e2e

FLOW = Path(__file__).parent / "flows" / "webhooks.yaml"


@pytest.fixture(scope="module")
def server():
    with running_server(FLOW, webhooks={"key": KEY}) as srv:
        yield srv


def post_webhook(http: str, body: dict) -> int:
    return post_signed(http, body, timeout=5)[0]


def test_webhook_before_media_gives_the_flow_its_call_data(server):
    call_id = "e2e-before-media"
    body = call_event("ringing", call_id=call_id, from_number="+33611223344")
    assert post_webhook(server["http"], body) < 300
    script = [WaitQuiet(0.6), Speech(piper_8k("I would like to speak to an agent")),
              Silence(2.0)]
    result = asyncio.run(simulate(server["url"], script, timeout=40,
                                  start_message={"event": "start", "call_id": call_id}))
    assert [r.event for r in result.of("transfer")] == [
        {"event": "transfer", "data": "+33611223344"}
    ]


def test_hangup_webhook_during_media_ends_the_call_and_closes_its_record(server):
    call_id = "e2e-hangup"
    script = [WaitFor("streamAudio", after=1.0)]

    async def call_and_hang_up():
        task = asyncio.create_task(simulate(
            server["url"], script + [Silence(20)], timeout=30,
            start_message={"event": "start", "call_id": call_id}))
        await asyncio.sleep(2.0)
        sent_at = time.monotonic()
        status = await asyncio.to_thread(
            post_webhook, server["http"], call_event("hangup", call_id=call_id))
        return await task, sent_at, status

    result, sent_at, status = asyncio.run(call_and_hang_up())
    assert status < 300
    assert result.closed_by_server
    # The greeting (about 8 s) was cut: no audio long after the webhook.
    assert all(r.at < sent_at + 1.0 for r in result.of("streamAudio"))
    db = sqlite3.connect(server["db"])
    deadline = time.monotonic() + 5
    row = None
    while time.monotonic() < deadline:
        row = db.execute("select closed_at, close_reason from calls where call_id = ?",
                         (call_id,)).fetchone()
        if row and row[0] is not None:
            break
        time.sleep(0.1)
    assert row is not None and row[0] is not None, row
    kinds = [k for (k,) in db.execute("select kind from events where call_id = ?", (call_id,))]
    assert "webhook:hangup" in kinds and "media_stop" in kinds, kinds
