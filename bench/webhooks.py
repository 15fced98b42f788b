"""A burst of signed Ringover webhooks against the real endpoint on loopback.

Starts the webhook and records routers under uvicorn (in a child process),
fires N signed POSTs with bounded concurrency plus a share of redeliveries, then checks
that every distinct delivery was stored and processed exactly once. Prints throughput
and latency percentiles.

    .venv/bin/python bench/webhooks.py [--n 2000] [--concurrency 64] [--dup 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

import httpx
import jwt
import uvicorn
from fastapi import FastAPI

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from voicebot.call.registry import CallRegistry
from voicebot.store.records import CallStore
from voicebot.web.calls_routes import make_calls_router
from voicebot.web.webhooks_routes import make_webhook_router

KEY = "bench-webhook-key-" + "x" * 64
EVENTS = ("ringing", "answered", "hangup", "record_available")


def bodies(n: int) -> list[dict]:
    out = []
    for i in range(n):
        call, step = divmod(i, len(EVENTS))
        event = EVENTS[step]
        out.append({
            "resource": "aftercall" if event == "record_available" else "call",
            "event": event,
            "timestamp": 1_700_000_000 + i,
            "attempt": 1,
            "data": {"call_id": f"bench-{call}", "direction": "inbound",
                     "from_number": f"336{call:08d}", "to_number": "33184800000"},
        })
    return out


def signed(body: dict, url: str) -> str:
    now = int(time.time())
    return jwt.encode({"iat": now, "exp": now + 600, "url": url, "payload": body}, KEY,
                      algorithm="HS512")


def serve(db: str) -> None:
    """The server side, in its own process: a real deployment does not share a GIL
    with its clients, and a shared one would measure thread switching, not webhooks."""
    store = CallStore(db)
    registry = CallRegistry(store)
    app = FastAPI()
    app.include_router(make_webhook_router(registry, store, KEY))
    app.include_router(make_calls_router(store, "bench"))
    # uvicorn binds the port itself: handed a pre-bound socket, this uvicorn serves each
    # keep-alive request ~40 ms late (Nagle meets delayed ACK), measuring TCP, not us.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            access_log=False, lifespan="off")
    print(port, flush=True)  # tells the parent where to knock
    uvicorn.Server(config).run()
    store.close()


class Server:
    def __init__(self, db: str) -> None:
        self.db = db
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> Self:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", self.db], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        deadline = time.monotonic() + 10
        while True:  # the port is bound before uvicorn listens: wait until it answers
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/calls", timeout=1)
                return self
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


class Records:
    """Reads the server's database from here: WAL lets a reader in beside the writer."""

    def __init__(self, db: str) -> None:
        self.conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)

    def count(self, sql: str) -> int:
        return int(self.conn.execute(sql).fetchone()[0])


async def burst_httpx(url: str, requests: list[tuple[dict, str]], concurrency: int
                      ) -> tuple[list[float], dict[int, int], float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # Headers and body leave in two writes; without TCP_NODELAY, Nagle holds the body
    # until the server's delayed ACK, 40 ms a request.
    transport = httpx.AsyncHTTPTransport(
        limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    async with httpx.AsyncClient(transport=transport, timeout=30) as client:

        async def one(body: dict, token: str) -> None:
            async with gate:
                t0 = time.perf_counter()
                r = await client.post(url, json=body,
                                      headers={"X-Ringover-Webhook-Signature": token})
                latencies.append(time.perf_counter() - t0)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(one(b, t) for b, t in requests))
        elapsed = time.perf_counter() - t0
    return latencies, statuses, elapsed


async def burst_raw(url: str, requests: list[tuple[dict, str]], concurrency: int
                    ) -> tuple[list[float], dict[int, int], float]:
    """Keep-alive HTTP/1.1 over asyncio streams, one write per request: a client cheap
    enough that the figures are the server's, not the client's."""
    split = httpx.URL(url)
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body, token in requests:
        payload = json.dumps(body).encode()
        queue.put_nowait(
            f"POST {split.raw_path.decode()} HTTP/1.1\r\nHost: {split.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            f"X-Ringover-Webhook-Signature: {token}\r\n\r\n".encode() + payload)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(split.host, split.port)
        try:
            while not queue.empty():
                request = queue.get_nowait()
                t0 = time.perf_counter()
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = next(int(v) for k, _, v in (h.partition(":") for h in lines[1:])
                              if k.lower() == "content-length")
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                status = int(lines[0].split()[1])
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies, statuses, time.perf_counter() - t0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="distinct webhooks (>= 1000)")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--client", choices=("raw", "httpx"), default="raw",
                    help="raw keep-alive sockets (default), or httpx.AsyncClient, which is "
                         "the bottleneck on small machines")
    ap.add_argument("--dup", type=float, default=0.1, help="share of extra redeliveries")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--serve", metavar="DB", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as tmp, Server(os.path.join(tmp, "calls.sqlite3")) as srv:
        records = Records(srv.db)
        url = f"http://127.0.0.1:{srv.port}/webhooks/ringover"
        originals = bodies(args.n)
        requests = [(b, signed(b, url)) for b in originals]
        for b in rng.sample(originals, int(args.n * args.dup)):
            retry = {**b, "attempt": 2}  # a redelivery: same event, next attempt
            requests.append((retry, signed(retry, url)))
        rng.shuffle(requests)

        burst = burst_httpx if args.client == "httpx" else burst_raw
        latencies, statuses, elapsed = asyncio.run(burst(url, requests, args.concurrency))

        # Acknowledged is not processed: wait for the worker to catch up, then count.
        t_ack = time.perf_counter()
        deadline = t_ack + 60
        processed_sql = "SELECT COUNT(*) FROM events WHERE kind LIKE 'webhook:%'"
        while records.count(processed_sql) < args.n and time.perf_counter() < deadline:
            time.sleep(0.02)
        drain = time.perf_counter() - t_ack
        stored = records.count("SELECT COUNT(*) FROM webhook_deliveries")
        processed = records.count(processed_sql)
        calls = records.count("SELECT COUNT(*) FROM calls")
        retries = records.count("SELECT SUM(webhook_retries) FROM calls")
        records.conn.close()

    sent = len(requests)
    ok = (statuses.get(202, 0) == args.n and stored == args.n and processed == args.n
          and retries == sent - args.n)
    print(f"machine      {platform.machine()} {platform.processor() or ''} "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}")
    print(f"sent         {sent} signed POSTs ({args.n} distinct + {sent - args.n} "
          f"redeliveries), concurrency {args.concurrency}, {args.client} client")
    print(f"statuses     {dict(sorted(statuses.items()))}")
    print(f"throughput   {sent / elapsed:,.0f} requests/s ({elapsed:.2f} s for the burst)")
    print(f"latency      p50 {pct(latencies, 50) * 1e3:.1f} ms  p90 "
          f"{pct(latencies, 90) * 1e3:.1f} ms  p99 {pct(latencies, 99) * 1e3:.1f} ms  "
          f"max {max(latencies) * 1e3:.1f} ms  mean {statistics.fmean(latencies) * 1e3:.1f} ms")
    print(f"processing   all applied {drain:.2f} s after the last acknowledgement")
    print(f"stored       {stored} deliveries, {processed} webhook events, {calls} calls, "
          f"{retries} redeliveries counted and ignored")
    print("result       " + ("OK: none lost, each applied once" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
