"""Two workers' registries on the real Redis and the real PostgreSQL, in one event loop:
webhooks find their call's worker, wait for a worker that has not claimed it yet, and a
worker that stops heartbeating has its calls closed as failed by the other."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from voicebot.call.cluster import WORKER_LOST, ClusterRegistry
from voicebot.store.records import CallStore
from voicebot.testing.datastores import REDIS_URL, postgres_schema, redis_prefix


class Sink:
    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.got: list[str] = []

    async def on_webhook(self, name: str, data: dict[str, Any]) -> None:
        self.got.append(name)


@pytest.fixture
def shared() -> Iterator[tuple[str, str]]:
    """(PostgreSQL URL, Redis key prefix), both fresh and removed after."""
    with postgres_schema() as url, redis_prefix() as prefix:
        yield url, prefix


@asynccontextmanager
async def worker(shared: tuple[str, str], name: str, **kw: Any
                 ) -> AsyncIterator[ClusterRegistry]:
    url, prefix = shared
    store = CallStore(url)
    reg = ClusterRegistry(store, REDIS_URL, worker_id=name, key_prefix=prefix,
                          heartbeat_s=0.2, worker_ttl_s=2.0, sweep_s=0.2, **kw)
    await reg.start()
    try:
        yield reg
    finally:
        await reg.aclose()
        await store.aclose()


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float = 10.0) -> float:
    """Seconds until `check` held; fails after `within_s` (generous: the machine is shared)."""
    start = time.monotonic()
    while not await check():
        assert time.monotonic() - start < within_s, "condition not reached in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


def test_a_webhook_at_worker_a_reaches_the_call_live_on_worker_b(shared) -> None:
    async def run() -> tuple[Sink, dict | None, ClusterRegistry]:
        async with worker(shared, "a") as a, worker(shared, "b") as b:
            sink = Sink("c1")
            await b.claim("c1")
            b.attach("c1", sink)
            await a.on_webhook("answered", "c1", {"call_id": "c1", "status": "answered"})
            await eventually(lambda: _true(sink.got == ["answered"]))
            record = await a.store.aget_call("c1")  # type: ignore[union-attr]
            return sink, record, a

    sink, record, a = asyncio.run(run())
    assert sink.got == ["answered"]
    assert a.routed_away == 1
    # Recorded once, by the worker that received it; the record stays open (B's session
    # ends the call, not A).
    assert [e["kind"] for e in record["events"]] == ["webhook:answered"]
    assert record["closed_at"] is None


def test_webhooks_before_media_wait_for_whichever_worker_claims_the_call(shared) -> None:
    async def run() -> tuple[list[str], dict, dict | None]:
        async with worker(shared, "a") as a, worker(shared, "b") as b:
            await a.on_webhook("ringing", "c2", {"call_id": "c2", "from_number": "+336"})
            await a.on_webhook("answered", "c2", {"call_id": "c2", "status": "answered"})
            await b.claim("c2")
            data = b.call_data("c2")
            waited = [name for name, _ in b.attach("c2", Sink("c2"))]
            return waited, data, await a.store.aget_call("c2")  # type: ignore[union-attr]

    waited, data, record = asyncio.run(run())
    assert waited == ["ringing", "answered"]
    assert data["from_number"] == "+336" and data["status"] == "answered"
    assert record["closed_at"] is None


def test_a_hangup_for_a_call_nobody_holds_closes_its_record_once(shared) -> None:
    async def run() -> dict | None:
        async with worker(shared, "a") as a:
            await a.on_webhook("missed", "c3", {"call_id": "c3"})
            return await a.store.aget_call("c3")  # type: ignore[union-attr]

    assert asyncio.run(run())["close_reason"] == "missed"


def test_a_silent_worker_has_only_its_calls_closed_as_failed(shared) -> None:
    async def run() -> tuple[float, dict, dict, int]:
        async with worker(shared, "a") as a:
            await a.claim("on-a")
            a.attach("on-a", Sink("on-a"))
            await a.store.open_call("on-a", {})  # type: ignore[union-attr]
            b = ClusterRegistry(a.store, REDIS_URL, worker_id="b",
                                key_prefix=a.directory.prefix, heartbeat_s=0.2,
                                worker_ttl_s=2.0, sweep_s=0.2)
            await b.start()
            for call_id in ("on-b-1", "on-b-2"):
                await b.claim(call_id)
                b.attach(call_id, Sink(call_id))
                await a.store.open_call(call_id, {})  # type: ignore[union-attr]
            # B stops as a SIGKILL stops it: no goodbye, its heartbeat just ends.
            b._stop_beating.set()
            await asyncio.to_thread(b._beating.join)  # type: ignore[union-attr]
            for task in b._tasks:
                task.cancel()
            await asyncio.gather(*b._tasks, return_exceptions=True)
            await b._client.aclose()

            async def closed() -> bool:
                rec = await a.store.aget_call("on-b-2")  # type: ignore[union-attr]
                return rec is not None and rec["closed_at"] is not None

            took = await eventually(closed)
            lost = await a.store.aget_call("on-b-1")  # type: ignore[union-attr]
            kept = await a.store.aget_call("on-a")  # type: ignore[union-attr]
            return took, lost, kept, len(await a.directory.calls_of("b"))

    took, lost, kept, left = asyncio.run(run())
    assert lost["close_reason"] == WORKER_LOST
    assert [e["kind"] for e in lost["events"]] == ["worker_lost"]
    assert kept["closed_at"] is None  # the survivor's own call is untouched
    assert left == 0


def test_a_worker_presumed_dead_reclaims_its_calls_and_reopens_their_records(shared) -> None:
    async def run() -> tuple[str | None, dict, int]:
        async with worker(shared, "a") as a:
            await a.claim("c4")
            a.attach("c4", Sink("c4"))
            # As if A had been unreachable past its TTL and a survivor had swept it.
            await a.directory.redis.delete(a.directory.key("alive", "a"))
            await a.directory.forget_worker("a")
            await a.store.close_call("c4", WORKER_LOST)  # type: ignore[union-attr]
            assert await a.directory.owner("c4") is None
            await asyncio.to_thread(a._beat)  # the next heartbeat finds its key gone

            async def back() -> bool:
                rec = await a.store.aget_call("c4")  # type: ignore[union-attr]
                return rec["closed_at"] is None and await a.directory.owner("c4") == "a"

            await eventually(back)
            return (await a.directory.owner("c4"), await a.store.aget_call("c4"),  # type: ignore[union-attr]
                    a.presumed_dead)

    owner, record, presumed = asyncio.run(run())
    assert owner == "a" and presumed == 1
    assert record["close_reason"] is None
    assert [e["kind"] for e in record["events"]] == ["reopened"]


def test_a_busy_event_loop_does_not_make_a_live_worker_look_dead(shared) -> None:
    """The heartbeat has its own thread: a loop blocked for longer than the TTL (2 s
    here) does not get this worker's calls swept by the other."""

    async def run() -> dict | None:
        async with worker(shared, "a") as a, worker(shared, "b") as b:
            await b.claim("c5")
            b.attach("c5", Sink("c5"))
            await a.store.open_call("c5", {})  # type: ignore[union-attr]
            # Blocks the loop both share, as a CPU-starved worker's would be blocked.
            time.sleep(3.5)  # noqa: ASYNC251
            await asyncio.sleep(1.0)  # A's sweeper gets its turn
            return await a.store.aget_call("c5")  # type: ignore[union-attr]

    assert asyncio.run(run())["closed_at"] is None


