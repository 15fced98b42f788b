"""Three workers behind haproxy, on PostgreSQL and Redis, one of them killed mid-run.

Starts 3 `voicebot serve` workers sharing a fresh PostgreSQL schema and Redis prefix,
and haproxy (Debian's; `apt-get install haproxy`) in front of their media WebSockets,
checking /readyz. Then, at once:
  - talking calls through haproxy (real-time PCMU RTP; each caller takes turns and asks
    for an agent at the end), starting at random over `--spread` seconds;
  - signed Ringover webhooks to random workers, a third of them redeliveries of earlier
    ones (attempt 2, often to another worker): one `answered` for each talking call,
    sent while it is live, and ringing/answered/hangup for calls that never reach a bot.
    A POST that finds its worker dead is retried on another, as Ringover retries;
  - at `--kill-at` seconds, SIGKILL of the worker holding the most live calls.

Then it checks the records in PostgreSQL: every acknowledged delivery stored, every
distinct delivery applied exactly once, every talking call's record closed (the victim's
as failed:worker_lost), and reports reply p95 before and after the kill and how long the
victim's calls stayed open. Writes docs/benchmarks/cluster.json and the figures block
of docs/scaling.md.

    .venv/bin/python -m bench.cluster [--calls 36] [--webhooks 5000] [--spread 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import platform
import random
import subprocess
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import redis

from bench.concurrent_calls import Corpus, caller_script, reply_latencies
from bench.corpus import percentile
from bench.result_section import cpu_model
from bench.server_stats import fetch_metrics, metric, proc_sample
from voicebot.simulator import SimResult, simulate
from voicebot.testing.datastores import REDIS_URL, postgres_schema, redis_prefix
from voicebot.testing.server import free_port, running_server

ROOT = Path(__file__).resolve().parents[1]
FLOW = Path(__file__).parent / "flows" / "load_calls.yaml"
RESULT = ROOT / "docs" / "benchmarks" / "cluster.json"
SCALING_DOC = ROOT / "docs" / "scaling.md"
KEY = "bench-cluster-webhook-key-" + "k" * 40
SIGNED_URL = "https://bot.example.com/webhooks/ringover"
WORKERS = ("w1", "w2", "w3")


# -- the load balancer ---------------------------------------------------------------

HAPROXY = """global
  maxconn 4000
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  timeout tunnel 1h
  option redispatch
  retries 3
frontend media
  bind 127.0.0.1:{port}
  default_backend workers
