from __future__ import annotations

import asyncio
from typing import Any

from voicebot.call.registry import CallRegistry
from voicebot.store.records import CallStore


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Sink:
    def __init__(self, call_id: str, delay: float = 0.0) -> None:
        self.call_id = call_id
        self.delay = delay
        self.got: list[str] = []

    async def on_webhook(self, name: str, data: dict[str, Any]) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.got.append(name)


def test_pending_webhooks_expire_after_their_age() -> None:
    clock = Clock()
    reg = CallRegistry(max_pending_age_s=600, clock=clock)
    asyncio.run(reg.on_webhook("ringing", "old", {"from_number": "1"}))
    clock.now = 300
    asyncio.run(reg.on_webhook("ringing", "young", {}))
    clock.now = 601
    assert reg.attach("old", Sink("old")) == []  # too late: forgotten
    assert reg.call_data("old") == {}
    assert [n for n, _ in reg.attach("young", Sink("young"))] == ["ringing"]
    assert reg.dropped_events == 1


def test_pending_calls_are_capped_oldest_first() -> None:
    reg = CallRegistry(max_pending_calls=3, clock=Clock())

    async def flood() -> None:
        for i in range(5):
            await reg.on_webhook("ringing", f"c{i}", {"from_number": str(i)})

    asyncio.run(flood())
    assert reg.pending_calls() == 3
    assert reg.attach("c0", Sink("c0")) == [] and reg.attach("c1", Sink("c1")) == []
    assert len(reg.attach("c4", Sink("c4"))) == 1
    assert reg.call_data("c4") == {"from_number": "4"}


def test_events_per_pending_call_are_capped() -> None:
    reg = CallRegistry(max_events_per_call=2, clock=Clock())

    async def many() -> None:
        for name in ("ringing", "answered", "ivr_response_code"):
            await reg.on_webhook(name, "c", {})

    asyncio.run(many())
    assert [n for n, _ in reg.attach("c", Sink("c"))] == ["ringing", "answered"]
    assert reg.dropped_events == 1


def test_call_data_merges_later_webhooks_and_ignores_non_call_fields() -> None:
    reg = CallRegistry()
    sink = Sink("c")
    reg.attach("c", sink)

    async def two() -> None:
        await reg.on_webhook("ringing", "c", {"from_number": "336", "direction": "inbound",
                                              "transcription": "not a call field"})
        await reg.on_webhook("answered", "c", {"answered_time": 5, "from_number": None})

    asyncio.run(two())
    assert reg.call_data("c") == {"from_number": "336", "direction": "inbound",
                                  "answered_time": 5}
    assert sink.got == ["ringing", "answered"]
    assert reg.active_calls() == 1
    reg.detach("c")
    assert reg.active_calls() == 0 and reg.call_data("c") == {}


def test_a_stuck_session_does_not_stall_the_webhooks() -> None:
    reg = CallRegistry(deliver_timeout_s=0.01)
    slow = Sink("slow", delay=10)
    reg.attach("slow", slow)

    async def deliver() -> None:
        await reg.on_webhook("hangup", "slow", {})

    asyncio.run(asyncio.wait_for(deliver(), 2))
    assert slow.got == []


def test_webhooks_are_recorded_and_terminal_ones_close_unattended_calls() -> None:
    async def run() -> tuple[dict, dict]:
        store = CallStore(":memory:")
        reg = CallRegistry(store)
        reg.attach("live", Sink("live"))
        await reg.on_webhook("hangup", "live", {"call_id": "live", "from_number": "1"})
        await reg.on_webhook("voicemail", "gone", {"call_id": "gone"})
        live, gone = await store.aget_call("live"), await store.aget_call("gone")
        await store.aclose()
        return live, gone

    live, gone = asyncio.run(run())
    assert [e["kind"] for e in live["events"]] == ["webhook:hangup"]
    assert live["closed_at"] is None  # the session closes its own record
    assert live["meta"] == {"call_id": "live", "from_number": "1"}
    assert gone["close_reason"] == "voicemail"