def test_a_delivery_acknowledged_by_a_dying_worker_is_applied_by_the_other(shared) -> None:
    """B stored a webhook and said 2xx, then died before applying it: A's sweep applies
    it, so the call live on A still gets it, once."""
    body = {"resource": "call", "event": "answered", "timestamp": 1.0, "attempt": 1,
            "data": {"call_id": "c6", "status": "answered"}}

    async def run() -> tuple[Sink, dict, list]:
        async with worker(shared, "a") as a:
            sink = Sink("c6")
            await a.claim("c6")
            a.attach("c6", sink)
            store_b = CallStore(shared[0])
            store_b.worker = "b"
            b = ClusterRegistry(store_b, REDIS_URL, worker_id="b", key_prefix=shared[1],
                                heartbeat_s=0.2, worker_ttl_s=2.0, sweep_s=0.2)
            await b.start()
            assert await store_b.record_webhook("k6", resource="call", event="answered",
                                                call_id="c6", attempt=1, known=True, body=body)
            b._stop_beating.set()  # B dies before its processor gets to the webhook
            await asyncio.to_thread(b._beating.join)  # type: ignore[union-attr]
            for task in b._tasks:
                task.cancel()
            await b._client.aclose()
            await store_b.aclose()
            await eventually(lambda: _true(sink.got == ["answered"]))
            await asyncio.sleep(0.5)  # a second sweep must not apply it again
            return (sink, await a.store.aget_call("c6"),  # type: ignore[union-attr]
                    await a.store.unapplied_webhooks("b"))  # type: ignore[union-attr]

    sink, record, left = asyncio.run(run())
    assert sink.got == ["answered"]
    assert [e["kind"] for e in record["events"]].count("webhook:answered") == 1
    assert left == []


def test_webhooks_waiting_for_a_worker_are_bounded_like_in_one_process(shared) -> None:
    async def run() -> tuple[list, list, list, int]:
        async with worker(shared, "a", max_pending_calls=2, max_events_per_call=2) as a:
            for call_id in ("w1", "w2", "w3"):  # w1, the oldest, is forgotten for w3
                await a.on_webhook("ringing", call_id, {"call_id": call_id})
            for _ in range(3):  # the third is one too many for one call
                await a.on_webhook("ringing", "w2", {"call_id": "w2"})
            got = []
            for call_id in ("w1", "w2", "w3"):
                await a.claim(call_id)
                got.append([n for n, _ in a.attach(call_id, Sink(call_id))])
            return got[0], got[1], got[2], a.dropped_events

    w1, w2, w3, dropped = asyncio.run(run())
    assert w1 == [] and w2 == ["ringing", "ringing"] and w3 == ["ringing"]
    assert dropped == 2


async def _true(value: bool) -> bool:
    return value
