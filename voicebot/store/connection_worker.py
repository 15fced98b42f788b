"""The records' connection and the one thread that owns it (voicebot/store/records.py
says what is written; this says how).

Every statement runs on one worker thread that owns the only connection, so writes are
serialised without locks and the event loop only ever awaits a future. Writes queued while
the worker is busy are applied together in one transaction (group commit), each in its
own savepoint. A batch that met a concurrent writer's deadlock (PostgreSQL) is run again
whole; a connection that died under a read or a batch is replaced and the work run again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from voicebot.store.backends import backend_for
from voicebot.store.schema import Connection

log = logging.getLogger(__name__)
T = TypeVar("T")

# A batch that a concurrent writer's locks aborted (PostgreSQL) is re-run this many times.
TRANSIENT_RETRIES = 3


class _Transient(Exception):
    """A batch was rolled back whole because one write met a deadlock; run it again."""


class ConnectionWorker:
    """One thread that owns the only connection: writes group-committed, reads and writes
    run again on a new connection when the database went away under them."""

    def __init__(self, target: str | Path) -> None:
        """`target`: a SQLite path (or ":memory:"), or a postgresql:// URL."""
        self._backend = backend_for(target)
        self.backend = self._backend.name
        self.path = self._backend.label  # where the records are, without a password
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callstore")
        self._closed = False
        self._pending: list[tuple[Callable[[Connection], Any], asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        try:
            self._conn: Connection = self._executor.submit(self._backend.connect).result()
        except BaseException:
            self._executor.shutdown(wait=True)
            raise

    # -- plumbing ---------------------------------------------------------------------

    async def _write(self, fn: Callable[[Connection], T]) -> T:
        """Queue a write; concurrent writes share one transaction (group commit).

        Each write runs in its own savepoint, so one failing write fails alone. Writes
        apply in the order they were queued. Sharing the commit matters less for SQLite
        than for the thread hand-offs it saves: under load every hop to the writer thread
        waits for the GIL, and a burst of webhooks would otherwise pay that per statement.
        """
        if self._closed:
            raise RuntimeError("call store is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((fn, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                outcomes = await loop.run_in_executor(self._executor, self._apply, batch)
            except BaseException as exc:  # the commit itself failed: nothing was written
                outcomes = [(False, exc)] * len(batch)
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _apply(self, batch: list[tuple[Callable[[Connection], Any], Any]]
               ) -> list[tuple[bool, Any]]:
        # If the server restarted or the network dropped under this batch, its transaction
        # never committed (a commit that did and whose answer was lost is the one case
        # this repeats), so it is run again on a new connection rather than lost.
        return self._again_if_dropped(lambda: self._apply_retrying(batch))

    def _again_if_dropped(self, work: Callable[[], T]) -> T:
        """On the store's thread: `work`, run again on a new connection if the one it ran
        on was found dead (before, or by the error it raised)."""
        if self._backend.is_broken(self._conn):
            self._reconnect()
        try:
            return work()
        except Exception:
            if not self._backend.is_broken(self._conn):
                raise
        self._reconnect()
        return work()

    def _reconnect(self) -> None:
        log.warning("records database connection lost; reconnecting to %s", self.path)
        try:
            self._conn.close()
        except Exception:  # already gone: closing is only tidying up
            pass
        self._conn = self._backend.connect()

    def _apply_retrying(self, batch: list[tuple[Callable[[Connection], Any], Any]]
                        ) -> list[tuple[bool, Any]]:
        for attempt in range(TRANSIENT_RETRIES):
            try:
                return self._apply_once(batch, last=attempt == TRANSIENT_RETRIES - 1)
            except _Transient:
                log.info("records batch of %d met a concurrent writer; retrying", len(batch))
        raise AssertionError("unreachable: the last attempt never raises _Transient")

    def _apply_once(self, batch: list[tuple[Callable[[Connection], Any], Any]],
                    last: bool) -> list[tuple[bool, Any]]:
        conn = self._conn
        outcomes: list[tuple[bool, Any]] = []
        conn.execute(self._backend.begin)
        try:
            for fn, _ in batch:
                conn.execute("SAVEPOINT w")
                try:
                    outcomes.append((True, fn(conn)))
                except Exception as exc:
                    conn.execute("ROLLBACK TO w")
                    if not last and self._backend.is_transient(exc):
                        # Our earlier writes in this batch still hold their locks: only a
                        # whole rollback lets the other writer through.
                        raise _Transient from exc
                    outcomes.append((False, exc))
                conn.execute("RELEASE w")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return outcomes

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise RuntimeError("call store is closed")
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._read, fn, *args)

    def _run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise RuntimeError("call store is closed")
        return self._executor.submit(self._read, fn, *args).result()

    def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """On the store's thread: a read that found the connection dead is read again."""
        return self._again_if_dropped(lambda: fn(*args))

    # -- lifecycle -------------------------------------------------------------------

    async def aclose(self) -> None:
        if self._closed:
            return
        if self._flusher is not None and not self._flusher.done():
            await self._flusher  # queued writes are records too
        await asyncio.get_running_loop().run_in_executor(self._executor, self._conn.close)
        self._closed = True
        self._executor.shutdown(wait=True)

    def close(self) -> None:
        """Synchronous close, for the CLI and scripts that never ran an event loop."""
        if self._closed:
            return
        self._executor.submit(self._conn.close).result()
        self._closed = True
        self._executor.shutdown(wait=True)
