"""Call records: one row per call, its events, its turns, its webhooks.

In SQLite by default, in PostgreSQL when `store.url` names one (backends.py); the code
below is the same for both. Every statement runs on one worker thread that owns the only
connection, so writes are serialised without locks and the event loop only ever awaits a
future. Writes queued while the worker is busy are applied together in one transaction
(group commit). A store serves one event loop at a time. In SQLite, WAL mode keeps a
commit cheap (no fsync per write with synchronous=NORMAL) and lets the `voicebot calls`
command read while the server writes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from voicebot.store.backends import backend_for
from voicebot.store.schema import Connection
from voicebot.store.search import CallQuery, search_calls
from voicebot.store.turn import TurnRecord

log = logging.getLogger(__name__)
T = TypeVar("T")

def _dumps(value: Any) -> str:
    # Records must never fail on an odd value (a dataclass action, a numpy float).
    return json.dumps(value, default=_jsonable, ensure_ascii=False)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Actions are dataclasses (Say, Transfer...): keep their type, it is the point.
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__, **fields}
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


# A batch that a concurrent writer's locks aborted (PostgreSQL) is re-run this many times.
TRANSIENT_RETRIES = 3


class _Transient(Exception):
    """A batch was rolled back whole because one write met a deadlock; run it again."""


class CallStore:
    def __init__(self, target: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        """`target`: a SQLite path (or ":memory:"), or a postgresql:// URL."""
        self._backend = backend_for(target)
        self.backend = self._backend.name
        self.path = self._backend.label  # where the records are, without a password
        self._clock = clock
        # In a cluster, the worker id stamped on the deliveries this process acknowledges.
        self.worker: str | None = None
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
        if self._backend.is_broken(self._conn):
            self._reconnect()
        try:
            return self._apply_retrying(batch)
        except Exception:
            if not self._backend.is_broken(self._conn):
                raise
        # The server restarted or the network dropped under this batch. Its transaction
        # never committed (a commit that did and whose answer was lost is the one case
        # this repeats), so it is run again on a new connection rather than lost.
        self._reconnect()
        return self._apply_retrying(batch)

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
        if self._backend.is_broken(self._conn):
            self._reconnect()
        try:
            return fn(*args)
        except Exception:
            if not self._backend.is_broken(self._conn):
                raise
        self._reconnect()
        return fn(*args)

    def _ensure_call(self, conn: Connection, call_id: str) -> None:
        # An event for a call nobody opened (a webhook for a call that never reached the
        # bot) still gets a record rather than being dropped.
        conn.execute(
            "INSERT INTO calls (call_id, opened_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (call_id, self._clock()),
        )

    # -- writes ----------------------------------------------------------------------

    async def open_call(self, call_id: str, meta: dict[str, Any]) -> None:
        """Create the call's record, or merge `meta` into it (later non-null values win)."""
        await self._write(lambda c: self._merge_meta(c, call_id, meta))

    def _merge_meta(self, conn: Connection, call_id: str, meta: dict[str, Any]) -> None:
        self._ensure_call(conn, call_id)
        row = conn.execute("SELECT meta FROM calls WHERE call_id = ?" + self._backend.for_update,
                           (call_id,)).fetchone()
        merged = json.loads(row["meta"])
        merged.update({k: v for k, v in meta.items() if v is not None})
        conn.execute("UPDATE calls SET meta = ? WHERE call_id = ?", (_dumps(merged), call_id))

    async def add_event(self, call_id: str, kind: str, data: dict[str, Any]) -> None:
        await self._write(lambda c: self._insert_event(c, call_id, kind, data))

    def _insert_event(
        self, conn: Connection, call_id: str, kind: str, data: dict[str, Any]
    ) -> None:
        self._ensure_call(conn, call_id)
        conn.execute(
            "INSERT INTO events (call_id, at, kind, data) VALUES (?, ?, ?, ?)",
            (call_id, self._clock(), kind, _dumps(data)),
        )

    async def add_turn(self, call_id: str, turn: TurnRecord) -> None:
        await self._write(lambda c: self._insert_turn(c, call_id, turn))

    def _insert_turn(self, conn: Connection, call_id: str, turn: TurnRecord) -> None:
        self._ensure_call(conn, call_id)
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM turns WHERE call_id = ?", (call_id,)
        ).fetchone()
        confidence = turn.confidence
        conn.execute(
            """INSERT INTO turns (call_id, idx, at, transcript, intent, confidence, slots,
                                  actions, latencies, state, error, dtmf, no_input,
                                  speech_ms, entities)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                call_id,
                count + 1,
                self._clock(),
                turn.transcript,
                turn.intent,
                float(confidence) if confidence is not None else None,
                _dumps(turn.slots),
                _dumps(turn.actions),
                _dumps(turn.latencies),
                turn.state,
                None if turn.error is None else str(turn.error),
                turn.dtmf,
                int(bool(turn.no_input)),
                None if turn.speech_ms is None else int(turn.speech_ms),
                _dumps(turn.entities),
            ),
        )

    async def close_call(self, call_id: str, reason: str) -> None:
        """Mark the call closed. The first close wins: it is the one that ended the call."""
        await self._write(lambda c: self._close(c, call_id, reason))

    def _close(self, conn: Connection, call_id: str, reason: str) -> None:
        self._ensure_call(conn, call_id)
        conn.execute(
            "UPDATE calls SET closed_at = ?, close_reason = ? "
            "WHERE call_id = ? AND closed_at IS NULL",
            (self._clock(), reason, call_id),
        )

    async def mark_applied(self, key: str) -> None:
        """The delivery's effects are written (queued with them: one commit)."""
        await self._write(lambda c: c.execute(
            "UPDATE webhook_deliveries SET applied_at = ? WHERE delivery_key = ?",
            (self._clock(), key)))

    async def unapplied_webhooks(self, worker: str) -> list[tuple[str, dict[str, Any]]]:
        """Deliveries `worker` acknowledged but never applied: [(key, body)], oldest first."""

        def read() -> list[tuple[str, dict[str, Any]]]:
            rows = self._conn.execute(
                "SELECT delivery_key, body FROM webhook_deliveries WHERE worker = ? AND "
                "applied_at IS NULL AND call_id IS NOT NULL ORDER BY received_at",
                (worker,)).fetchall()
            return [(r[0], json.loads(r[1])) for r in rows]

        return await self._run(read)

    async def adopt_webhook(self, key: str, dead: str) -> bool:
        """Take over a delivery `dead` acknowledged and never applied; True for exactly one
        taker, so two survivors sweeping the same worker cannot both apply it."""

        def write(conn: Connection) -> bool:
            cur = conn.execute(
                "UPDATE webhook_deliveries SET worker = ? WHERE delivery_key = ? "
                "AND worker = ? AND applied_at IS NULL", (self.worker, key, dead))
            return bool(cur.rowcount)

        return await self._write(write)

    async def reopen_call(self, call_id: str, closed_as: str, data: dict[str, Any]) -> bool:
        """Undo a close that proved wrong: only if the call was closed as `closed_as`
        (a worker given up for dead whose calls went on). True if it was reopened."""

        def write(conn: Connection) -> bool:
            cur = conn.execute(
                "UPDATE calls SET closed_at = NULL, close_reason = NULL "
                "WHERE call_id = ? AND close_reason = ?", (call_id, closed_as))
            if cur.rowcount:
                self._insert_event(conn, call_id, "reopened", {"was": closed_as, **data})
            return bool(cur.rowcount)

        return await self._write(write)

    async def record_webhook(
        self,
        key: str,
        *,
        resource: str,
        event: str,
        call_id: str | None,
        attempt: int,
        known: bool,
        body: dict[str, Any],
    ) -> bool:
        """Store a delivery; True if it is new, False if this delivery was seen before."""

        def write(conn: Connection) -> bool:
            cur = conn.execute(
                """INSERT INTO webhook_deliveries
                   (delivery_key, received_at, resource, event, call_id, attempt, known, body,
                    worker)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
                (key, self._clock(), resource, event, call_id, attempt, int(known), _dumps(body),
                 self.worker),
            )
            if cur.rowcount == 0 and call_id is not None:
                # The first delivery may still be queued for processing: the row may not
                # exist yet, and the count must not depend on that race.
                self._ensure_call(conn, call_id)
                conn.execute(
                    "UPDATE calls SET webhook_retries = webhook_retries + 1 WHERE call_id = ?",
                    (call_id,),
                )
            return bool(cur.rowcount == 1)

        return await self._write(write)

    # -- reads -----------------------------------------------------------------------

    def list_calls(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._run_sync(self._list_calls, limit)

    def get_call(self, call_id: str) -> dict[str, Any] | None:
        return self._run_sync(self._get_call, call_id)

    async def alist_calls(self, limit: int = 50) -> list[dict[str, Any]]:
        return await self._run(self._list_calls, limit)

    async def aget_call(self, call_id: str) -> dict[str, Any] | None:
        return await self._run(self._get_call, call_id)

    async def asearch_calls(self, query: CallQuery) -> list[dict[str, Any]]:
        """Calls matching `query`, newest first (voicebot/store/search.py)."""
        return await self._run(lambda: search_calls(self._conn, query, self._call_row))

    def count_webhooks(self, *, call_id: str | None = None) -> int:
        def count() -> int:
            if call_id is None:
                row = self._conn.execute("SELECT COUNT(*) FROM webhook_deliveries").fetchone()
            else:
                row = self._conn.execute(
                    "SELECT COUNT(*) FROM webhook_deliveries WHERE call_id = ?", (call_id,)
                ).fetchone()
            return int(row[0])

        return self._run_sync(count)

    def _list_calls(self, limit: int) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            """SELECT c.*,
                      (SELECT COUNT(*) FROM turns t WHERE t.call_id = c.call_id) AS turns,
                      (SELECT COUNT(*) FROM events e WHERE e.call_id = c.call_id) AS events
               FROM calls c ORDER BY c.opened_at DESC, """ + self._backend.newest_tiebreak
            + " LIMIT ?",
            (max(0, int(limit)),),
        ).fetchall()
        return [self._call_row(r) | {"turns": r["turns"], "events": r["events"]} for r in rows]

    def _get_call(self, call_id: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT * FROM calls WHERE call_id = ?", (call_id,)).fetchone()
        if row is None:
            return None
        events = self._conn.execute(
            "SELECT at, kind, data FROM events WHERE call_id = ? ORDER BY id", (call_id,)
        ).fetchall()
        turns = self._conn.execute(
            "SELECT * FROM turns WHERE call_id = ? ORDER BY idx", (call_id,)
        ).fetchall()
        return self._call_row(row) | {
            "events": [
                {"at": e["at"], "kind": e["kind"], "data": json.loads(e["data"])} for e in events
            ],
            "turns": [
                {
                    "index": t["idx"],
                    "at": t["at"],
                    "transcript": t["transcript"],
                    "intent": t["intent"],
                    "confidence": t["confidence"],
                    "slots": json.loads(t["slots"]),
                    "actions": json.loads(t["actions"]),
                    "latencies": json.loads(t["latencies"]),
                    "state": t["state"],
                    "error": t["error"],
                    "dtmf": t["dtmf"],
                    "no_input": bool(t["no_input"]),
                    "speech_ms": t["speech_ms"],
                    "entities": json.loads(t["entities"]),
                }
                for t in turns
            ],
        }

    @staticmethod
    def _call_row(row: Any) -> dict[str, Any]:
        return {
            "call_id": row["call_id"],
            "opened_at": row["opened_at"],
            "closed_at": row["closed_at"],
            "close_reason": row["close_reason"],
            "webhook_retries": row["webhook_retries"],
            "meta": json.loads(row["meta"]),
        }

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
