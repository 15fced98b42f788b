"""Signing helpers shared by the webhook tests: tokens shaped like Ringover's."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import jwt

KEY = "test-webhook-key-0123456789abcdef0123456789abcdef0123456789abcdef"
URL = "https://bot.example.com/webhooks/ringover"


def sign(
    body: dict[str, Any] | None,
    key: str = KEY,
    *,
    exp_in: float | None = 300,
    url: str | None = URL,
    algorithm: str = "HS512",
    extra: dict[str, Any] | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"iat": now}
    if exp_in is not None:
        claims["exp"] = now + exp_in
    if url is not None:
        claims["url"] = url
    if body is not None:
        claims["payload"] = body
    claims.update(extra or {})
    return jwt.encode(claims, key, algorithm=algorithm)


def call_event(event: str, call_id: str = "9058220947198958001", **data: Any) -> dict[str, Any]:
    return {
        "resource": "call",
        "event": event,
        "timestamp": 1700000000.5,
        "attempt": 1,
        "data": {
            "id": "cdr-1",
            "call_id": call_id,
            "direction": "inbound",
            "from_number": "33600000000",
            "to_number": "33184800000",
            **data,
        },
    }


def post_signed(http: str, body: dict[str, Any], timeout: float = 10) -> tuple[int, Any]:
    """POST a signed webhook to a running server: (status, decoded JSON answer)."""
    request = urllib.request.Request(
        http + "/webhooks/ringover", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json",
                 "X-Ringover-Webhook-Signature": sign(body)},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read() or b"null")
