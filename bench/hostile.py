"""The attacks of issue 12 against a real `voicebot serve`, each beside a legitimate call.

bench/fuzz.py damages inputs one at a time in-process; this is its sibling for what only
shows against the running server: parameter values (sample rates, encodings), a flood
of 20,000 silent connections, slow-loris handshakes, key floods, log control characters,
big and deeply nested webhook bodies, and envelope replays. For every attack it records
what the attacker saw (close codes, statuses), the server's counters, its peak resident
memory during the attack (VmHWM, reset before each one), and whether a legitimate call
placed during the attack was answered (its greeting's first audio) and how fast.

Everything runs on loopback, bounded in count and time. A result file is written with
the machine, `ulimit -n` and the load average, since the machine is shared.

    .venv/bin/python -m bench.hostile [--flood 20000] [--hold 20] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import resource
import socket
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import websockets

from bench.server_stats import fetch_metrics, metric
from voicebot.simulator import WaitFor, simulate
from voicebot.testing.server import running_server

ROOT = Path(__file__).resolve().parents[1]
FLOW = ROOT / "tests" / "faults" / "flows" / "faults.yaml"
MEDIA_TOKEN = "bench-media-token"
RECORDS_TOKEN = "bench-records-token"
KEY = "bench-hostile-key-0123456789abcdef0123456789abcdef0123456789abcdef"


# ---- what is measured around every attack ----------------------------------------------


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # Linux: VmHWM := VmRSS


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _health(http: str) -> int:
    try:
        with urllib.request.urlopen(http + "/healthz", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


async def _legit_call(url: str) -> float | None:
    """Seconds from dialling to the greeting's first audio; None if it never came."""
    started = time.monotonic()
    try:
        result = await simulate(url, [WaitFor("streamAudio", timeout=20)], timeout=25,
                                until=("streamAudio",))
    except (OSError, websockets.WebSocketException, TimeoutError) as exc:
        print(f"  legitimate call failed: {exc!r}", flush=True)
        return None
    audio = result.of("streamAudio")
    return round(audio[0].at - started, 3) if audio else None


def _counters(http: str) -> dict[str, float]:
    text = fetch_metrics(http)
    out = {}
    for name, labels in [("voicebot_connections_closed_total", ("evicted", "handshake_timeout",
                                                                  "max_connections", "idle")),
                         ("voicebot_calls_refused_total", ("unsupported_media", "max_calls"))]:
        for label in labels:
            out[f"{name}{{{label}}}"] = metric(text, name, reason=label)
    out["voicebot_barge_ins_total{dtmf}"] = metric(text, "voicebot_barge_ins_total", cause="dtmf")
    return out


def measure(srv: dict[str, Any], name: str, attack: Callable[[dict[str, Any]], dict[str, Any]],
            legit_at: tuple[float, ...] = (1.0,)) -> dict[str, Any]:
    """Run `attack` in a thread; place a legitimate call at each of `legit_at` seconds
    into it, and ask /healthz every second while it lasts."""
    pid = srv["process"].pid
    url = srv["url"] + f"?token={MEDIA_TOKEN}"
    before = _counters(srv["http"])
    _reset_peak(pid)
    rss_before = _status_kb(pid, "VmRSS")
    cpu_before, started = _cpu_s(pid), time.monotonic()
    box: dict[str, Any] = {}
    health: Counter[int] = Counter()
    calls: list[float | None] = []

    async def probe(done: asyncio.Event) -> None:
        while not done.is_set():
            health[await asyncio.to_thread(_health, srv["http"])] += 1
            await asyncio.sleep(1.0)

    async def legit() -> None:
        last = 0.0
        for at in legit_at:
            await asyncio.sleep(max(0.0, at - last))
            last = at
            calls.append(await _legit_call(url))

    async def run() -> None:
        done = asyncio.Event()
        prober = asyncio.create_task(probe(done))
        await asyncio.gather(asyncio.to_thread(lambda: box.update(attack(srv))), legit())
        done.set()
        await prober

    asyncio.run(run())
    elapsed = time.monotonic() - started
    after = _counters(srv["http"])
    result = {
        "attack": name,
        "seconds": round(elapsed, 1),
        "legit_calls_answered": f"{sum(c is not None for c in calls)}/{len(calls)}",
        "legit_first_audio_s": calls,
        "healthz_during": {str(k): v for k, v in health.items()},
        "rss_before_mb": round(rss_before / 1024, 1),
        "peak_rss_mb": round(_status_kb(pid, "VmHWM") / 1024, 1),
        "server_cpu_s": round(_cpu_s(pid) - cpu_before, 2),
        "counters": {k: after[k] - before[k] for k in after if after[k] != before[k]},
        "alive": srv["process"].poll() is None,
        **box,
    }
    print(f"{name:18} answered={result['legit_calls_answered']} "
          f"first_audio={calls}s peak={result['peak_rss_mb']} MB "
          f"(before {result['rss_before_mb']}) cpu={result['server_cpu_s']}s "
          f"{json.dumps({k: v for k, v in result.items() if k not in _SHOWN})}", flush=True)
    return result


