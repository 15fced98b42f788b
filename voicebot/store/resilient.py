"""A call store that degrades instead of losing records: a layer around any backend.

Issue 12: with the database read-only, one call went unrecorded and another was never
closed, while /healthz said 200. Wrapped in `ResilientStore`, a call-record write that
fails (read-only file, full disk, database down) is kept in memory, in order, and
retried until the backend takes it again; while any is waiting, `health()` says so (and
/healthz answers 503), and the metrics count the failures and the backlog. The call
itself never waits on the store: a failing write costs nothing but memory, and that is
bounded (`max_backlog`, oldest dropped first and counted).

Webhook deliveries are not buffered: their write decides the HTTP answer (a delivery that
could not be stored is refused with 500, so Ringover delivers it again). Reads go to the
backend as they are. The wrapper works with whichever backend CallStore was given.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import deque
from pathlib import Path
from typing import Any

from voicebot.store.backends import backend_for
from voicebot.store.records import CallStore
from voicebot.store.turn import TurnRecord

log = logging.getLogger(__name__)


class StoreOpenError(RuntimeError):
    """The call store cannot be opened at start-up (a corrupt or unreadable file)."""


def open_store(target: str | Path) -> CallStore:
    """CallStore(target), or StoreOpenError naming the store: a corrupt file used to be
    a 30-line traceback that never said which file (issue 12)."""
    try:
        return CallStore(target)
    except (sqlite3.DatabaseError, OSError) as exc:
        label = backend_for(target).label  # a URL without its password
        raise StoreOpenError(f"cannot open the call store {label}: {exc}") from None

# The writes of a call's record: what a call produces and must not lose.
BUFFERED = frozenset({"open_call", "add_event", "add_turn", "close_call"})


class ResilientStore:
    def __init__(self, store: Any, metrics: Any, *, max_backlog: int = 50_000,
                 retry_s: float = 1.0, max_retry_s: float = 30.0) -> None:
        self.store = store
        self.metrics = metrics
        self.max_backlog = max_backlog
        self.retry_s, self.max_retry_s = retry_s, max_retry_s
        self._backlog: deque[tuple[str, tuple[Any, ...]]] = deque()
        self._retry: asyncio.Task[None] | None = None
        self.error: str | None = None  # the last failure, while the backlog is not empty
        self.failing_since: float | None = None
        self.dropped = 0
        self.metrics.gauge("voicebot_store_writable", 1)

    def __getattr__(self, name: str) -> Any:
        # Reads, record_webhook, count_webhooks...: the backend's own.
        return getattr(self.store, name)

    # -- writes ----------------------------------------------------------------------

    async def open_call(self, call_id: str, meta: dict[str, Any]) -> None:
        await self._write("open_call", (call_id, meta))

    async def add_event(self, call_id: str, kind: str, data: dict[str, Any]) -> None:
        await self._write("add_event", (call_id, kind, data))

    async def add_turn(self, call_id: str, turn: TurnRecord) -> None:
        await self._write("add_turn", (call_id, turn))

    async def close_call(self, call_id: str, reason: str) -> None:
        await self._write("close_call", (call_id, reason))

    async def record_webhook(self, key: str, **fields: Any) -> bool:
        try:
            return bool(await self.store.record_webhook(key, **fields))
        except Exception as exc:
            self._failed(exc)
            raise

    async def _write(self, method: str, args: tuple[Any, ...]) -> None:
        if self._backlog:  # behind earlier writes still waiting: order is the record's
            self._keep(method, args)
            return
        try:
            await getattr(self.store, method)(*args)
        except Exception as exc:
            self._failed(exc)
            self._keep(method, args)

    def _failed(self, exc: BaseException) -> None:
        self.metrics.inc("voicebot_store_failures_total")
        self.metrics.inc("voicebot_errors_total", kind="store")
        if self.error is None:
            log.error("call store not writable (%s): keeping records in memory and retrying",
                      exc)
            self.metrics.gauge("voicebot_store_writable", -1)
            self.failing_since = time.time()
        self.error = f"{type(exc).__name__}: {exc}"

    def _keep(self, method: str, args: tuple[Any, ...]) -> None:
        if len(self._backlog) >= self.max_backlog:
            self._backlog.popleft()
            self.dropped += 1
            self.metrics.inc("voicebot_store_dropped_total")
        else:
            self.metrics.gauge("voicebot_store_backlog", 1)
        self._backlog.append((method, args))
        if self._retry is None or self._retry.done():
            self._retry = asyncio.get_running_loop().create_task(
                self._retry_until_written(), name="store-retry")

    async def _retry_until_written(self) -> None:
        delay = self.retry_s
        while self._backlog:
            await asyncio.sleep(delay)
            if await self._flush():
                return
            delay = min(delay * 2, self.max_retry_s)

    async def _flush(self) -> bool:
        """Write the backlog in order; True once it is empty."""
        written = 0
        while self._backlog:
            method, args = self._backlog[0]
            try:
                await getattr(self.store, method)(*args)
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                self.metrics.inc("voicebot_store_failures_total")
                return False
            self._backlog.popleft()
            self.metrics.gauge("voicebot_store_backlog", -1)
            written += 1
        if self.error is not None:
            log.warning("call store writable again: %d kept records written", written)
            self.metrics.gauge("voicebot_store_writable", 1)
        self.error, self.failing_since = None, None
        return True

    # -- state -----------------------------------------------------------------------

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = {"writable": self.error is None, "backlog": len(self._backlog)}
        if self.error is not None:
            body["error"] = self.error[:300]
            body["failing_since"] = self.failing_since
        if self.dropped:
            body["dropped"] = self.dropped
        return body

    async def aclose(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        if self._backlog and not await self._flush():
            log.error("call store still not writable at shutdown: %d record writes lost (%s)",
                      len(self._backlog), self.error)
        await self.store.aclose()