backend workers
  balance leastconn
  option httpchk GET /readyz
  # A loaded worker answers late but answers: three misses of 3 s before it is down.
  timeout check 3s
  default-server inter 1s fall 3 rise 2
{servers}
"""


@contextlib.contextmanager
def haproxy(ports: list[int]) -> Any:
    port = free_port()
    servers = "\n".join(f"  server w{i + 1} 127.0.0.1:{p} check" for i, p in enumerate(ports))
    with tempfile.NamedTemporaryFile("w", suffix=".cfg") as cfg:
        cfg.write(HAPROXY.format(port=port, servers=servers))
        cfg.flush()
        proc = subprocess.Popen(["haproxy", "-db", "-f", cfg.name],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            time.sleep(1.5)  # two health checks of each worker
            if proc.poll() is not None:
                raise SystemExit(f"haproxy failed: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
            yield f"ws://127.0.0.1:{port}/media"
        finally:
            proc.terminate()
            proc.wait(10)


# -- webhooks ------------------------------------------------------------------------


@dataclass
class Delivery:
    at: float  # seconds after the start
    body: dict[str, Any]
    key: tuple[str, str]  # (call id, event): what "applied once" is checked on
    redelivery: bool = False


def plan_webhooks(n: int, call_ids: list[str], call_start: dict[str, float], spread: float,
                  rng: random.Random) -> list[Delivery]:
    unique = n - n // 3
    plan: list[Delivery] = []
    for call_id in call_ids:  # one `answered` per talking call, a few seconds into it
        plan.append(_delivery(call_start[call_id] + rng.uniform(2.0, 5.0), "answered", call_id))
    k = 0
    while len(plan) < unique:
        at = rng.uniform(0, spread)
        for step, event in enumerate(("ringing", "answered", "hangup")):
            if len(plan) < unique:
                plan.append(_delivery(at + step * rng.uniform(0.2, 2.0), event, f"wh-{k}"))
        k += 1
    for original in rng.sample(plan, n - unique):
        body = dict(original.body, attempt=2)
        plan.append(Delivery(original.at + rng.uniform(0.0, 8.0), body, original.key, True))
    plan.sort(key=lambda d: d.at)
    return plan


def _delivery(at: float, event: str, call_id: str) -> Delivery:
    body = {"resource": "call", "event": event, "timestamp": 1_700_000_000 + at,
            "attempt": 1,
            "data": {"call_id": call_id, "direction": "inbound",
                     "from_number": "33600000000", "to_number": "33184800000"}}
    return Delivery(at, body, (call_id, event))


@dataclass
class WebhookStats:
    status: Counter[str] = field(default_factory=Counter)
    acked: list[Delivery] = field(default_factory=list)
    retried_after_refusal: int = 0
    failed: int = 0


def send_webhooks_apart(plan: list[Delivery], https: dict[str, str], t0: float,
                        seed: int) -> WebhookStats:
    """In a process of its own, so signing and posting 5,000 webhooks does not take the
    event loop from the simulated callers, whose timing is the reply latency."""
    stats = WebhookStats()
    asyncio.run(send_webhooks(plan, https, t0, stats, random.Random(seed)))
    return stats


async def send_webhooks(plan: list[Delivery], https: dict[str, str], t0: float,
                        stats: WebhookStats, rng: random.Random) -> None:
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(timeout=10) as client:
        async def post(d: Delivery) -> None:
            await asyncio.sleep(max(0.0, t0 + d.at - time.monotonic()))
            async with limit:
                for _attempt in range(10):
                    worker = rng.choice(list(https))
                    token = jwt.encode({"iat": int(time.time()), "exp": int(time.time()) + 300,
                                        "url": SIGNED_URL, "payload": d.body}, KEY,
                                       algorithm="HS512")
                    try:
                        r = await client.post(https[worker] + "/webhooks/ringover",
                                              json=d.body,
                                              headers={"X-Ringover-Webhook-Signature": token})
                    except httpx.TransportError:
                        stats.retried_after_refusal += 1  # a dead worker: Ringover retries
                        await asyncio.sleep(0.2)
                        continue
                    stats.status[str(r.status_code)] += 1
                    if r.status_code < 300:
                        stats.acked.append(d)
                        return
                    await asyncio.sleep(0.2)
                stats.failed += 1

        await asyncio.gather(*(post(d) for d in plan))


# -- calls ---------------------------------------------------------------------------


@dataclass
class Call:
    call_id: str
    start: float
    result: SimResult | None = None
    error: str | None = None
    seconds: float = 0.0  # how long the call's media connection lasted


async def run_call(url: str, call: Call, script: list[Any], t0: float, turns: int) -> None:
    await asyncio.sleep(max(0.0, t0 + call.start - time.monotonic()))
    began = time.monotonic()
    try:
        call.result = await simulate(url, script, timeout=40 + 30 * turns, until=("transfer",),
                                     start_message={"event": "start", "call_id": call.call_id})
    except Exception as exc:  # a refused connection is a call not answered, not a crash
        call.error = repr(exc)
    call.seconds = time.monotonic() - began


# -- the kill ------------------------------------------------------------------------


@dataclass
class Kill:
    victim: str = ""
    at_wall: float = 0.0
    at_mono: float = 0.0
    calls: list[str] = field(default_factory=list)
    cpu_s: float = 0.0  # the victim's CPU seconds when it was killed
    at_s: float = 0.0  # when it was, after the start (late if the bench's loop was busy)


async def kill_busiest(workers: dict[str, Any], prefix: str, delay: float, t0: float,
                       kill: Kill) -> None:
    await asyncio.sleep(max(0.0, t0 + delay - time.monotonic()))
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    holders = client.hgetall(prefix + "calls")
    client.close()
    per_worker = Counter(w for c, w in holders.items() if not c.startswith("wh-"))
    kill.victim = per_worker.most_common(1)[0][0] if per_worker else WORKERS[1]
    kill.calls = sorted(c for c, w in holders.items() if w == kill.victim)
    kill.cpu_s = proc_sample(workers[kill.victim]["process"].pid).cpu_s
    workers[kill.victim]["process"].kill()
    kill.at_wall, kill.at_mono = time.time(), time.monotonic()
    kill.at_s = kill.at_mono - t0
    print(f"t={kill.at_mono - t0:.1f}s: SIGKILL {kill.victim} holding {len(kill.calls)} calls",
          flush=True)


# -- the checks ----------------------------------------------------------------------


def check_records(pg: str, calls: list[Call], plan: list[Delivery], stats: WebhookStats,
                  kill: Kill) -> dict[str, Any]:
    with psycopg.connect(pg) as conn:
        stored = conn.execute("SELECT count(*) FROM webhook_deliveries").fetchone()[0]
        applied = Counter(
            (call_id, kind.removeprefix("webhook:"))
            for call_id, kind in conn.execute(
                "SELECT call_id, kind FROM events WHERE kind LIKE 'webhook:%'").fetchall())
        stored_keys = {(r[0], r[1]) for r in conn.execute(
            "SELECT call_id, event FROM webhook_deliveries").fetchall()}
        lost_by_worker = Counter(json.loads(data)["worker"] for (data,) in conn.execute(
            "SELECT data FROM events WHERE kind = 'worker_lost'").fetchall())
        reopened = conn.execute("SELECT count(*) FROM events WHERE kind = 'reopened'"
                                ).fetchone()[0]
        records = {r[0]: r[1:] for r in conn.execute(
            "SELECT call_id, closed_at, close_reason, meta FROM calls").fetchall()}
    distinct = {d.key for d in plan}
    acked = {d.key for d in stats.acked}
    once = sum(1 for k in distinct if applied[k] == 1)
    twice = sorted(k for k in distinct if applied[k] > 1)
    never = sorted(k for k in distinct if applied[k] == 0)
    bench_calls = {c.call_id for c in calls}
    # A call no bot answered (refused, or accepted by the worker as it was killed) has a
    # record only from its webhook, rightly open: nobody ran it.
    answered = {c.call_id for c in calls if _answered(c)}
    open_calls = sorted(c for c in answered if records.get(c, (None,))[0] is None)
    per_call = [
        {"call_id": c.call_id, "answered": _answered(c),
         "transferred": bool(c.result is not None and c.result.of("transfer")),
         "worker": json.loads(records[c.call_id][2]).get("worker") if c.call_id in records
         else None,
         "close_reason": records[c.call_id][1] if c.call_id in records else None,
         "error": c.error}
        for c in calls
    ]
    victim_closed = [records[c][0] for c in kill.calls if records.get(c, (None,))[0]]
    reasons = Counter(records[c][1] for c in bench_calls if c in records)
    return {
        "webhooks_distinct": len(distinct),
        "webhooks_acked_distinct": len(acked),
        "webhooks_stored": stored,
        "acked_not_stored": len(acked - stored_keys),
        "applied_exactly_once": once,
        "applied_more_than_once": len(twice),
        "never_applied": len(never),
        "never_applied_examples": [list(k) for k in never[:5]],
        "call_records_still_open": open_calls,
        "close_reasons": dict(reasons),
        "victim_calls_closed": len(victim_closed),
        # Which workers' calls were swept as lost: only the killed one's, if all is well.
        "calls_swept_by_worker": dict(lost_by_worker),
        "records_reopened": reopened,
        "per_call": per_call,
        "seconds_to_close_victim_calls": (
            round(max(victim_closed) - kill.at_wall, 2) if victim_closed else None),
    }


def _answered(call: Call) -> bool:
    return call.result is not None and bool(call.result.of("streamAudio"))


def latency_split(calls: list[Call], turns: int, kill_mono: float) -> tuple[list[float], ...]:
    before, after = [], []
    for c in calls:
        if c.result is None:
            continue
        lat, _ = reply_latencies(c.result, turns)
        ends = [c.result.marks.get(f"t{t}.end") for t in range(turns)]
        ends = [e for e in ends if e is not None][:len(lat)]
        for end, seconds in zip(ends, lat, strict=False):
            (before if end < kill_mono else after).append(seconds * 1000)
    return before, after


def machine() -> dict[str, Any]:
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()}


# -- main ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=36)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--webhooks", type=int, default=5000)
    parser.add_argument("--spread", type=float, default=50.0,
                        help="calls and webhooks start over this many seconds")
    parser.add_argument("--kill-at", type=float, default=25.0)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--render", action="store_true",
                        help="only rewrite docs/scaling.md's figures from the result file")
    args = parser.parse_args()
    if args.render:
        update_doc(json.loads(RESULT.read_text()))
        return
    rng = random.Random(args.seed)
    corpus = Corpus.build()
    load_before = os.getloadavg()
    print(f"machine: {machine()}; load average before: {load_before} (the machine is "
          f"shared: other work takes CPU from the workers)", flush=True)
    overrides: dict[str, Any] = {
        "webhooks": {"key": KEY},
        "stt": {"use": "whisper", "options": {"model": "bundled", "compute_type": "int8",
                                               "beam_size": 1, "cpu_threads": 1}},
    }
    with postgres_schema("vb_bench") as pg, redis_prefix("vbbench") as prefix, \
            contextlib.ExitStack() as stack:
        cluster = {"redis_url": REDIS_URL, "key_prefix": prefix}
        workers = {
            name: stack.enter_context(running_server(
                FLOW, store={"url": pg}, cluster=dict(cluster, worker_id=name), **overrides))
            for name in WORKERS
        }
        url = stack.enter_context(haproxy([int(w["http"].rsplit(":", 1)[1])
                                           for w in workers.values()]))
        calls = [Call(f"talk-{i}", rng.uniform(0, args.spread)) for i in range(args.calls)]
        plan = plan_webhooks(args.webhooks, [c.call_id for c in calls],
                             {c.call_id: c.start for c in calls}, args.spread, rng)
        kill = Kill()
        scripts = [caller_script(corpus, args.turns, rng) for _ in calls]
        https = {name: w["http"] for name, w in workers.items()}

        async def run() -> WebhookStats:
            t0 = time.monotonic() + 2.0  # CLOCK_MONOTONIC: the same in the sender process
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as ex:
                sender = asyncio.get_running_loop().run_in_executor(
                    ex, send_webhooks_apart, plan, https, t0, args.seed)
                await asyncio.gather(
                    *(run_call(url, c, s, t0, args.turns)
                      for c, s in zip(calls, scripts, strict=True)),
                    kill_busiest(workers, prefix, args.kill_at, t0, kill),
                )
                return await sender

        cpu_before = {n: proc_sample(w["process"].pid).cpu_s for n, w in workers.items()}
        started, client_cpu = time.monotonic(), _own_cpu()
        stats = asyncio.run(run())
        run_s, client_cpu = time.monotonic() - started, _own_cpu() - client_cpu
        cpu_used = kill.cpu_s - cpu_before[kill.victim] + sum(
            proc_sample(w["process"].pid).cpu_s - cpu_before[n]
            for n, w in workers.items() if n != kill.victim)
        survivors = [w for n, w in workers.items() if n != kill.victim]
        deadline = time.monotonic() + 60
        while any(metric(fetch_metrics(w["http"]), "voicebot_active_calls") > 0
                  for w in survivors) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(8.0)  # the survivors' sweep and the last webhook writes
        checks = check_records(pg, calls, plan, stats, kill)
        routed = sum(metric(fetch_metrics(w["http"]), "voicebot_cluster_webhooks_routed_total")
                     for w in survivors)
    before, after = latency_split(calls, args.turns, kill.at_mono)
    answered = sum(1 for c in calls if _answered(c))
    transferred = sum(1 for c in calls if c.result is not None and c.result.of("transfer"))
    result = {
        "bench": "bench/cluster.py", "args": vars(args), "machine": machine(),
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "run_seconds": round(run_s, 1), "workers": len(WORKERS),
        "calls": args.calls, "calls_answered": answered, "calls_transferred": transferred,
        "calls_not_connected": dict(Counter((c.error or "")[:90] for c in calls if c.error)),
        "killed_worker": kill.victim, "calls_on_killed_worker": len(kill.calls),
        "kill_at_s": round(kill.at_s, 1),
        "callers_cpu_s": round(client_cpu, 1),
        "reply_ms_before_kill": _summary(before), "reply_ms_after_kill": _summary(after),
        "webhooks_sent": len(plan), "webhook_redeliveries": sum(d.redelivery for d in plan),
        "webhook_status": dict(stats.status), "webhook_posts_refused_by_dead_worker":
            stats.retried_after_refusal, "webhooks_given_up": stats.failed,
        "webhooks_routed_between_survivors": int(routed),
        "worker_cpu_s": round(cpu_used, 1),
        "call_seconds": round(sum(c.seconds for c in calls), 1),
        # Everything the workers did (calls, 5,000 webhooks, directory) per call-second.
        "worker_cpu_s_per_call_s": round(cpu_used / max(1e-9, sum(c.seconds for c in calls)),
                                         3),
        "close_bound_s": "worker_ttl_s + sweep_s = 5 + 1 (defaults)",
        **checks,
    }
    print(json.dumps(result, indent=2))
    if not args.no_write:
        RESULT.parent.mkdir(parents=True, exist_ok=True)
        RESULT.write_text(json.dumps(result, indent=2) + "\n")
        update_doc(result)
        print(f"wrote {RESULT.relative_to(ROOT)} and the figures in "
              f"{SCALING_DOC.relative_to(ROOT)}")


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def _summary(ms: list[float]) -> dict[str, Any]:
    if not ms:
        return {"turns": 0, "p50": None, "p95": None, "max": None}
    return {"turns": len(ms), "p50": round(percentile(ms, 50)), "p95": round(percentile(ms, 95)),
            "max": round(max(ms))}


def _sizing(cpu_per_call_s: float, busy: float = 0.7, cores_per_worker: int = 2) -> str:
    """Workers for a few fleet sizes, from the measured CPU per call-second: cores kept
    `busy` (headroom for bursts of speech), plus one worker for a drain or a crash."""
    rows = []
    for calls in (50, 200, 500):
        cores = math.ceil(calls * cpu_per_call_s / busy)
        workers = math.ceil(cores / cores_per_worker) + 1
        rows.append(f"{calls} calls: {workers} workers")
    return (f"Sizing from this run's CPU figure, with cores kept {busy:.0%} busy, "
            f"{cores_per_worker} cores per worker and one worker spare: " + "; ".join(rows)
            + ". Check the reply latency at your own load before trusting it: the latency "
            "budget, not the CPU, may bind first.")


BEGIN, END = "<!-- bench/cluster.py:begin -->", "<!-- bench/cluster.py:end -->"


def update_doc(r: dict[str, Any]) -> None:
    """The figures block of docs/scaling.md, rewritten from the result file."""
    b, a = r["reply_ms_before_kill"], r["reply_ms_after_kill"]
    lines = [
        BEGIN,
        f"Measured by `{r['bench']}` ({r['run_seconds']} s run) on {r['machine']['cpu']}, "
        f"{r['machine']['cores']} cores, shared with other work: load average "
        f"{r['load_average_before'][0]:.1f} before, {r['load_average_after'][0]:.1f} after. "
        f"Result file: `docs/benchmarks/cluster.json`.",
        "",
        "| what | measured |",
        "| --- | --- |",
        f"| workers, load balancer | {r['workers']}, haproxy (leastconn, /readyz checks) |",
        f"| talking calls answered | {r['calls_answered']} of {r['calls']} "
        f"({r['calls_transferred']} reached their transfer) |",
        f"| worker killed (SIGKILL) at {r['kill_at_s']:.0f} s | {r['killed_worker']}, holding "
        f"{r['calls_on_killed_worker']} calls |",
        f"| its calls closed as failed by the others | {r['victim_calls_closed']} of "
        f"{r['calls_on_killed_worker']}, the last {r['seconds_to_close_victim_calls']} s after "
        f"the kill (bound: {r['close_bound_s']}) |",
        f"| reply latency p50 / p95 before the kill | {b['p50']} / {b['p95']} ms "
        f"({b['turns']} turns) |",
        f"| reply latency p50 / p95 after the kill | {a['p50']} / {a['p95']} ms "
        f"({a['turns']} turns) |",
        f"| signed webhooks sent (redeliveries) | {r['webhooks_sent']} "
        f"({r['webhook_redeliveries']}) to random workers |",
        f"| distinct deliveries applied exactly once | {r['applied_exactly_once']} of "
        f"{r['webhooks_distinct']} (more than once: {r['applied_more_than_once']}, never: "
        f"{r['never_applied']}) |",
        f"| acknowledged but not stored | {r['acked_not_stored']} |",
        f"| posts refused by the dead worker, retried elsewhere | "
        f"{r['webhook_posts_refused_by_dead_worker']} |",
        f"| records of answered calls left open | {len(r['call_records_still_open'])} |",
        f"| CPU of the simulated callers (same machine) | {r['callers_cpu_s']} s |",
        f"| worker CPU per second of talking call (calls and webhooks together) | "
        f"{r['worker_cpu_s_per_call_s']} CPU-s, so at most ~"
        f"{int(1 / r['worker_cpu_s_per_call_s']) if r['worker_cpu_s_per_call_s'] else '?'} "
        f"such calls per fully busy core |",
        "",
        _sizing(r["worker_cpu_s_per_call_s"]),
        END,
    ]
    text = SCALING_DOC.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + "\n".join(lines) + rest.split(END, 1)[1]
    else:
        text += "\n" + "\n".join(lines) + "\n"
    SCALING_DOC.write_text(text)


if __name__ == "__main__":
    main()
