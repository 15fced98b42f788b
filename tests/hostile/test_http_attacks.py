"""Issue 12 through the real server: logs that lied and leaked (finding 4), webhook
bodies read whole before any check and an envelope token replayed with a nonce (5), and
the smaller ones (6): a "\\ud800" call id, /debug/tasks without auth, data nested 350
deep breaking GET /calls. `voicebot serve` runs at log level info, so its access log and
every line a peer can influence are in the log file the tests read."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import jwt
import pytest
import websockets

from tests.faults.helpers import TOKEN, RawCaller, media_url, wait_until
from tests.webhooks.webhook_helpers import KEY, call_event, sign
from voicebot.testing.server import running_server

pytestmark = pytest.mark.e2e

FLOW = Path(__file__).parents[1] / "faults" / "flows" / "faults.yaml"
RECORDS = "records-secret-91c2"
FORGED = "2026-01-01 00:00:00,000 INFO voicebot.app [admin] FORGED: token accepted for root"


@pytest.fixture(scope="module")
def server():
    with running_server(FLOW, log_level="info", server={"media_token": TOKEN},
                        webhooks={"key": KEY}, records={"token": RECORDS}) as srv:
        yield srv


def _get(srv: dict[str, Any], path: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(srv["http"] + path)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _raw_http(srv: dict[str, Any], head: str, body: bytes = b"", chunks: int = 0) -> str:
    """Send a request by hand (headers, then `body` `chunks` times); the status line back."""
    host, port = srv["http"].removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as s:
        s.sendall(head.encode())
        try:
            for _ in range(chunks):
                s.sendall(body)
        except OSError:  # the server answered and closed before taking it all: the point
            pass
        return s.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


async def _call(url: str, start: dict[str, Any], seconds: float,
                during: Any = None) -> RawCaller:
    async with websockets.connect(url) as ws:
        caller = RawCaller(ws)
        receiver = asyncio.create_task(caller.receive())
        await ws.send(json.dumps(start))
        await caller.silence(seconds)
        if during is not None:
            await asyncio.to_thread(during)
        await ws.close()
        await receiver
    return caller


def test_a_call_id_cannot_forge_a_log_line_or_drive_the_terminal(server) -> None:
    call_id = "c1\n" + FORGED + "\x1b[2J\x07\x00"
    asyncio.run(_call(media_url(server), {"event": "start", "call_id": call_id}, 1.0))
    text = server["log"].read_text()
    assert not any(line.startswith(FORGED[:30]) for line in text.splitlines())
    assert "FORGED" in text  # the line is there, on one line, escaped
    assert not set("\x1b\x07\x00") & set(text)


def test_tokens_are_redacted_from_the_access_log(server) -> None:
    assert _get(server, f"/calls?token={RECORDS}")[0] == 200
    assert _get(server, "/calls?token=wrong-guess-77")[0] == 401
    asyncio.run(_call(media_url(server), {"event": "start", "call_id": "redact"}, 0.5))
    text = server["log"].read_text()
    assert "GET /calls?token=<redacted>" in text  # uvicorn's access log goes through ours
    for secret in (RECORDS, TOKEN, "wrong-guess-77"):
        assert secret not in text


def test_a_huge_declared_webhook_body_is_refused_before_it_is_read(server) -> None:
    head = ("POST /webhooks/ringover HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 300000000\r\n\r\n")
    assert _raw_http(server, head).startswith("HTTP/1.1 413")


def test_a_chunked_webhook_body_is_cut_at_the_limit(server) -> None:
    head = ("POST /webhooks/ringover HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (1 << 18, b" " * (1 << 18))
    assert _raw_http(server, head, chunk, chunks=40).startswith("HTTP/1.1 413")  # 10 MiB


def _post(srv: dict[str, Any], body: bytes, token: str) -> int:
    request = urllib.request.Request(srv["http"] + "/webhooks/ringover", data=body, headers={
        "Content-Type": "application/json", "X-Ringover-Webhook-Signature": token})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_flat_envelope_token_cannot_carry_a_body_with_a_nonce(server) -> None:
    envelope = call_event("ringing", call_id="replay-1")
    token = jwt.encode({"iat": int(__import__("time").time()), **envelope}, KEY, "HS512")
    assert _post(server, json.dumps(envelope).encode(), token) == 202
    statuses = [_post(server, json.dumps({**envelope, "nonce": i}).encode(), token)
                for i in range(50)]
    assert set(statuses) == {401}
    db = sqlite3.connect(server["db"])
    try:
        (stored,) = db.execute("SELECT COUNT(*) FROM webhook_deliveries WHERE call_id = ?",
                               ("replay-1",)).fetchone()
    finally:
        db.close()
    assert stored == 1


def test_deeply_nested_signed_data_is_refused_and_the_records_still_list(server) -> None:
    nested: Any = "x"
    for _ in range(350):
        nested = {"n": nested}
    body = call_event("ringing", call_id="deep-1", extra=nested)
    status = _post(server, json.dumps(body).encode(), sign(body))
    assert status == 400
    assert _get(server, "/calls", RECORDS)[0] == 200


def test_debug_tasks_needs_the_token_and_survives_a_lone_surrogate_call_id(server) -> None:
    assert _get(server, "/debug/tasks")[0] == 401
    seen: dict[str, Any] = {}

    def look() -> None:
        seen["tasks"] = _get(server, "/debug/tasks", RECORDS)

    # "\\ud800" in JSON is a lone surrogate: valid JSON, no UTF-8 can carry it.
    asyncio.run(_call(media_url(server), json.loads('{"event": "start", "call_id": "\\ud800"}'),
                      1.0, during=look))
    status, body = seen["tasks"]
    assert status == 200, body
    assert "ud800" not in body.decode()  # kinds of task, not call ids
    wait_until(lambda: _get(server, "/calls/%5Cud800", RECORDS)[0] == 200, 10,
               "the call's record, under its escaped id")
