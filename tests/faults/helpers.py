"""What the fault tests need beside the simulator: the server's metrics and process, a
polling wait, the call records, and a bare media client that can send what the
simulator never would (oversized frames, custom headers)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import websockets

from bench.server_stats import fetch_metrics, metric
from voicebot.telephony.g711 import ulaw_encode
from voicebot.telephony.rtp import RtpPacket

TOKEN = "media-secret-7f3a"
RECORDS_TOKEN = "records-secret-2b9e"  # /debug/tasks is behind the records token


def media_url(srv: dict[str, Any], token: str | None = TOKEN) -> str:
    return srv["url"] + (f"?token={token}" if token is not None else "")


def value(srv: dict[str, Any], name: str, **labels: str) -> float:
    return metric(fetch_metrics(srv["http"]), name, **labels)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def server_tasks(srv: dict[str, Any]) -> int:
    """asyncio tasks alive in the server (GET /debug/tasks)."""
    request = urllib.request.Request(srv["http"] + "/debug/tasks",
                                     headers={"Authorization": f"Bearer {RECORDS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as r:
        return int(json.loads(r.read())["tasks"])


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def health_status(srv: dict[str, Any]) -> int:
    try:
        with urllib.request.urlopen(srv["http"] + "/healthz", timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def call_record(db: Path, call_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        call = conn.execute("SELECT * FROM calls WHERE call_id = ?", (call_id,)).fetchone()
        turns = conn.execute("SELECT * FROM turns WHERE call_id = ? ORDER BY idx",
                             (call_id,)).fetchall()
        return (dict(call) if call else {}), [dict(t) for t in turns]
    finally:
        conn.close()


class RawCaller:
    """Silence as paced PCMU RTP, with arbitrary frames slipped in between."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.seq, self.ts = 100, 16000
        self.received: list[dict[str, Any]] = []
        self.closed_code: int | None = None

    async def silence(self, seconds: float) -> None:
        await self.audio(np.zeros(int(seconds * 50) * 160, np.int16))

    async def audio(self, pcm: np.ndarray) -> None:
        """8 kHz int16 samples as 20 ms PCMU packets, paced at real time."""
        next_at = time.monotonic()
        for i in range(0, pcm.size - pcm.size % 160, 160):
            payload = ulaw_encode(pcm[i : i + 160])
            await self.ws.send(RtpPacket(0, self.seq, self.ts, 0x5151, payload).to_bytes())
            self.seq, self.ts = (self.seq + 1) & 0xFFFF, self.ts + 160
            next_at += 0.02
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def receive(self) -> None:
        try:
            async for raw in self.ws:
                self.received.append(json.loads(raw))
        except websockets.ConnectionClosed as exc:
            self.closed_code = exc.rcvd.code if exc.rcvd else self.ws.close_code
        else:
            self.closed_code = self.ws.close_code

    def kinds(self) -> list[str]:
        return [str(e.get("event") or e.get("type")) for e in self.received]


async def connect_and_listen(url: str, headers: dict[str, str] | None = None) -> RawCaller:
    """Connect, stream a second of silence, return what came back (or how it closed)."""
    try:
        ws = await websockets.connect(url, additional_headers=headers)
    except websockets.InvalidStatus as exc:  # refused during the handshake
        caller = RawCaller(None)
        caller.closed_code = exc.response.status_code
        return caller
    async with ws:
        caller = RawCaller(ws)
        receiver = asyncio.create_task(caller.receive())
        try:
            for _ in range(40):
                if caller.received or caller.closed_code is not None:
                    break
                await caller.silence(0.1)
        except websockets.ConnectionClosed:
            pass
        await ws.close()
        await receiver
    return caller
