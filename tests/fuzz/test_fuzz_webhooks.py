"""Fuzz POST /webhooks/ringover in-process: any body, any signature header. The answer is
a 2xx or a 4xx (503 for a full backlog), never an exception or a 500."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicebot.call.registry import CallRegistry
from voicebot.store.records import CallStore
from voicebot.testing.fuzz_corpus import mutate_json, mutate_text, webhook_seeds
from voicebot.web.webhooks_routes import make_webhook_router

KEY = "fuzz-webhook-key-0123456789abcdef0123456789abcdef0123456789abcdef"
PATH = "/webhooks/ringover"
ALLOWED = {200, 202, 400, 401, 413}
FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _client(key: str | None) -> Iterator[TestClient]:
    store = CallStore(":memory:")
    router = make_webhook_router(CallRegistry(store), store, key, allow_unsigned=key is None)
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:  # raises any exception that escapes the endpoint
        yield client
    store.close()


@pytest.fixture(scope="module")
def signed() -> Iterator[TestClient]:
    yield from _client(KEY)


@pytest.fixture(scope="module")
def unsigned() -> Iterator[TestClient]:
    yield from _client(None)


def sign(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, KEY, algorithm="HS512")


def post(client: TestClient, body: bytes, headers: dict[str, str] | None = None) -> int:
    response = client.post(PATH, content=body, headers={
        "content-type": "application/json", **(headers or {})})
    assert response.status_code in ALLOWED, (response.status_code, response.text, body[:200])
    return response.status_code


def body_of(seed: int) -> tuple[bytes, Any]:
    rng = random.Random(seed)
    obj = mutate_json(rng, rng.choice(webhook_seeds())) if rng.random() < 0.85 else (
        rng.choice(webhook_seeds()))
    text = json.dumps(obj)
    if rng.random() < 0.2:
        text = mutate_text(rng, text)
    return text.encode("utf-8", "surrogatepass"), obj


@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes_unsigned(unsigned: TestClient, body: bytes) -> None:
    post(unsigned, body)


@FUZZ
@given(st.integers(0, 2**32))
def test_mutated_envelopes_unsigned(unsigned: TestClient, seed: int) -> None:
    post(unsigned, body_of(seed)[0])


@FUZZ
@given(st.integers(0, 2**32), st.sampled_from(["payload", "flat", "bad", "expired", "none"]))
def test_mutated_envelopes_signed(signed: TestClient, seed: int, how: str) -> None:
    """Signed with the right key, so the body gets past the signature to the parser."""
    raw, obj = body_of(seed)
    now = int(time.time())
    if how == "payload":
        token = sign({"iat": now, "exp": now + 300, "url": "https://x" + PATH, "payload": obj})
    elif how == "flat" and isinstance(obj, dict):
        token = sign({"iat": now, **{k: v for k, v in obj.items() if k not in ("exp", "nbf")}})
    elif how == "expired":
        token = sign({"iat": now - 900, "exp": now - 600, "payload": obj})
    elif how == "bad":
        token = random.Random(seed).choice(["", "a.b.c", "Bearer x", sign({"payload": 1})[:-3]])
    else:
        token = jwt.encode({"payload": obj}, "", algorithm="none") if isinstance(
            obj, dict) else "x"
    status = post(signed, raw, {"X-Ringover-Webhook-Signature": token})
    if how in ("bad", "expired", "none"):
        assert status == 401


@FUZZ
@given(st.text(max_size=300))
def test_any_signature_header(signed: TestClient, token: str) -> None:
    body = json.dumps(webhook_seeds()[0]).encode()
    header = token.encode("ascii", "ignore").decode().replace("\r", "").replace("\n", "")
    assert post(signed, body, {"X-Ringover-Webhook-Signature": header}) == 401


def test_deeply_nested_body_is_refused_not_a_server_error(signed: TestClient) -> None:
    """json.loads raises RecursionError (not a ValueError) on deep nesting; the endpoint
    parses the body before it checks the signature, so anyone can send this."""
    assert post(signed, b"[" * 100_000) in (400, 401)


def test_lone_surrogate_is_refused_not_a_server_error(signed: TestClient) -> None:
    """"\\ud800" is valid JSON but not storable UTF-8: the store raises, and a 500 makes
    Ringover redeliver a poison message forever. It must be a 400."""
    body = webhook_seeds()[0]
    body = {**body, "data": {**body["data"], "from_number": "\ud800"}}
    now = int(time.time())
    token = sign({"iat": now, "exp": now + 300, "payload": body})
    assert post(signed, json.dumps(body).encode(), {"X-Ringover-Webhook-Signature": token}) == 400


def test_attempt_beyond_64_bits_is_refused_not_a_server_error(signed: TestClient) -> None:
    """`attempt` is an unbounded int to pydantic, but SQLite stores 64 bits: 2**64 made
    the store raise OverflowError, hence a 500 and endless redeliveries."""
    body = {**webhook_seeds()[0], "attempt": 2**64}
    now = int(time.time())
    token = sign({"iat": now, "exp": now + 300, "payload": body})
    post(signed, json.dumps(body).encode(), {"X-Ringover-Webhook-Signature": token})