_SHOWN = {"attack", "seconds", "legit_calls_answered", "legit_first_audio_s", "rss_before_mb",
          "peak_rss_mb", "server_cpu_s"}


# ---- the attacks ---------------------------------------------------------------------------

EXOTIC = ["1", "0", "-8000", "abc", "249989", "1e9", "8000.5", "", "99999999999"] + [
    str(r) for r in (8009, 8011, 9001, 11003, 12007, 13001, 17011, 19001, 21001, 23003, 29009,
                     31013, 37003, 41011, 43003, 46997, 47951)]  # in 8-48 kHz, coprime-ish
ENCODINGS = ["bogus", "opus", "g729", "%00", "pcmu\x00", "l16;rate=1"]


def attack_parameters(srv: dict[str, Any]) -> dict[str, Any]:
    base = srv["url"] + f"?token={MEDIA_TOKEN}"

    async def one(query: str | None, start: dict[str, Any] | None) -> int | None:
        url = base + (f"&{query}" if query else "")
        async with websockets.connect(url, open_timeout=10) as ws:
            if start is not None:
                await ws.send(json.dumps(start))
            try:
                await ws.send(b"\x00" * 480)
                for _ in range(3):
                    await asyncio.wait_for(ws.recv(), 5)
            except (websockets.ConnectionClosed, TimeoutError):
                pass
            return ws.close_code

    async def run() -> Counter[str]:
        codes: Counter[str] = Counter()
        for value in EXOTIC:
            codes[str(await one(f"sample_rate={value}", None))] += 1
            codes[str(await one(None, {"event": "start", "sample_rate": value}))] += 1
        for value in ENCODINGS:
            codes[str(await one(f"encoding={urllib.request.quote(value)}", None))] += 1
            codes[str(await one(None, {"event": "start", "encoding": value}))] += 1
        return codes

    codes = asyncio.run(run())
    return {"attempts": sum(codes.values()), "close_codes": dict(codes)}


def _flood_worker(host: str, port: int, count: int, hold_s: float, queue: Any) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks, failed = [], 0
    started = time.monotonic()
    deadline = started + hold_s
    for _ in range(count):
        try:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((host, port))
            socks.append(s)
        except OSError:
            failed += 1
        if time.monotonic() > deadline:
            break
    opened, open_s = len(socks), time.monotonic() - started
    time.sleep(max(0.0, deadline - time.monotonic()))
    for s in socks:
        s.close()
    queue.put((opened, failed, open_s))


def attack_connection_flood(count: int, hold_s: float, processes: int = 2
                            ) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def attack(srv: dict[str, Any]) -> dict[str, Any]:
        host, port = srv["http"].removeprefix("http://").split(":")
        queue: Any = multiprocessing.Queue()
        workers = [multiprocessing.Process(target=_flood_worker,
                                           args=(host, int(port), count // processes, hold_s,
                                                 queue)) for _ in range(processes)]
        for w in workers:
            w.start()
        peak_fds = 0
        end = time.monotonic() + hold_s
        while time.monotonic() < end:
            peak_fds = max(peak_fds, len(os.listdir(f"/proc/{srv['process'].pid}/fd")))
            time.sleep(0.5)
        results = [queue.get(timeout=hold_s + 60) for _ in workers]
        for w in workers:
            w.join(30)
        return {"connections_opened": sum(r[0] for r in results),
                "connect_errors": sum(r[1] for r in results),
                "seconds_to_open_all": round(max(r[2] for r in results), 1),
                "server_peak_fds": peak_fds}

    return attack


