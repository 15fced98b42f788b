"""The call registry of one worker among several: webhooks reach a call wherever it lives.

Each worker keeps its own sessions in memory, as alone (registry.py), and shares the rest
through Redis (directory.py): which worker holds each call, the webhooks waiting for a
call no worker holds yet, and an inbox per worker. A webhook that reaches a worker
without the call's session is routed to the holder's inbox (or left waiting for the
worker that will claim the call); it is recorded once, by the worker that received it,
and the shared store's delivery key makes a redelivery to any worker a no-op.

Workers heartbeat; one that stops (SIGKILL, a lost host) expires after `worker_ttl_s`,
and the first survivor to sweep closes its calls' records as failed
(`failed:worker_lost`), so within worker_ttl_s + sweep_s no record stays open for a call
that nobody runs. Only the dead worker's calls are touched.

The heartbeat runs on a thread of its own, the one thread here beside the event loop:
on a loaded machine an event loop can lag by seconds while its calls still run, and a
heartbeat on it made live workers look dead (measured: bench/cluster.py swept the calls
of two live workers at a load average of 12 on 2 cores). A process that is alive but
hung keeps heartbeating; the liveness probe (/livez, on the event loop) is what restarts
it. Should a worker still be given up for dead while alive (Redis unreachable longer
than the TTL), it claims its calls again and reopens their records when it is back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from voicebot.call.directory import Directory, decode
from voicebot.call.registry import CallRegistry
from voicebot.store.kinds import RecordStore
from voicebot.telephony.webhooks import WebhookFormatError, parse_webhook

log = logging.getLogger(__name__)

WORKER_LOST = "failed:worker_lost"


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def _check_reachable(url: str) -> None:
    """At start-up, a wrong or unreachable Redis is a clear error, not a traceback."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5.0, socket_timeout=5.0)
    except ValueError as exc:
        raise ConnectionError(f"cluster.redis_url is not a Redis URL: {exc}") from exc
    try:
        client.ping()
    except (RedisError, OSError) as exc:
        raise ConnectionError(f"cannot reach Redis at {url}: {exc}") from exc
    finally:
        client.close()


