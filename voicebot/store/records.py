"""Call records: one row per call, its events, its turns, its webhooks.

In SQLite by default, in PostgreSQL when `store.url` names one (backends.py); the code
below is the same for both. Every statement runs on the one thread that owns the only
connection, writes group-committed (connection_worker.py). A store serves one event loop
at a time. In SQLite, WAL mode keeps a commit cheap (no fsync per write with
synchronous=NORMAL) and lets the `voicebot calls` command read while the server writes.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from voicebot.store.connection_worker import ConnectionWorker
from voicebot.store.schema import Connection
from voicebot.store.search import CallQuery, search_calls
from voicebot.store.turn import TurnRecord


def _dumps(value: Any) -> str:
    # Records must never fail on an odd value (a dataclass action, a numpy float).
    return json.dumps(value, default=_jsonable, ensure_ascii=False)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Actions are dataclasses (Say, Transfer...): keep their type, it is the point,
        # spelled as a turn's record spells it (voicebot.call.turns.describe: "say"), which
        # is what the console and `voicebot calls show` read.
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__.lower(), **fields}
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


class CallStore(ConnectionWorker):
    """Call records: calls, their events and turns, and webhook deliveries."""

    def __init__(self, target: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        """`target`: a SQLite path (or ":memory:"), or a postgresql:// URL."""
        self._clock = clock
        # In a cluster, the worker id stamped on the deliveries this process acknowledges.
        self.worker: str | None = None
        super().__init__(target)

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
