"""Two real workers sharing PostgreSQL and Redis: a webhook sent to worker A reaches the
call live on worker B, over real connections, with real audio at real-time pace."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import websockets

from tests.webhooks.webhook_helpers import KEY, call_event, post_signed
from voicebot.simulator import Silence, Speech, WaitFor, WaitQuiet, simulate
from voicebot.store.records import CallStore
from voicebot.testing.callers import piper_8k
from voicebot.testing.datastores import REDIS_URL, postgres_schema, redis_prefix
from voicebot.testing.server import running_server

pytestmark = pytest.mark.e2e

FLOW = Path(__file__).parent / "flows" / "webhooks.yaml"


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, Any]]:
    with postgres_schema() as pg, redis_prefix() as prefix:
        def worker(name: str) -> Any:
            return running_server(
                FLOW, webhooks={"key": KEY}, store={"url": pg},
                cluster={"redis_url": REDIS_URL, "key_prefix": prefix, "worker_id": name})

        with worker("a") as a, worker("b") as b:
            yield {"a": a, "b": b, "pg": pg}


def record(pg: str, call_id: str, until: Any = None, within_s: float = 15.0) -> dict:
    store = CallStore(pg)
    try:
        deadline = time.monotonic() + within_s
        while True:
            rec = store.get_call(call_id)
            if until is None or (rec is not None and until(rec)) or time.monotonic() > deadline:
                return rec
            time.sleep(0.1)
    finally:
        store.close()


def test_workers_report_ready_with_their_names(cluster) -> None:
    for name in ("a", "b"):
        with urllib.request.urlopen(cluster[name]["http"] + "/readyz", timeout=5) as r:
            body = json.loads(r.read())
        assert r.status == 200 and body["worker"] == name and body["directory"] is True


def test_hangup_sent_to_worker_a_ends_the_call_live_on_worker_b(cluster) -> None:
    call_id = "cluster-hangup"
    hangup = call_event("hangup", call_id=call_id)

    async def call_and_hang_up() -> tuple[Any, float, tuple[int, dict]]:
        task = asyncio.create_task(simulate(
            cluster["b"]["url"], [WaitFor("streamAudio", after=1.0), Silence(20)], timeout=30,
            start_message={"event": "start", "call_id": call_id}))
        await asyncio.sleep(2.0)
        sent_at = time.monotonic()
        answer = await asyncio.to_thread(post_signed, cluster["a"]["http"], hangup)
        return await task, sent_at, answer

    result, sent_at, (status, body) = asyncio.run(call_and_hang_up())
    assert status == 202 and body["status"] == "accepted"
    assert result.closed_by_server
    # B stopped speaking soon after A got the webhook: the greeting runs ~8 s otherwise.
    assert all(r.at < sent_at + 2.0 for r in result.of("streamAudio"))
    rec = record(cluster["pg"], call_id, until=lambda r: r["closed_at"] is not None)
    kinds = [e["kind"] for e in rec["events"]]
    assert kinds.count("webhook:hangup") == 1 and "media_stop" in kinds, kinds
    # Ringover retries the same delivery, this time to worker B: applied once, not twice.
    retry = dict(hangup, attempt=2)
    assert post_signed(cluster["b"]["http"], retry) == (200, {"status": "duplicate"})
    rec = record(cluster["pg"], call_id)
    assert [e["kind"] for e in rec["events"]].count("webhook:hangup") == 1
    assert rec["webhook_retries"] == 1
    # The delivery names the worker that acknowledged it and is marked applied: what a
    # survivor would otherwise finish for it (tests/cluster).
    with psycopg.connect(cluster["pg"]) as conn:
        rows = conn.execute("SELECT worker, applied_at IS NOT NULL FROM webhook_deliveries "
                            "WHERE call_id = %s", (call_id,)).fetchall()
    assert rows == [("a", True)]


def test_call_data_from_a_webhook_at_worker_a_reaches_the_flow_on_worker_b(cluster) -> None:
    call_id = "cluster-before-media"
    ringing = call_event("ringing", call_id=call_id, from_number="+33611223344")
    assert post_signed(cluster["a"]["http"], ringing)[0] == 202
    script = [WaitQuiet(0.6), Speech(piper_8k("I would like to speak to an agent")),
              Silence(2.0)]
    result = asyncio.run(simulate(cluster["b"]["url"], script, timeout=40,
                                  start_message={"event": "start", "call_id": call_id}))
    assert [r.event for r in result.of("transfer")] == [
        {"event": "transfer", "data": "+33611223344"}
    ]


def test_a_worker_killed_mid_call_has_its_call_closed_as_failed_by_the_other() -> None:
    # Own pair of workers: this one dies. TTL 2 s, sweeps every 0.5 s: closed in ~2.5 s.
    with postgres_schema() as pg, redis_prefix() as prefix:
        fast = {"redis_url": REDIS_URL, "key_prefix": prefix, "heartbeat_s": 0.5,
                "worker_ttl_s": 2.0, "sweep_s": 0.5}
        with running_server(FLOW, webhooks={"key": KEY}, store={"url": pg},
                            cluster=dict(fast, worker_id="survivor")), \
             running_server(FLOW, webhooks={"key": KEY}, store={"url": pg},
                            cluster=dict(fast, worker_id="victim")) as victim:
            call_id = "cluster-killed"

            async def call_and_kill() -> Any:
                task = asyncio.create_task(simulate(
                    victim["url"], [WaitFor("streamAudio", after=1.0), Silence(20)],
                    timeout=30, start_message={"event": "start", "call_id": call_id}))
                await asyncio.sleep(2.0)
                victim["process"].kill()  # SIGKILL: no drain, no goodbye
                return await task

            asyncio.run(call_and_kill())
            rec = record(pg, call_id, until=lambda r: r["closed_at"] is not None,
                         within_s=30.0)
    assert rec["close_reason"] == "failed:worker_lost", rec
    assert "worker_lost" in [e["kind"] for e in rec["events"]]


def test_a_draining_worker_refuses_new_calls_and_finishes_its_live_one() -> None:
    """SIGTERM on worker B mid-call: its /readyz turns 503 (the load balancer moves on)
    and new media is refused, while its live call goes on and still gets its webhooks
    through worker A; when that call ends B leaves the directory and exits cleanly."""
    with postgres_schema() as pg, redis_prefix() as prefix:
        cluster = {"redis_url": REDIS_URL, "key_prefix": prefix}
        with running_server(FLOW, webhooks={"key": KEY}, store={"url": pg},
                            cluster=dict(cluster, worker_id="stays")) as a, \
             running_server(FLOW, webhooks={"key": KEY}, store={"url": pg},
                            cluster=dict(cluster, worker_id="drains"),
                            server={"shutdown_grace_s": 60}) as b:
            call_id = "cluster-drain"

            async def drain_mid_call() -> tuple[Any, int, Any]:
                task = asyncio.create_task(simulate(
                    b["url"], [WaitFor("streamAudio", after=1.0), Silence(30)], timeout=45,
                    start_message={"event": "start", "call_id": call_id}))
                await asyncio.sleep(2.0)
                b["process"].send_signal(signal.SIGTERM)
                ready = await asyncio.to_thread(wait_status, b["http"] + "/readyz", 503)
                refused = await close_code(b["url"])
                await asyncio.sleep(1.0)  # the live call goes on through the drain
                await asyncio.to_thread(post_signed, a["http"],
                                        call_event("hangup", call_id=call_id))
                return await task, ready, refused

            result, ready, refused = asyncio.run(drain_mid_call())
            exit_code = b["process"].wait(30)
            rec = record(pg, call_id, until=lambda r: r["closed_at"] is not None)
            left = redis.Redis.from_url(REDIS_URL).sismember(prefix + "workers", "drains")
    assert ready == 503 and refused == 1013  # "try again later": the media server moves on
    assert result.closed_by_server and rec["close_reason"] != "failed:worker_lost"
    assert "webhook:hangup" in [e["kind"] for e in rec["events"]]
    # uvicorn re-raises the SIGTERM it caught once it has shut down (tests/faults too).
    assert exit_code in (0, -signal.SIGTERM) and not left


async def close_code(url: str) -> int | None:
    async with websockets.connect(url) as ws:
        with contextlib.suppress(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        await ws.wait_closed()
        return ws.close_code


def wait_status(url: str, status: int, within_s: float = 10.0) -> int:
    deadline = time.monotonic() + within_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                got = r.status
        except urllib.error.HTTPError as exc:
            got = exc.code
        if got == status or time.monotonic() > deadline:
            return got
        time.sleep(0.1)