class ClusterRegistry(CallRegistry):
    def __init__(
        self,
        store: RecordStore | None,
        redis_url: str,
        *,
        worker_id: str | None = None,
        key_prefix: str = "voicebot:",
        heartbeat_s: float = 1.0,
        worker_ttl_s: float = 5.0,
        sweep_s: float = 1.0,
        metrics: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(store, **kwargs)
        self.worker = worker_id or default_worker_id()
        self.redis_url = redis_url
        self.heartbeat_s = heartbeat_s
        self.worker_ttl_s = worker_ttl_s
        self.sweep_s = sweep_s
        self.metrics = metrics
        _check_reachable(redis_url)
        self._client = aioredis.Redis.from_url(redis_url, socket_timeout=max(2.0, heartbeat_s * 2),
                                               socket_connect_timeout=5.0)
        self.directory = Directory(self._client, self.worker, key_prefix)
        self._beat_client = redis.Redis.from_url(redis_url, socket_timeout=worker_ttl_s,
                                                 socket_connect_timeout=worker_ttl_s)
        self._beating: threading.Thread | None = None
        self._stop_beating = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._last_beat = -float("inf")
        self._joined = False  # the first beat of a new worker finds no key
        self.routed_away = 0  # webhooks handed to another worker
        self.received = 0  # webhooks other workers handed to us
        self.reaped_calls = 0  # dead workers' calls whose records we closed
        self.presumed_dead = 0  # times this worker found it had been given up for dead

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            self._beat()  # before the first call: blocking here costs nobody
        except (RedisError, OSError) as exc:
            raise ConnectionError(f"cannot reach Redis at {self.redis_url}: {exc}") from exc
        log.info("worker %s joined the call directory", self.worker)
        self._stop_beating.clear()
        self._beating = threading.Thread(target=self._beat_forever, daemon=True,
                                         name=f"cluster-heartbeat-{self.worker}")
        self._beating.start()
        self._tasks = [
            self._spawn(self._read_inbox(), "cluster-inbox"),
            self._spawn(self._every(self.sweep_s, self.sweep), "cluster-sweep"),
        ]

    async def aclose(self) -> None:
        self._stop_beating.set()
        if self._beating is not None:
            await asyncio.to_thread(self._beating.join)
            self._beating = None
        self._beat_client.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._background, return_exceptions=True)
        self._tasks = []
        try:
            # Calls still here were closed by their sessions ("shutdown"); say goodbye so
            # nobody sweeps them as lost.
            for call_id in list(self._sessions):
                await self.directory.release(call_id)
            await self.directory.leave()
        except (RedisError, OSError) as exc:
            log.warning("could not leave the call directory cleanly: %r", exc)
        await self._client.aclose()

    def healthy(self) -> bool:
        # Silent longer than the TTL: the others may already count us as dead.
        return time.monotonic() - self._last_beat < self.worker_ttl_s

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(coro, name=f"{name}-{self.worker}")

    async def _every(self, period_s: float, job: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        while True:
            await asyncio.sleep(period_s)
            try:
                await job()
            except (RedisError, OSError) as exc:
                log.warning("call directory: %s failed: %r", job.__name__, exc)
            except Exception:
                log.exception("call directory: %s failed", job.__name__)

    def _beat_forever(self) -> None:
        while not self._stop_beating.wait(self.heartbeat_s):
            try:
                self._beat()
            except (RedisError, OSError) as exc:
                log.warning("call directory: heartbeat failed: %r", exc)
            except Exception:
                log.exception("call directory: heartbeat failed")

    def _beat(self) -> None:
        """One heartbeat (on the heartbeat thread, or at start)."""
        known = self.directory.heartbeat(self._beat_client, self.worker_ttl_s)
        self._last_beat = time.monotonic()
        if not known and self._loop is not None and self._joined:
            # We were silent long enough to be given up for dead: our calls are still
            # here, so say so again, on the event loop that owns them.
            asyncio.run_coroutine_threadsafe(self._come_back(), self._loop)
        self._joined = True

    async def _come_back(self) -> None:
        self.presumed_dead += 1
        self._count("voicebot_cluster_presumed_dead_total")
        calls = list(self._sessions)
        log.warning("worker %s was presumed dead; reclaiming %d calls", self.worker, len(calls))
        try:
            await self.directory.reclaim(calls)
        except (RedisError, OSError) as exc:
            log.error("could not reclaim calls after being presumed dead: %r", exc)
        if self.store is not None:
            # A survivor closed these records as failed; the calls went on here.
            for call_id in calls:
                try:
                    await self.store.reopen_call(call_id, WORKER_LOST, {"worker": self.worker})
                except Exception as exc:  # nobody awaits this task: say it here
                    log.error("call %s: could not reopen its record: %r", call_id, exc)

    # -- the media side --------------------------------------------------------------

    async def claim(self, call_id: str) -> None:
        try:
            waiting = await self.directory.claim(call_id)
        except (RedisError, OSError) as exc:
            # The call goes on; only webhooks from other workers will not find it.
            log.error("call %s: could not claim it in the directory: %r", call_id, exc)
            return
        for name, data in waiting:
            self._keep(call_id, name, data)
            self._merge(call_id, data)
        if self.store is not None:
            # Which worker ran the call: what to look at when its record says it failed.
            try:
                await self.store.open_call(call_id, {"worker": self.worker})
            except Exception as exc:
                log.error("call %s: could not record its worker: %r", call_id, exc)

    def detach(self, call_id: str) -> None:
        super().detach(call_id)
        task = asyncio.get_running_loop().create_task(self._release(call_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _release(self, call_id: str) -> None:
        try:
            await self.directory.release(call_id)
        except (RedisError, OSError) as exc:
            log.warning("call %s: could not release it in the directory: %r", call_id, exc)

    # -- the webhook side ------------------------------------------------------------

    async def _route(self, name: str, call_id: str, data: dict[str, Any]) -> bool:
        try:
            routed = await self.directory.route(
                name, call_id, data, max_pending=self.max_events_per_call,
                pending_ttl_s=self.max_pending_age_s, max_waiting_calls=self.max_pending_calls)
        except (RedisError, OSError) as exc:
            log.error("call %s: directory unreachable, keeping webhook %s here: %r",
                      call_id, name, exc)
            return await super()._route(name, call_id, data)
        if routed.dropped:
            self.dropped_events += 1
            log.warning("call %s: dropping webhook %s, too many already waiting", call_id, name)
            return False
        if routed.worker is None:
            return False  # waits in the directory for the worker that claims the call
        if routed.worker != self.worker:
            self.routed_away += 1
            self._count("voicebot_cluster_webhooks_routed_total")
        return True

    async def _read_inbox(self) -> None:
        after = "0"
        while True:
            try:
                entries = await self.directory.read_inbox(after, block_ms=1000)
            except (RedisError, OSError) as exc:
                log.warning("call directory: inbox read failed: %r", exc)
                await asyncio.sleep(self.heartbeat_s)
                continue
            for entry_id, payload in entries:
                after = entry_id
                try:
                    name, call_id, data = decode(payload)
                except (ValueError, KeyError, TypeError):
                    log.error("call directory: unreadable inbox entry %s", entry_id)
                    continue
                self.received += 1
                self._count("voicebot_cluster_webhooks_received_total")
                await self.deliver_here(name, call_id, data)
            try:
                await self.directory.ack_inbox([e for e, _ in entries])
            except (RedisError, OSError) as exc:
                log.warning("call directory: inbox trim failed: %r", exc)

    async def deliver_here(self, name: str, call_id: str, data: dict[str, Any]) -> None:
        """A webhook another worker received (and recorded) for a call held here."""
        session = self._sessions.get(call_id)
        if session is None:
            # Claimed but not yet attached, or ended a moment ago: wait here as alone.
            self._keep(call_id, name, data)
            self._merge(call_id, data)
            return
        self._merge(call_id, data)
        await self._deliver(session, name, call_id, data)

    # -- dead workers ----------------------------------------------------------------

    async def sweep(self) -> int:
        """Close the records of calls held by workers that stopped heartbeating."""
        closed = 0
        for worker in await self.directory.dead_workers():
            if not await self.directory.lock_reap(worker, hold_s=30.0):
                continue  # another survivor is on it
            calls = await self.directory.calls_of(worker)
            if calls and self.store is not None:
                log.warning("worker %s is gone: closing its %d calls as failed", worker,
                            len(calls))
                writes = []
                for call_id in calls:
                    writes.append(self.store.add_event(call_id, "worker_lost",
                                                       {"worker": worker}))
                    writes.append(self.store.close_call(call_id, WORKER_LOST))
                await asyncio.gather(*writes)  # a failure leaves the lock to expire: retried
            await self._reapply(worker)
            await self.directory.forget_worker(worker)
            closed += len(calls)
        self.reaped_calls += closed
        if closed:
            self._count("voicebot_cluster_calls_reaped_total", closed)
        return closed

    async def _reapply(self, worker: str) -> int:
        """Apply what the dead worker acknowledged and never applied: its 2xx promised it.
        Each is recorded and routed here as if just received (the others' live calls get
        their webhooks); the delivery key keeps it from counting twice."""
        if self.store is None:
            return 0
        pending = await self.store.unapplied_webhooks(worker)
        adopted = 0
        for key, body in pending:
            # Ours now (should we die too, our sweeper finishes it); another survivor
            # whose sweep overlapped ours may have taken it first.
            if not await self.store.adopt_webhook(key, worker):
                continue
            adopted += 1
            try:
                event = parse_webhook(body)
            except WebhookFormatError:  # it was parsed before it was stored: cannot happen
                log.error("stored webhook %s no longer parses; leaving it", key)
                continue
            if event.call_id is not None:
                await self.on_webhook(event.name, event.call_id, event.data, key=key)
        if adopted:
            log.warning("applied %d webhooks that worker %s acknowledged and never applied",
                        adopted, worker)
            self._count("voicebot_cluster_webhooks_reapplied_total", adopted)
        return adopted

    def _count(self, name: str, value: float = 1.0) -> None:
        if self.metrics is not None:
            self.metrics.inc(name, value)
