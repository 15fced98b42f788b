"""A thousand short calls against one `voicebot serve`: does anything pile up?

Calls come in blocks of 100: a few one after the other, the rest overlapping (up to
`--concurrency` at once). They are short and of mixed kinds, as a real line sees:
callers who hang up in the middle of the greeting, who listen and hang up, who ask for
an agent and are transferred, media servers that send a stop message, and ones that
send garbage frames (mutated RTP, broken JSON) before hanging up.

After a warm-up, the server's resident memory, threads, open files and (when the server
exposes GET /debug/tasks) its asyncio tasks are read with no call active, after every
block and at the end. Goal: RSS growth under 5 % from after warm-up to the end, and no
leftover task, thread or file.

    .venv/bin/python -m bench.soak [--calls 1000] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import websockets

from bench.concurrent_calls import FLOW, _trim
from bench.server_stats import fetch_metrics, metric, proc_sample
from voicebot.simulator import Silence, Speech, WaitQuiet, simulate
from voicebot.testing.callers import espeak_8k
from voicebot.testing.fuzz_corpus import control_seeds, control_text, mutate_bytes, rtp_seeds
from voicebot.testing.server import running_server

KINDS = {"mid_prompt": 0.25, "listen": 0.30, "agent": 0.25, "stop": 0.10, "garbage": 0.10}


async def _raw_call(url: str, rng: random.Random, kind: str) -> bool:
    seeds = rtp_seeds()
    async with websockets.connect(url) as ws:
        if kind == "stop":
            await ws.send(json.dumps({"event": "start", "call_id": f"soak-{rng.random()}"}))
        for i in range(50):
            frame: bytes | str = seeds[0][:2] + (i + 1).to_bytes(2, "big") + seeds[0][4:]
            if kind == "garbage" and rng.random() < 0.5:
                # (A lone surrogate cannot even leave this client: replaced.)
                frame = (mutate_bytes(rng, frame, seeds) if rng.random() < 0.7 else
                         control_text(rng, control_seeds()).encode("utf-8", "replace").decode())
            try:
                await ws.send(frame)
            except websockets.ConnectionClosed:
                return kind == "garbage"  # garbage may hold a valid stop: the call ends
            await asyncio.sleep(0.02)
        if kind == "stop":
            await ws.send(json.dumps({"event": "stop"}))
            try:
                await asyncio.wait_for(ws.wait_closed(), 3)
            except TimeoutError:
                return False
    return True


async def one_call(url: str, kind: str, rng: random.Random, agent) -> bool:  # type: ignore[no-untyped-def]
    """One call of `kind`; True if it went as that kind of call should."""
    if kind == "mid_prompt":  # hang up while the greeting plays
        result = await simulate(url, [Silence(0.2)], timeout=rng.uniform(0.8, 1.6), until=())
        return bool(result.of("streamAudio"))
    if kind == "listen":  # hear the greeting out, then hang up
        result = await simulate(url, [WaitQuiet(0.4, timeout=8)], timeout=4.0, until=())
        return bool(result.of("streamAudio"))
    if kind == "agent":
        script = [WaitQuiet(0.4, timeout=8), Silence(0.3), Speech(rng.choice(agent)),
                  Silence(5.0)]
        result = await simulate(url, script, timeout=15)
        return bool(result.of("transfer"))
    return await _raw_call(url, rng, kind)


# /debug/tasks is behind the records token (it names calls).
RECORDS_TOKEN = "soak-records-token"


def debug_tasks(http: str) -> dict | None:
    request = urllib.request.Request(http + "/debug/tasks",
                                     headers={"Authorization": f"Bearer {RECORDS_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return json.loads(r.read())
    except (urllib.error.HTTPError, OSError, ValueError):
        return None


async def wait_idle(http: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while metric(fetch_metrics(http), "voicebot_active_calls") > 0:
        if time.monotonic() > deadline:
            raise SystemExit("calls still active 30 s after the last one ended")
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # let closed sessions finish writing their records


def snapshot(srv: dict) -> dict:
    pid = srv["process"].pid
    proc = proc_sample(pid)
    tasks = debug_tasks(srv["http"])
    return {"rss": proc.rss_mb, "threads": proc.threads,
            "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "tasks": None if tasks is None else tasks.get("tasks"),
            "by_name": None if tasks is None else tasks.get("by_name")}


def _row(label: str, done: int, snap: dict, ok: int, kinds: Counter) -> str:
    tasks = "n/a" if snap["tasks"] is None else str(snap["tasks"])
    return (f"{label:9} {done:5d} calls  rss {snap['rss']:7.1f} MB  threads {snap['threads']:3d}"
            f"  fds {snap['fds']:3d}  tasks {tasks:>4}  ok {ok}/{done}  "
            + " ".join(f"{k}={v}" for k, v in sorted(kinds.items())))


async def soak(srv: dict, calls: int, warmup: int, concurrency: int, seq_per_block: int,
               seed: int) -> None:
    rng = random.Random(seed)
    url, http = srv["url"], srv["http"]
    agent = [_trim(espeak_8k("I would like to speak to an agent", v, r))
             for v, r in (("en-us", 160), ("en-gb", 140), ("en-us+f3", 175))]
    kinds = list(KINDS)
    weights = list(KINDS.values())
    done, ok, seen, failed = 0, 0, Counter(), Counter()
    sem = asyncio.Semaphore(concurrency)

    async def run(kind: str) -> None:
        nonlocal done, ok
        async with sem:
            try:
                good = await one_call(url, kind, random.Random(rng.random()), agent)
            except (OSError, websockets.WebSocketException) as exc:
                print(f"  call failed: {kind}: {exc!r}", flush=True)
                good = False
        done += 1
        ok += good
        seen[kind] += 1
        failed[kind] += not good

    async def block(n: int) -> None:
        batch = rng.choices(kinds, weights, k=n)
        for kind in batch[:seq_per_block]:  # one after the other
            await run(kind)
        await asyncio.gather(*(run(k) for k in batch[seq_per_block:]))  # overlapping

    t0 = time.monotonic()
    await block(warmup)
    await wait_idle(http)
    base = snapshot(srv)
    print(_row("warm-up", done, base, ok, seen), flush=True)
    while done < warmup + calls:
        await block(min(100, warmup + calls - done))
        await wait_idle(http)
        print(_row("block", done, snapshot(srv), ok, seen), flush=True)
    end = snapshot(srv)
    growth = (end["rss"] - base["rss"]) / base["rss"] * 100
    minutes = (time.monotonic() - t0) / 60
    samples = fetch_metrics(http)
    print(f"\n{done} calls ({warmup} warm-up) in {minutes:.1f} min; "
          f"{ok} went as scripted (not: {dict(+failed)}); server errors by kind: "
          f"{ {k[1][0][1]: v for k, v in samples.items() if k[0] == 'voicebot_errors_total'} }")
    print(f"RSS after warm-up {base['rss']:.1f} MB, at the end {end['rss']:.1f} MB: "
          f"growth {growth:+.2f} % (goal < 5 %)")
    print(f"threads {base['threads']} -> {end['threads']}, open files {base['fds']} -> "
          f"{end['fds']}, active calls {metric(samples, 'voicebot_active_calls'):.0f}")
    if end["tasks"] is None:
        print("asyncio tasks: n/a (server has no GET /debug/tasks)")
    else:
        print(f"asyncio tasks with no call active: {base['tasks']} after warm-up, "
              f"{end['tasks']} at the end {end['by_name']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--sequential-per-block", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"soak: {args.calls} calls after {args.warmup} warm-up; blocks of 100 with "
          f"{args.sequential_per_block} sequential, the rest {args.concurrency} at a time; "
          f"mix {KINDS}; load average {os.getloadavg()[0]:.1f}", flush=True)
    with running_server(Path(FLOW), records={"token": RECORDS_TOKEN}) as srv:
        asyncio.run(soak(srv, args.calls, args.warmup, args.concurrency,
                         args.sequential_per_block, args.seed))


if __name__ == "__main__":
    main()