def attack_slow_loris(count: int = 50, hold_s: float = 30.0) -> Callable[..., dict[str, Any]]:
    """`count` handshakes, half sending one byte every 3 s, half nothing; how many the
    server still holds open after `hold_s`."""

    def attack(srv: dict[str, Any]) -> dict[str, Any]:
        host, port = srv["http"].removeprefix("http://").split(":")
        socks = [socket.create_connection((host, int(port))) for _ in range(count)]
        header = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
        started, sent = time.monotonic(), 0
        while time.monotonic() - started < hold_s:
            for s in socks[1::2]:
                try:
                    s.send(header[sent % len(header) : sent % len(header) + 1])
                except OSError:
                    pass
            sent += 1
            time.sleep(3.0)
        still_open = sum(not _closed(s) for s in socks)
        for s in socks:
            s.close()
        return {"handshakes": count, "after_s": round(hold_s), "still_open": still_open}

    return attack


def _closed(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        while s.recv(4096):
            pass  # the 408, then the end of the stream
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def attack_key_flood(srv: dict[str, Any], presses: int = 20) -> dict[str, Any]:
    """A 40-key DTMF message every half second during the bot's prompts. The call must
    not fail: it ends only when the flow says so (its no-match retries hang up)."""

    async def run() -> dict[str, Any]:
        url = srv["url"] + f"?token={MEDIA_TOKEN}"
        kinds: list[str] = []
        sent = 0
        async with websockets.connect(url) as ws:

            async def listen() -> None:
                try:
                    async for raw in ws:
                        event = json.loads(raw)
                        kinds.append(str(event.get("event") or event.get("type")))
                except websockets.ConnectionClosed:
                    pass

            listener = asyncio.create_task(listen())
            await ws.send(json.dumps({"event": "start", "call_id": "bench-key-flood"}))
            try:
                for i in range(presses * 25):  # 20 ms frames of PCMU silence
                    await ws.send(b"\xff" * 160)
                    if i % 25 == 10:
                        await ws.send(json.dumps({"event": "dtmf", "digits": "7" * 40}))
                        sent += 1
                    await asyncio.sleep(0.02)
            except websockets.ConnectionClosed:
                pass
            await ws.close()
            await listener
            return {"messages_sent": sent, "keys_sent": sent * 40,
                    "breaks_received": kinds.count("break"),
                    "close": f"{ws.close_code} {ws.close_reason}"}

    return asyncio.run(run())


FORGED = "2026-01-01 00:00:00,000 INFO voicebot.app [admin] FORGED: token accepted for root"


def attack_log_injection(srv: dict[str, Any]) -> dict[str, Any]:
    ids = ["a\n" + FORGED, "b\r" + FORGED, "\x1b[2J\x1b[H" + FORGED, "\x07\x00\x08" + FORGED,
           "\u2028" + FORGED, "\\ud800"]

    async def run() -> None:
        url = srv["url"] + f"?token={MEDIA_TOKEN}"
        for call_id in ids:
            async with websockets.connect(url) as ws:
                start = json.dumps({"event": "start", "call_id": call_id})
                await ws.send(start.replace("\\\\ud800", "\\ud800"))
                for _ in range(10):
                    await ws.send(b"\xff" * 160)
                    await asyncio.sleep(0.02)

    asyncio.run(run())
    time.sleep(1.0)
    text = srv["log"].read_text(errors="replace")
    return {"call_ids": len(ids),
            "forged_lines": sum(line.startswith(FORGED[:30]) for line in text.splitlines()),
            "control_bytes_in_log": sum(text.count(c) for c in "\x1b\x07\x00\x08\r\u2028")}


def _post(http: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(http + "/webhooks/ringover", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def _chunked_post(http: str, megabytes: int) -> str:
    host, port = http.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(b"POST /webhooks/ringover HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
        try:
            for _ in range(megabytes):
                s.sendall(chunk)
        except OSError:
            pass
        try:
            return s.recv(100).split(b"\r\n", 1)[0].decode()
        except OSError as exc:
            return type(exc).__name__


def attack_big_bodies(srv: dict[str, Any]) -> dict[str, Any]:
    http = srv["http"]
    host, port = http.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(b"POST /webhooks/ringover HTTP/1.1\r\nHost: x\r\nContent-Length: 300000000"
                  b"\r\nContent-Type: application/json\r\n\r\n")
        declared = s.recv(100).split(b"\r\n", 1)[0].decode()

    async def eight() -> list[str]:
        return list(await asyncio.gather(*(asyncio.to_thread(_chunked_post, http, 100)
                                           for _ in range(8))))

    return {"declared_300MB": declared, "chunked_8x100MB": dict(Counter(asyncio.run(eight())))}


def _sign(claims: dict[str, Any]) -> str:
    return jwt.encode({"iat": int(time.time()), **claims}, KEY, algorithm="HS512")


def _event(call_id: str, **data: Any) -> dict[str, Any]:
    return {"resource": "call", "event": "ringing", "timestamp": 1700000000, "attempt": 1,
            "data": {"call_id": call_id, "from_number": "33600000000", **data}}


def attack_nested_and_replayed(srv: dict[str, Any]) -> dict[str, Any]:
    http = srv["http"]
    headers = {"Content-Type": "application/json"}
    nested_statuses: Counter[int] = Counter()
    for depth in range(300, 420, 20):
        value: Any = "x"
        for _ in range(depth):
            value = {"n": value}
        body = _event(f"deep-{depth}", extra=value)
        token = _sign({"payload": body})
        nested_statuses[_post(http, json.dumps(body).encode(),
                              {**headers, "X-Ringover-Webhook-Signature": token})] += 1
    request = urllib.request.Request(http + "/calls",
                                     headers={"Authorization": f"Bearer {RECORDS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as r:
        calls_status = r.status
    envelope = _event("bench-replay")
    token = _sign(envelope)
    first = _post(http, json.dumps(envelope).encode(),
                  {**headers, "X-Ringover-Webhook-Signature": token})
    replays: Counter[int] = Counter(
        _post(http, json.dumps({**envelope, "nonce": i}).encode(),
              {**headers, "X-Ringover-Webhook-Signature": token}) for i in range(1000))
    return {"nested_300_400": dict(nested_statuses), "get_calls_after": calls_status,
            "envelope_first": first, "replays_with_nonce": dict(replays)}


# ---- the run ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "?")
    return {"cpu": model, "cpus": os.cpu_count(), "python": platform.python_version(),
            "ulimit_n": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            "loadavg": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flood", type=int, default=20000, help="silent connections")
    parser.add_argument("--hold", type=float, default=20.0, help="seconds the flood is held")
    parser.add_argument("--only", nargs="*", help="run only these attacks (and no file)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "hostile.json"))
    args = parser.parse_args()
    before = machine()
    print(f"machine: {before['cpu']}, {before['cpus']} CPUs, ulimit -n {before['ulimit_n']}, "
          f"load average {before['loadavg']} (a shared machine: other work runs beside this)")
    results = []
    with running_server(FLOW, server={"media_token": MEDIA_TOKEN}, webhooks={"key": KEY},
                        records={"token": RECORDS_TOKEN}, log_level="info") as srv:
        flood_calls = tuple(float(t) for t in range(1, int(args.hold) - 2, 3))
        attacks: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]], tuple[float, ...]]]
        attacks = [
            ("baseline", lambda s: {}, (0.0,)),
            ("parameters", attack_parameters, (1.0,)),
            ("connection_flood", attack_connection_flood(args.flood, args.hold), flood_calls),
            ("slow_loris", attack_slow_loris(), (1.0, 12.0)),
            ("key_flood", attack_key_flood, (1.0,)),
            ("log_injection", attack_log_injection, (1.0,)),
            ("big_bodies", attack_big_bodies, (1.0,)),
            ("nested_replayed", attack_nested_and_replayed, (1.0,)),
        ]
        for name, attack, legit_at in attacks:
            if not args.only or name in args.only:
                results.append(measure(srv, name, attack, legit_at))
    report = {"bench": "hostile", "machine_before": before, "machine_after": machine(),
              "limits": "defaults (docs/operations.md)", "flood": args.flood,
              "hold_s": args.hold, "results": results}
    if args.only:
        return
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
