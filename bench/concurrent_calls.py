"""N simultaneous calls against one `voicebot serve`, for growing N.

Every simulated caller streams real-time 8 kHz PCMU RTP, waits for the greeting, then
takes several turns: recorded human speech (Debian's asterisk prompts) and espeak-ng
speech at several voices and rates; the last turn asks for an agent, and the call ends
with the bot's transfer. Callers of one level start at random moments over the first
seconds of one turn (`--spread`), as calls arrive in real life, then all overlap:
the callers' turns are not in step (with `--spread 0` they are, the worst case).

Per N it prints the reply latency (the caller's last speech sample, known from the
simulator's marks, to the first `streamAudio` after it) p50/p95, frames the server
dropped (its /metrics), server CPU seconds per call-second, and peak RSS (/proc).
A level passes with every call transferred, no frame dropped, and p95 reply within
hangover + 600 ms. The simulated callers run in this process, on the same machine:
their CPU is printed too, because on a small machine it is taken from the server.

    .venv/bin/python -m bench.concurrent_calls [--levels 1,5,10,20,30] [--turns 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpus import load_utterances, percentile, speech_bounds
from bench.load_breakdown import breakdown, show
from bench.server_stats import dropped_by_reason, fetch_metrics, metric, proc_sample
from voicebot.flow.engine import FlowEngine
from voicebot.flow.loader import load_flow
from voicebot.plugins.base import Expectation
from voicebot.plugins.nlu_examples import ExamplesNLU
from voicebot.simulator import Silence, SimResult, Speech, Step, WaitQuiet, simulate
from voicebot.testing.callers import espeak_8k
from voicebot.testing.server import running_server

FLOW = Path(__file__).parent / "flows" / "load_calls.yaml"
VOICES = [("en-us", 160), ("en-gb", 140), ("en-us+f3", 175), ("en-gb+m3", 150), ("en-us+m7", 185)]
SENTENCES = [
    "My internet connection keeps dropping every evening.",
    "I was charged twice on my last invoice.",
    "The application crashes when I open my voicemail.",
    "I moved house and I need to change my address.",
]
AGENT_REQUEST = "I would like to speak to an agent please."
# Words that would end the call early in load_calls.yaml: recordings saying them are skipped.
FLOW_WORDS = re.compile(r"\b(agent|operator|human|person|goodbye|bye)\b", re.I)


@dataclass
class Corpus:
    turns: list[np.ndarray]  # utterances for the middle turns
    agent: list[np.ndarray]  # the final request, one per voice

    @classmethod
    def build(cls) -> Corpus:
        recorded = [u.pcm for u in load_utterances(limit=60) if not _ends_call(u.text)]
        spoken, agent = [], []
        for voice, rate in VOICES:
            for text in SENTENCES:
                spoken.append(_trim(espeak_8k(text, voice, rate)))
            agent.append(_trim(espeak_8k(AGENT_REQUEST, voice, rate)))
        return cls(recorded + spoken, agent)


def _ends_call(text: str) -> bool:
    """Would the flow's NLU take this for "agent" or "goodbye"? ("All circuits are busy"
    is a goodbye to the examples matcher: "that's all".) Such a recording would end the
    call before its last turn."""
    global _NLU
    if _NLU is None:
        engine = FlowEngine(load_flow(FLOW))
        nlu = ExamplesNLU()
        nlu.load()
        _NLU = (nlu, engine.expectation(engine.start({})[0]))
    nlu, expectation = _NLU
    return bool(FLOW_WORDS.search(text)) or nlu.parse(text, expectation).intent is not None


_NLU: tuple[ExamplesNLU, Expectation] | None = None


def _trim(pcm: np.ndarray) -> np.ndarray:
    # So the utterance's end mark is its last speech sample, not espeak's trailing pause.
    start, end = speech_bounds(pcm)
    return pcm[start:end]


def caller_script(corpus: Corpus, turns: int, rng: random.Random) -> list[Step]:
    script: list[Step] = [WaitQuiet(0.6, timeout=30)]
    for t in range(turns):
        last = t == turns - 1
        pcm = rng.choice(corpus.agent) if last else rng.choice(corpus.turns)
        script += [Silence(rng.uniform(0.3, 0.9)), Speech(pcm, f"t{t}")]
        # A fixed pause, long enough for the short answer: WaitQuiet would return at once,
        # the previous prompt having ended long before this utterance.
        script.append(Silence(4.0))
    return script


@dataclass
class CallOutcome:
    call_id: str
    result: SimResult
    seconds: float
    latencies: list[float] = field(default_factory=list)
    missing: int = 0  # turns the bot never answered

    @property
    def transferred(self) -> bool:
        return bool(self.result.of("transfer"))


def reply_latencies(result: SimResult, turns: int) -> tuple[list[float], int]:
    audio = [r.at for r in result.of("streamAudio")]
    latencies, missing = [], 0
    for t in range(turns):
        end = result.marks.get(f"t{t}.end")
        nxt = result.marks.get(f"t{t + 1}.start", float("inf"))
        after = [a for a in audio if end is not None and end < a < nxt]
        if after:
            latencies.append(after[0] - end)  # type: ignore[operator]
        else:
            missing += 1
    return latencies, missing


async def one_call(url: str, script: list[Step], delay: float, turns: int,
                   call_id: str) -> CallOutcome:
    await asyncio.sleep(delay)
    t0 = time.monotonic()
    result = await simulate(url, script, timeout=40 + 30 * turns, until=("transfer",),
                            start_message={"event": "start", "call_id": call_id})
    latencies, missing = reply_latencies(result, turns)
    return CallOutcome(call_id, result, time.monotonic() - t0, latencies, missing)


def explain(db: Path, outcomes: list[CallOutcome]) -> None:
    """Why a call was not transferred: what the server heard and did, from its records."""
    conn = sqlite3.connect(db)
    for o in outcomes:
        if o.transferred:
            continue
        rows = conn.execute("SELECT transcript, intent, error FROM turns WHERE call_id = ? "
                            "ORDER BY idx", (o.call_id,)).fetchall()
        heard = "; ".join(f"{t!r}->{i or e or '-'}" for t, i, e in rows)
        print(f"    {o.call_id} not transferred; turns heard: {heard or 'none'}")
    conn.close()


async def _watch_rss(pid: int, peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], proc_sample(pid).rss_mb)
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except TimeoutError:
            pass


async def run_level(srv: dict, n: int, corpus: Corpus, turns: int, seed: int,
                    spread: float) -> list[CallOutcome]:
    rng = random.Random(seed)
    calls = [
        one_call(srv["url"], caller_script(corpus, turns, rng), rng.uniform(0, spread), turns,
                 f"load-{n}-{i}")
        for i in range(n)
    ]
    peak, stop = [0.0], asyncio.Event()
    watcher = asyncio.create_task(_watch_rss(srv["process"].pid, peak, stop))
    outcomes = await asyncio.gather(*calls)
    stop.set()
    await watcher
    srv["rss_peak"] = peak[0]
    return list(outcomes)


def wait_idle(http: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while metric(fetch_metrics(http), "voicebot_active_calls") > 0:
        if time.monotonic() > deadline:
            raise SystemExit("calls still active on the server after the level")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", default="1,5,10,20,30")
    parser.add_argument("--turns", type=int, default=4, help="caller turns per call")
    parser.add_argument("--hangover", type=int, default=400, help="listen.hangover_ms")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stop-after-fail", type=int, default=2,
                        help="stop after this many failing levels in a row")
    parser.add_argument("--spread", type=float, default=7.0,
                        help="callers start at random over this many seconds (about one "
                             "turn: real callers do not speak in step)")
    parser.add_argument("--speculative", choices=("on", "off"), default="on")
    parser.add_argument("--workers", type=int, default=2, help="server.executor_workers")
    parser.add_argument("--stt-threads", type=int, default=1, help="whisper cpu_threads")
    parser.add_argument("--stt-workers", type=int, default=2,
                        help="whisper workers (parallel CTranslate2 runs)")
    parser.add_argument("--idle-workers", type=int, default=0,
                        help="server.speculative_idle_workers")
    parser.add_argument("--stt-queue", choices=("priority", "fifo"), default="priority",
                        help="server.stt_priority: the STT scheduler, or one FIFO queue")
    parser.add_argument("--piper-threads", type=int, default=1,
                        help="piper threads (0: onnxruntime's default, spinning)")
    parser.add_argument("--json", type=Path, help="also write the levels' figures here")
    parser.add_argument("--fresh", action="store_true",
                        help="every reply is new text (bench/flows/fresh_calls.yaml): "
                             "synthesised while the caller waits, never from the TTS cache")
    parser.add_argument("--tts", default=None, help="tts plugin (e.g. piper); config's if unset")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    corpus = Corpus.build()
    budget_ms = args.hangover + 600
    print(f"machine: {_cpu_model()}, {os.cpu_count()} cores; python {platform.python_version()}"
          f"; load average before: {os.getloadavg()[0]:.1f} (other work on the machine "
          f"takes CPU from the server: the 'load' column is the 1-minute load at each level)")
    print(f"{len(corpus.turns)} caller utterances ({len(VOICES)} espeak voices + recordings); "
          f"{args.turns} turns a call; hangover {args.hangover} ms; speculative STT "
          f"{args.speculative}; {args.workers} executor workers; whisper on "
          f"{args.stt_threads} threads x {args.stt_workers} workers; STT queue "
          f"{args.stt_queue} (guesses filed "
          f"{f'while {args.idle_workers} free' if args.idle_workers else 'always'}); "
          f"{'fresh' if args.fresh else 'cached'} replies; "
          f"tts {args.tts or 'as configured'}"
          f"{f' ({args.piper_threads} threads)' if args.tts == 'piper' else ''}; "
          f"pass: all transferred, 0 dropped, p95 <= {budget_ms} ms")
    print(f"{'N':>3} {'ok':>5} {'turns':>5} {'miss':>4} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'max ms':>7} {'dropped':>7} {'cpu/call-s':>10} {'rss MB':>7} {'client cpu':>10} "
          f"{'errors':>6} {'load':>5} {'stt n':>5} {'stt ms':>6} {'tts ms':>6}  verdict")
    best, fails = 0, 0
    levels_out: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    overrides = {
        "listen": {"hangover_ms": args.hangover, "speculative": args.speculative == "on"},
        "server": {"executor_workers": args.workers,
                   "speculative_idle_workers": args.idle_workers,
                   "stt_priority": args.stt_queue == "priority"},
        "stt": {"use": "whisper", "options": {"model": "bundled", "compute_type": "int8",
                                               "beam_size": 1, "cpu_threads": args.stt_threads,
                                               "workers": args.stt_workers}},
    }
    if args.tts:
        piper = {"threads": args.piper_threads} if args.tts == "piper" else {}
        overrides["tts"] = {"use": args.tts, "options": piper}
    flow = FLOW.with_name("fresh_calls.yaml") if args.fresh else FLOW
    with running_server(flow, **overrides) as srv:
        pid, http = srv["process"].pid, srv["http"]
        for n in levels:
            wait_idle(http)
            before, cpu0, client0 = fetch_metrics(http), proc_sample(pid).cpu_s, _own_cpu()
            outcomes = asyncio.run(run_level(srv, n, corpus, args.turns, args.seed + n,
                                             args.spread))
            wait_idle(http)
            after, cpu1, client1 = fetch_metrics(http), proc_sample(pid).cpu_s, _own_cpu()
            ms = [x * 1000 for o in outcomes for x in o.latencies]
            dropped = {k: v - dropped_by_reason(before).get(k, 0)
                       for k, v in dropped_by_reason(after).items()}
            dropped = {k: v for k, v in dropped.items() if v}
            errors = (metric(after, "voicebot_errors_total")
                      - metric(before, "voicebot_errors_total"))
            stt_n = (metric(after, "voicebot_stt_seconds_count")
                     - metric(before, "voicebot_stt_seconds_count"))
            stt_s = (metric(after, "voicebot_stt_seconds_sum")
                     - metric(before, "voicebot_stt_seconds_sum"))
            stt_ms = stt_s / stt_n * 1000 if stt_n else float("nan")
            # Mean time from a `say` to its first piece of audio (synthesis and its queue).
            tts_n, tts_s = (metric(after, f"voicebot_tts_seconds_{k}")
                            - metric(before, f"voicebot_tts_seconds_{k}") for k in ("count", "sum"))
            tts_ms = tts_s / tts_n * 1000 if tts_n else float("nan")
            call_s = sum(o.seconds for o in outcomes)
            ok = sum(o.transferred for o in outcomes)
            missing = sum(o.missing for o in outcomes)
            p95 = percentile(ms, 95)
            passed = ok == n and not dropped and missing == 0 and p95 <= budget_ms
            best = n if passed else best
            fails = 0 if passed else fails + 1
            print(f"{n:3d} {ok:2d}/{n:<2d} {len(ms):5d} {missing:4d} {percentile(ms, 50):7.0f} "
                  f"{p95:7.0f} {max(ms, default=float('nan')):7.0f} "
                  f"{int(sum(dropped.values())):7d} {(cpu1 - cpu0) / call_s:10.3f} "
                  f"{srv['rss_peak']:7.0f} {client1 - client0:9.1f}s {int(errors):6d} "
                  f"{os.getloadavg()[0]:5.1f} {int(stt_n):5d} {stt_ms:6.0f} {tts_ms:6.0f}  "
                  f"{'pass' if passed else 'FAIL'}{' ' + str(dropped) if dropped else ''}",
                  flush=True)
            where = breakdown(before, after, srv["db"], f"load-{n}-")
            print(show(where), flush=True)
            levels_out.append({
                "calls": n, "transferred": ok, "turns": len(ms), "missed": missing,
                "p50_ms": round(percentile(ms, 50)), "p95_ms": round(p95),
                "max_ms": round(max(ms, default=float("nan"))), "load": os.getloadavg()[0],
                "server_cpu_per_call_s": round((cpu1 - cpu0) / call_s, 4),
                "passed": passed, "breakdown": where,
                "latencies_ms": [round(x) for x in ms]})
            kinds = {dict(k[1]).get("kind"): v - before.get(k, 0) for k, v in after.items()
                     if k[0] == "voicebot_errors_total" and v > before.get(k, 0)}
            if kinds:
                print(f"    server errors by kind: {kinds}")
            explain(srv["db"], outcomes)
            if fails >= args.stop_after_fail:
                break
    print(f"largest N with every call transferred, 0 frames dropped and p95 reply <= "
          f"{budget_ms} ms: {best}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": "python -m bench.concurrent_calls " + " ".join(sys.argv[1:]),
            "machine": {"cpu_model": _cpu_model(), "cores": os.cpu_count(),
                        "load_before": [round(x, 2) for x in load_before],
                        "load_after": [round(x, 2) for x in os.getloadavg()]},
            "levels": levels_out}, indent=1) + "\n")
        print(f"wrote {args.json}")


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


if __name__ == "__main__":
    main()
