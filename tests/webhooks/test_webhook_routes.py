"""The webhook endpoint end to end in-process: signature, dedupe, correlation, records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from webhook_helpers import KEY, call_event, sign

from voicebot.call.registry import CallRegistry
from voicebot.store.records import CallStore
from voicebot.web.webhooks_routes import make_webhook_router

CALL = "9058220947198958001"


class FakeSession:
    """Stands in for the call session: records webhooks, and on hangup ends and closes."""

    def __init__(self, call_id: str, store: CallStore) -> None:
        self.call_id = call_id
        self.store = store
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.ended = False

    async def on_webhook(self, name: str, data: dict[str, Any]) -> None:
        self.received.append((name, data))
        if name == "hangup":
            self.ended = True
            await self.store.close_call(self.call_id, "hangup")


class Bench:
    def __init__(self, key: str | None = KEY, allow_unsigned: bool = False) -> None:
        self.store = CallStore(":memory:")
        self.registry = CallRegistry(self.store)
        self.router = make_webhook_router(self.registry, self.store, key,
                                          allow_unsigned=allow_unsigned)
        app = FastAPI()
        app.include_router(self.router)
        self.client = TestClient(app)

    def post(self, body: Any, token: str | None = "sign", **headers: str) -> Any:
        if token == "sign":
            token = sign(body)
        if token is not None:
            headers["X-Ringover-Webhook-Signature"] = token
        return self.client.post("/webhooks/ringover", json=body, headers=headers)

    def settle(self) -> None:
        self.client.portal.call(self.router.processor.drain)

    def attach(self, session: FakeSession) -> list[tuple[str, dict[str, Any]]]:
        async def attach() -> list[tuple[str, dict[str, Any]]]:
            return self.registry.attach(session.call_id, session)

        return self.client.portal.call(attach)

    def deliver_backlog(self, session: FakeSession, events: list[tuple[str, dict]]) -> None:
        # What the real session does with what attach() returned.
        async def replay() -> None:
            for name, data in events:
                await session.on_webhook(name, data)

        self.client.portal.call(replay)


@pytest.fixture
def bench() -> Iterator[Bench]:
    b = Bench()
    with b.client:
        yield b
    b.store.close()


def test_signed_webhook_is_acknowledged_and_recorded(bench: Bench) -> None:
    response = bench.post(call_event("ringing"))
    assert response.status_code == 202, response.text
    bench.settle()
    record = bench.store.get_call(CALL)
    assert record is not None
    assert [e["kind"] for e in record["events"]] == ["webhook:ringing"]
    assert record["meta"]["from_number"] == "33600000000"
    assert bench.registry.call_data(CALL)["to_number"] == "33184800000"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "missing"),
        (sign(call_event("ringing"), key="x" * 64), "invalid"),
        (sign(call_event("ringing"), exp_in=-3600), "expired"),
        ("garbage", "invalid"),
    ],
)
def test_bad_signatures_get_401_and_nothing_is_processed(
    bench: Bench, token: str | None, reason: str
) -> None:
    response = bench.post(call_event("ringing"), token=token)
    assert response.status_code == 401
    assert reason in response.json()["detail"]
    bench.settle()
    assert bench.store.count_webhooks() == 0
    assert bench.store.get_call(CALL) is None
    assert bench.registry.pending_calls() == 0


def test_repeated_delivery_is_applied_once(bench: Bench) -> None:
    session = FakeSession(CALL, bench.store)
    assert bench.attach(session) == []
    first = call_event("answered")
    retries = [{**first, "attempt": n} for n in (2, 3)]
    assert bench.post(first).status_code == 202
    for retry in retries:
        response = bench.post(retry)
        assert response.status_code == 200 and response.json()["status"] == "duplicate"
    bench.settle()
    assert [name for name, _ in session.received] == ["answered"]
    record = bench.store.get_call(CALL)
    assert [e["kind"] for e in record["events"]] == ["webhook:answered"]
    assert record["webhook_retries"] == 2
    assert bench.store.count_webhooks() == 1


def test_webhook_before_media_is_handed_over_on_attach(bench: Bench) -> None:
    bench.post(call_event("ringing"))
    bench.post(call_event("answered"))
    bench.settle()
    session = FakeSession(CALL, bench.store)
    backlog = bench.attach(session)
    assert [name for name, _ in backlog] == ["ringing", "answered"]
    assert bench.registry.call_data(CALL)["from_number"] == "33600000000"
    bench.deliver_backlog(session, backlog)
    # Later webhooks go straight to the session.
    bench.post(call_event("hangup", duration_in_seconds=12))
    bench.settle()
    assert [name for name, _ in session.received] == ["ringing", "answered", "hangup"]
    assert session.ended


def test_media_before_webhook_goes_straight_to_the_session(bench: Bench) -> None:
    session = FakeSession(CALL, bench.store)
    assert bench.attach(session) == []
    bench.post(call_event("answered"))
    bench.settle()
    assert session.received == [("answered", session.received[0][1])]
    assert session.received[0][1]["call_id"] == CALL
    assert bench.registry.pending_calls() == 0


def test_hangup_reaches_the_session_which_closes_the_record(bench: Bench) -> None:
    session = FakeSession(CALL, bench.store)
    bench.attach(session)
    bench.post(call_event("hangup", duration_in_seconds=31, reason="caller"))
    bench.settle()
    assert session.ended
    record = bench.store.get_call(CALL)
    assert record["closed_at"] is not None and record["close_reason"] == "hangup"


def test_a_missed_call_without_media_is_closed_by_the_webhook(bench: Bench) -> None:
    bench.post(call_event("missed"))
    bench.settle()
    record = bench.store.get_call(CALL)
    assert record["close_reason"] == "missed"


def test_alias_webhook_is_normalised_before_the_session_sees_it(bench: Bench) -> None:
    session = FakeSession("abc", bench.store)
    bench.attach(session)
    body = {"event": "call_ended", "call_id": "abc", "caller_number": "+33600000000",
            "receiver_number": "+33184800000", "timestamp": "2024-01-01T10:00:00Z"}
    assert bench.post(body).status_code == 202
    bench.settle()
    assert session.received[0][0] == "hangup"
    assert session.received[0][1]["from_number"] == "+33600000000"


def test_unknown_events_are_stored_and_acknowledged(bench: Bench) -> None:
    body = {"resource": "sms", "event": "received", "timestamp": 1, "data": {"id": "m1"}}
    assert bench.post(body).status_code == 202
    body2 = {"resource": "call", "event": "brand_new_event", "data": {"call_id": "c9"}}
    assert bench.post(body2).status_code == 202
    bench.settle()
    assert bench.store.count_webhooks() == 2
    assert [e["kind"] for e in bench.store.get_call("c9")["events"]] == [
        "webhook:brand_new_event"]


def test_signed_garbage_is_a_400(bench: Bench) -> None:
    response = bench.post({"no_event": True})
    assert response.status_code == 400
    assert bench.store.count_webhooks() == 0


def test_signed_body_must_be_the_body_sent(bench: Bench) -> None:
    token = sign(call_event("ringing"))
    response = bench.post(call_event("hangup"), token=token)
    assert response.status_code == 401


def test_without_a_key_webhooks_are_refused_unless_allowed() -> None:
    refused = Bench(key=None)
    with refused.client:
        response = refused.post(call_event("ringing"), token=None)
        assert response.status_code == 503
        assert "webhook key" in response.json()["detail"]
    refused.store.close()

    allowed = Bench(key=None, allow_unsigned=True)
    with allowed.client:
        assert allowed.post(call_event("ringing"), token=None).status_code == 202
        allowed.settle()
        assert allowed.store.count_webhooks() == 1
    allowed.store.close()


def test_a_full_backlog_refuses_before_storing() -> None:
    b = Bench()
    b.router.processor.max_backlog = 0
    with b.client:
        assert b.post(call_event("ringing")).status_code == 503
        # Not stored, so Ringover's retry will be taken, not swallowed as a duplicate.
        assert b.store.count_webhooks() == 0
    b.store.close()
