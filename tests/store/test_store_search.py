"""The console's search: by number, date and outcome, on both store backends."""

from __future__ import annotations

import asyncio

import pytest

from tests.store.conftest import Backend
from voicebot.store.records import CallStore
from voicebot.store.search import CallQuery


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def _fill(store: CallStore, clock: Clock) -> None:
    calls = [
        ("a", "+33612345678", "+33100000001", "transfer", 0),
        ("b", "+33699999999", "+33100000001", "hangup", 3600),
        ("c", "+447700900123", "+33100000002", "error", 7200),
        ("d", "+33612345678", "+33100000002", None, 86400),  # still open: no outcome yet
    ]
    for call_id, caller, called, outcome, offset in calls:
        clock.now = 1_000_000.0 + offset
        await store.open_call(call_id, {"from_number": caller, "to_number": called})
        if outcome is not None:
            await store.open_call(call_id, {"outcome": outcome})
            await store.close_call(call_id, "stop")


def _ids(store: CallStore, **query: object) -> list[str]:
    rows = asyncio.run(store.asearch_calls(CallQuery(**query)))  # type: ignore[arg-type]
    return [r["call_id"] for r in rows]


def test_search_by_number_date_and_outcome(backend: Backend) -> None:
    clock = Clock()
    store = CallStore(backend.url, clock=clock)
    try:
        asyncio.run(_fill(store, clock))
        assert _ids(store) == ["d", "c", "b", "a"]
        # Digits anywhere in either number; spaces and a leading + do not matter.
        assert _ids(store, number="06 12 34") == []
        assert _ids(store, number="612 34") == ["d", "a"]
        assert _ids(store, number="+33100000002") == ["d", "c"]
        assert _ids(store, outcome="transfer") == ["a"]
        assert _ids(store, outcome="error") == ["c"]
        assert _ids(store, since=1_000_000.0 + 3000, until=1_000_000.0 + 8000) == ["c", "b"]
        assert _ids(store, number="33", limit=2) == ["d", "c"]
        assert _ids(store, number="612", outcome="hangup") == []
    finally:
        store.close()


def test_a_bad_query_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="outcome must be one of"):
        CallQuery(outcome="dropped")
    with pytest.raises(ValueError, match="at least one digit"):
        CallQuery(number="alice")
