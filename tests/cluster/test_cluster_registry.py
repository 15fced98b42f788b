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
                          heartbeat_s=0.2, worker_ttl_s=1.0, sweep_s=0.2, **kw)
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
                                worker_ttl_s=1.0, sweep_s=0.2)
            await b.start()
            for call_id in ("on-b-1", "on-b-2"):
                await b.claim(call_id)
                b.attach(call_id, Sink(call_id))
                await a.store.open_call(call_id, {})  # type: ignore[union-attr]
            # B stops as a SIGKILL stops it: no goodbye, its heartbeat just ends.
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


def test_a_worker_presumed_dead_reclaims_its_calls(shared) -> None:
    async def run() -> str | None:
        async with worker(shared, "a") as a:
            await a.claim("c4")
            a.attach("c4", Sink("c4"))
            # As if A's loop had stalled past its TTL and a survivor swept it.
            await a.directory.redis.delete(a.directory.key("alive", "a"))
            await a.directory.forget_worker("a")
            assert await a.directory.owner("c4") is None
            await a._beat()
            return await a.directory.owner("c4")

    assert asyncio.run(run()) == "a"


async def _true(value: bool) -> bool:
    return value
