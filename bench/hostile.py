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
import random
import re
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

from bench.result_section import cpu_model
from bench.server_stats import fetch_metrics, metric
from voicebot.logs import UNSAFE_CHARS
from voicebot.simulator import WaitFor, simulate
from voicebot.telephony.rates import ACCEPTED_RATES
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
RNG = random.Random(1)  # --seed sets it: the generated half of every attack


def generated_rates(n: int) -> list[Any]:
    """Values a machine picks: any scale, any sign, any type a JSON field can hold."""
    out: list[Any] = []
    for _ in range(n):
        kind = RNG.randrange(6)
        if kind == 0:
            out.append(RNG.randint(1, 10**RNG.randint(1, 12)))
        elif kind == 1:
            out.append(-RNG.randint(0, 10**6))
        elif kind == 2:
            out.append(RNG.choice([8000, 16000, 44100]) + RNG.randint(1, 999))
        elif kind == 3:
            out.append(RNG.uniform(0, 1e6))
        elif kind == 4:
            out.append("".join(RNG.choice("0123456789eE.-+ x") for _ in range(RNG.randint(0, 9))))
        else:
            out.append(RNG.choice([None, True, [], {}, [8000], {"rate": 8000}]))
    return [v for v in out if v not in ACCEPTED_RATES and str(v).strip() not in
            {str(r) for r in ACCEPTED_RATES}]


def generated_text(n: int, base: str) -> list[str]:
    """`base` with control characters, separators and surrogates spliced in."""
    nasty = [chr(c) for c in (*range(0, 32), 127, *range(0x80, 0xA0), 0x2028, 0x2029, 0xD800,
                                0xDFFF, 0x202E, 0xFEFF)]
    out = []
    for _ in range(n):
        text = list(base)
        for _ in range(RNG.randint(1, 6)):
            text.insert(RNG.randrange(len(text) + 1), RNG.choice(nasty))
        out.append("".join(text))
    return out


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

    accepted: list[str] = []

    async def attempt(codes: Counter[str], query: str | None, start: dict[str, Any] | None,
                      value: Any) -> None:
        code = await one(query, start)
        codes[str(code)] += 1
        if code is None:  # taken as a call: a spelling of an accepted value, or a hole
            accepted.append(ascii(value))

    async def run() -> Counter[str]:
        codes: Counter[str] = Counter()
        rates: list[Any] = [*EXOTIC, *generated_rates(60)]
        for value in rates:
            if not isinstance(value, list | dict | bool) and value is not None:
                quoted = urllib.request.quote(str(value))
                await attempt(codes, f"sample_rate={quoted}", None, value)
            await attempt(codes, None, {"event": "start", "sample_rate": value}, value)
        for value in ENCODINGS + [e for e in generated_text(20, "pcmu") if e.strip() != "pcmu"]:
            quoted = urllib.request.quote(value.encode("utf-8", "surrogatepass"))
            await attempt(codes, f"encoding={quoted}", None, value)
            await attempt(codes, None, {"event": "start", "encoding": value}, value)
        return codes

    codes = asyncio.run(run())
    return {"attempts": sum(codes.values()), "close_codes": dict(codes),
            "taken_as_calls": accepted}


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


def _listen_drops() -> dict[str, int]:
    """The kernel's count of connections dropped at a full accept queue (system-wide)."""
    lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()
             if line.startswith("TcpExt:")]
    table = dict(zip(lines[0][1:], lines[1][1:], strict=True))
    return {k: int(table.get(k, 0)) for k in ("ListenOverflows", "ListenDrops")}


def attack_connection_flood(count: int, hold_s: float, processes: int = 2
                            ) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def attack(srv: dict[str, Any]) -> dict[str, Any]:
        host, port = srv["http"].removeprefix("http://").split(":")
        queue: Any = multiprocessing.Queue()
        workers = [multiprocessing.Process(target=_flood_worker,
                                           args=(host, int(port), count // processes, hold_s,
                                                 queue)) for _ in range(processes)]
        drops_before = _listen_drops()
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
                "server_peak_fds": peak_fds,
                "kernel_accept_queue_overflows": _listen_drops()["ListenOverflows"]
                - drops_before["ListenOverflows"]}

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


LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+ \[")
FORGED = "2026-01-01 00:00:00,000 INFO voicebot.app [admin] FORGED: token accepted for root"


def attack_log_injection(srv: dict[str, Any]) -> dict[str, Any]:
    ids = ["a\n" + FORGED, "b\r" + FORGED, "\x1b[2J\x1b[H" + FORGED, "\x07\x00\x08" + FORGED,
           "\u2028" + FORGED, "\ud800", *generated_text(30, "x\n" + FORGED)]

    async def run() -> None:
        url = srv["url"] + f"?token={MEDIA_TOKEN}"
        for call_id in ids:
            async with websockets.connect(url) as ws:
                # json.dumps writes a lone surrogate as \\udXXX: valid JSON, no UTF-8.
                await ws.send(json.dumps({"event": "start", "call_id": call_id}))
                for _ in range(10):
                    await ws.send(b"\xff" * 160)
                    await asyncio.sleep(0.02)

    asyncio.run(run())
    time.sleep(1.0)
    text = srv["log"].read_text(errors="replace")
    return {"call_ids": len(ids),
            "forged_lines": sum(line.startswith(FORGED[:30]) for line in text.splitlines()),
            "lines_not_from_the_logger": sum(
                not LOG_LINE.match(line) and not line.startswith("voicebot: serving")
                for line in text.splitlines()),
            "unsafe_chars_in_log": len(UNSAFE_CHARS.findall(text.replace("\n", "")))}


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
    for depth in [*range(300, 420, 20), *(RNG.randint(33, 900) for _ in range(10))]:
        value: Any = "x"
        for _ in range(depth):
            value = {"n": value} if RNG.random() < 0.5 else [value]
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
    extra_keys = ["nonce", "attempt2", "_", "data2", "Event", "event ", "\u00e9", "timestamp2"]
    for i in range(200):
        key = RNG.choice(extra_keys)
        value = RNG.choice([i, str(i), None, [i], {"n": i}])
        replays[_post(http, json.dumps({**envelope, key: value}).encode(),
                      {**headers, "X-Ringover-Webhook-Signature": token})] += 1
    return {"nested_33_900": dict(nested_statuses), "get_calls_after": calls_status,
            "envelope_first": first, "replays_with_nonce": dict(replays)}


# ---- the run ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {"cpu": cpu_model(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "ulimit_n": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            "loadavg": [round(x, 2) for x in os.getloadavg()]}


def render(report: dict[str, Any]) -> str:
    """The markdown table docs/benchmarks.md shows, from a result file."""
    m = report["machine_before"]
    lines = [
        f"Measured on {m['cpu']}, {m['cpus']} CPUs, `ulimit -n` {m['ulimit_n']}, load average "
        f"{m['loadavg'][0]} before and {report['machine_after']['loadavg'][0]} after (a shared "
        f"machine: other work ran beside it), default limits; flood of {report['flood']:,} "
        f"connections held {report['hold_s']:g} s.",
        "",
        "| attack | legitimate calls answered (first audio, s) | /healthz during | "
        "server peak RSS (before) | what the attacker got |",
        "|---|---|---|---|---|",
    ]
    for r in report["results"]:
        audio = ", ".join("—" if a is None else f"{a:.2f}" for a in r["legit_first_audio_s"])
        health = ", ".join(f"{k}×{v}" if k != "0" else f"no answer×{v}"
                           for k, v in r["healthz_during"].items())
        got = {k: v for k, v in r.items() if k not in _SHOWN | {
            "healthz_during", "alive", "counters", "legit_calls_answered"}}
        got.update({k.removeprefix("voicebot_"): int(v) for k, v in r["counters"].items()})
        detail = "; ".join(f"{k}: {v}" for k, v in got.items()) or "—"
        lines.append(f"| {r['attack']} | {r['legit_calls_answered']} ({audio}) | {health} | "
                     f"{r['peak_rss_mb']:.0f} MB ({r['rss_before_mb']:.0f}) | {detail} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flood", type=int, default=20000, help="silent connections")
    parser.add_argument("--hold", type=float, default=20.0, help="seconds the flood is held")
    parser.add_argument("--only", nargs="*", help="run only these attacks (and no file)")
    parser.add_argument("--seed", type=int, default=1, help="for the generated inputs")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "hostile.json"))
    parser.add_argument("--render", metavar="FILE", help="print FILE's results as markdown")
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(Path(args.render).read_text())))
        return
    RNG.seed(args.seed)
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
    print(render(report))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
