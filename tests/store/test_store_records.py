from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.store.conftest import Backend
from voicebot.store.records import CallStore
from voicebot.store.schema import MIGRATIONS, SCHEMA_VERSION, SchemaError, migrate
from voicebot.store.turn import TurnRecord
from voicebot.testing.datastores import PG_BASE, postgres_schema


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


@dataclass(frozen=True, slots=True)
class Say:
    text: str


def test_a_whole_call_is_recorded_and_read_back(backend: Backend) -> None:
    async def run() -> dict:
        store = CallStore(backend.url, clock=Clock())
        await store.open_call("c1", {"from_number": "336", "flow": "demo"})
        await store.open_call("c1", {"to_number": "331", "flow": None})  # idempotent merge
        await store.add_event("c1", "media_start", {"codec": "PCMU"})
        await store.add_turn("c1", TurnRecord(**{
            "transcript": "I want billing", "intent": "billing", "confidence": 0.87,
            "slots": {"account": "123"}, "actions": [Say("One moment"), "transfer"],
            "latencies": {"stt": 120.5, "nlu": 3}, "state": "menu", "error": None,
        }))
        await store.add_turn("c1", TurnRecord(transcript="", error=RuntimeError("stt down")))
        await store.add_event("c1", "media_stop", {})
        await store.close_call("c1", "hangup")
        await store.close_call("c1", "media_stop")  # first close wins
        record = await store.aget_call("c1")
        await store.aclose()
        return record

    record = asyncio.run(run())
    assert record["meta"] == {"from_number": "336", "flow": "demo", "to_number": "331"}
    assert [e["kind"] for e in record["events"]] == ["media_start", "media_stop"]
    assert record["events"][0]["data"] == {"codec": "PCMU"}
    first, second = record["turns"]
    assert (first["index"], second["index"]) == (1, 2)
    assert first["intent"] == "billing" and first["confidence"] == pytest.approx(0.87)
    assert first["actions"] == [{"type": "say", "text": "One moment"}, "transfer"]
    assert first["latencies"] == {"stt": 120.5, "nlu": 3}
    assert first["slots"] == {"account": "123"} and first["state"] == "menu"
    assert second["error"] == "stt down" and second["intent"] is None
    assert record["close_reason"] == "hangup"
    assert record["opened_at"] < record["closed_at"]


def test_events_for_an_unopened_call_still_land(backend: Backend) -> None:
    store = CallStore(backend.url)
    asyncio.run(store.add_event("ghost", "error", {"why": "x"}))
    assert store.get_call("ghost")["events"][0]["kind"] == "error"
    assert store.get_call("nope") is None
    store.close()


def test_list_is_newest_first_with_counts_and_a_limit(backend: Backend) -> None:
    async def run(store: CallStore) -> None:
        for i in range(5):
            await store.open_call(f"c{i}", {"i": i})
            await store.add_event(f"c{i}", "media_start", {})
        await store.add_turn("c4", TurnRecord(transcript="hi"))

    store = CallStore(backend.url, clock=Clock())
    asyncio.run(run(store))
    calls = store.list_calls(limit=3)
    assert [c["call_id"] for c in calls] == ["c4", "c3", "c2"]
    assert calls[0]["turns"] == 1 and calls[0]["events"] == 1 and calls[1]["turns"] == 0
    store.close()


def test_concurrent_writers_lose_nothing_and_keep_turn_order(backend: Backend) -> None:
    async def run(store: CallStore) -> None:
        await asyncio.gather(*(
            store.add_turn(f"c{i % 7}", TurnRecord(transcript=str(i))) for i in range(700)
        ))

    store = CallStore(backend.url)
    asyncio.run(run(store))
    for c in range(7):
        turns = store.get_call(f"c{c}")["turns"]
        assert [t["index"] for t in turns] == list(range(1, 101))
    store.close()


def test_records_survive_a_reopen(backend: Backend) -> None:
    store = CallStore(backend.url)
    asyncio.run(store.open_call("c1", {"a": 1}))
    store.close()
    again = CallStore(backend.url)
    assert again.get_call("c1")["meta"] == {"a": 1}
    again.close()
    conn = backend.raw()
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == (
        SCHEMA_VERSION)
    if backend.name == "sqlite":  # readers beside the writer need WAL
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_version_1_database_is_migrated_forward(backend: Backend) -> None:
    conn = backend.raw()
    assert migrate(conn, target=1, **backend.migrate_options) == 0
    conn.execute("INSERT INTO calls (call_id, opened_at, meta) VALUES ('old', 1, '{}')")
    conn.close()

    store = CallStore(backend.url)
    record = store.get_call("old")
    assert record["webhook_retries"] == 0  # column added by migration 2
    assert asyncio.run(store.record_webhook(
        "k", resource="call", event="ringing", call_id="old", attempt=1, known=True, body={}))
    store.close()


def test_a_failed_migration_leaves_the_previous_version(backend: Backend) -> None:
    conn = backend.raw()
    migrate(conn, target=1, **backend.migrate_options)
    # Step 2's last statement adds this column: it fails after the table was created.
    conn.execute("ALTER TABLE calls ADD COLUMN webhook_retries INTEGER")
    with pytest.raises(backend.errors, match="(?i)duplicate column|already exists"):
        migrate(conn, **backend.migrate_options)
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 1
    assert "webhook_deliveries" not in backend.tables(conn)
    conn.close()


def test_a_newer_database_is_refused(backend: Backend) -> None:
    conn = backend.raw()
    migrate(conn, **backend.migrate_options)
    conn.execute("INSERT INTO schema_version VALUES (?)", (len(MIGRATIONS) + 1,))
    conn.close()
    with pytest.raises(SchemaError, match="newer"):
        CallStore(backend.url)


def test_webhook_deliveries_are_deduplicated_by_key(backend: Backend) -> None:
    async def run() -> tuple[list[bool], dict]:
        store = CallStore(backend.url)
        await store.open_call("c", {})
        seen = [
            await store.record_webhook(k, resource="call", event="ringing", call_id="c",
                                       attempt=a, known=True, body={"a": a})
            for k, a in (("k1", 1), ("k1", 2), ("k2", 1), ("k1", 3))
        ]
        record = await store.aget_call("c")
        await store.aclose()
        return seen, record

    seen, record = asyncio.run(run())
    assert seen == [True, False, True, False]
    assert record["webhook_retries"] == 2


def test_a_closed_store_refuses_writes(backend: Backend) -> None:
    store = CallStore(backend.url)
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(store.add_event("c", "x", {}))


def test_one_failing_write_in_a_shared_commit_fails_alone(backend: Backend) -> None:
    async def run() -> tuple[list, dict]:
        store = CallStore(backend.url)
        results = await asyncio.gather(
            store.add_event("c", "media_start", {}),
            store.add_turn("c", TurnRecord(**{"transcript": "x", "confidence": "not a number"})),
            store.add_turn("c", TurnRecord(**{"transcript": "y", "confidence": 0.5})),
            store.add_event("c", "media_stop", {}),
            return_exceptions=True,
        )
        record = await store.aget_call("c")
        await store.aclose()
        return results, record

    results, record = asyncio.run(run())
    assert isinstance(results[1], ValueError)
    assert [r for i, r in enumerate(results) if i != 1] == [None, None, None]
    assert [e["kind"] for e in record["events"]] == ["media_start", "media_stop"]
    assert [(t["index"], t["transcript"]) for t in record["turns"]] == [(1, "y")]


def test_aclose_applies_queued_writes_first(backend: Backend) -> None:
    async def run() -> None:
        store = CallStore(backend.url)
        writes = [asyncio.ensure_future(store.add_event("c", f"e{i}", {})) for i in range(50)]
        await asyncio.sleep(0)
        await store.aclose()
        await asyncio.gather(*writes)

    asyncio.run(run())
    again = CallStore(backend.url)
    assert len(again.get_call("c")["events"]) == 50
    again.close()


def test_two_workers_sharing_one_store_apply_each_delivery_once(backend: Backend) -> None:
    """Two stores on one database stand for two workers: a delivery key is new exactly
    once across both, and metadata merged by both at once loses nothing."""

    async def run() -> tuple[list[bool], dict]:
        a, b = CallStore(backend.url), CallStore(backend.url)
        try:
            async def deliver(store: CallStore, i: int) -> bool:
                return await store.record_webhook(
                    f"k{i % 50}", resource="call", event="ringing", call_id=f"c{i % 5}",
                    attempt=1, known=True, body={"i": i})

            seen = await asyncio.gather(
                *(deliver(a if i % 2 else b, i) for i in range(200)),
                *(s.open_call("c0", {f"from_{n}_{j}": j})
                  for j in range(20) for n, s in (("a", a), ("b", b))),
            )
            return [x for x in seen if isinstance(x, bool)], await a.aget_call("c0")
        finally:
            await a.aclose()
            await b.aclose()

    seen, record = asyncio.run(run())
    assert sum(seen) == 50
    assert len(record["meta"]) == 40
    store = CallStore(backend.url)
    assert store.count_webhooks() == 50
    store.close()


def test_every_field_of_a_turn_is_stored(backend: Backend) -> None:
    # dtmf, no_input, speech_ms and entities were dropped before schema version 4.
    async def run(store: CallStore) -> dict:
        await store.add_turn("t", TurnRecord(transcript="two large pizzas", speech_ms=1380,
                                             intent="order", confidence=0.8,
                                             entities={"size": "large", "count": 2}))
        await store.add_turn("t", TurnRecord(dtmf="5"))
        await store.add_turn("t", TurnRecord(no_input=True))
        record = await store.aget_call("t")
        await store.aclose()
        return record

    spoken, key, silence = asyncio.run(run(CallStore(backend.url)))["turns"]
    assert spoken["speech_ms"] == 1380 and spoken["entities"] == {"size": "large", "count": 2}
    assert spoken["dtmf"] is None and spoken["no_input"] is False
    assert key["dtmf"] == "5" and key["transcript"] is None and key["speech_ms"] is None
    assert silence["no_input"] is True and silence["entities"] == {}


def test_an_older_database_gains_the_turn_columns(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, target=3)
    conn.execute("INSERT INTO calls (call_id, opened_at) VALUES ('old', 1)")
    conn.execute("INSERT INTO turns (call_id, idx, at, transcript) VALUES ('old', 1, 1, 'hi')")
    conn.close()
    store = CallStore(str(path))
    turn = store.get_call("old")["turns"][0]
    store.close()
    assert turn["transcript"] == "hi" and turn["dtmf"] is None and turn["no_input"] is False
    assert turn["entities"] == {}

def test_a_lost_postgresql_connection_is_replaced_and_nothing_is_lost() -> None:
    """The server ends the store's session (as a restart or a dropped network would)
    between writes: the next write reconnects and runs; reads work again too. (SQLite
    has no connection to lose: this one is PostgreSQL's alone.)"""

    def kill_session(store: CallStore) -> None:
        pid = store._conn.raw.info.backend_pid  # type: ignore[attr-defined]
        with psycopg.connect(PG_BASE, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    async def run(store: CallStore) -> dict:
        await store.add_event("c", "before", {})
        kill_session(store)
        await asyncio.gather(*(store.add_event("c", f"after{i}", {}) for i in range(5)))
        kill_session(store)
        return await store.aget_call("c")

    with postgres_schema() as url:
        store = CallStore(url)
        record = asyncio.run(run(store))
        store.close()
    assert [e["kind"] for e in record["events"]] == ["before"] + [f"after{i}" for i in range(5)]


def test_deliveries_carry_their_worker_until_applied(backend: Backend) -> None:
    async def run() -> tuple[list, list, list, list, list]:
        store = CallStore(backend.url)
        store.worker = "w1"
        for key in ("k1", "k2"):
            await store.record_webhook(key, resource="call", event="ringing", call_id="c",
                                       attempt=1, known=True, body={"key": key})
        await store.record_webhook("k3", resource="call", event="x", call_id=None,
                                   attempt=1, known=False, body={})
        before = await store.unapplied_webhooks("w1")
        await store.mark_applied("k1")
        after = await store.unapplied_webhooks("w1")
        other = await store.unapplied_webhooks("w2")
        store.worker = "w2"  # w1 died: w2 takes k2 over, once
        adopted = [await store.adopt_webhook("k2", "w1"), await store.adopt_webhook("k2", "w1")]
        moved = await store.unapplied_webhooks("w2")
        await store.aclose()
        return before, after, other, adopted, moved

    before, after, other, adopted, moved = asyncio.run(run())
    assert adopted == [True, False] and moved == [("k2", {"key": "k2"})]
    # A delivery with no call (k3) has nothing to apply to; others wait until applied.
    assert before == [("k1", {"key": "k1"}), ("k2", {"key": "k2"})]
    assert after == [("k2", {"key": "k2"})] and other == []
