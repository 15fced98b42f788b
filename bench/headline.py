"""voicebot and a stock pipecat bot, on the same calls, in one run.

Each bot is started fresh for each kind of call (voicebot: `voicebot serve` with a bench
flow; pipecat: bench/pipecat_bot/bot.py in its own pinned venv, the same Whisper tiny.en
model and Piper joe voice), and called by the same simulated media server
(bench/media_server.py: Ringover's wire for voicebot, Twilio Media Streams for pipecat)
with the same callers (bench/callers.py). What is measured, and how, is in
bench/scenarios.py and docs/benchmarks.md.

    .venv/bin/python -m bench.headline [--turns 3] [--json] [--check]
    .venv/bin/python -m bench.headline --check --from docs/benchmarks/FILE.json

--json writes docs/benchmarks/<UTC date and time>.json (then run bench/report.py to
regenerate the tables in docs/benchmarks.md and the figures in README.md). --check
compares voicebot's figures with bench/budgets.yaml and exits 1 when one is over.
The machine may be busy: the result file records its load average before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from bench import scenarios as sc
from bench.callers import long_turns, voice_turns
from bench.pipecat_bot.venv import PINS, ensure_venv, installed_version

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks"
BUDGETS = Path(__file__).with_name("budgets.yaml")

# The line's noise level (dBFS) for each kind of call.
LINES = {"quiet": -65.0, "noisy_45": -45.0, "noisy_35": -35.0}
SCENARIOS = ("reply_cached", "reply_fresh", "noisy_45", "noisy_35", "cutoffs", "load8",
             "barge_in", "echo")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def run(args: argparse.Namespace) -> dict[str, Any]:
    python = ensure_venv()
    started = time.time()
    load_before = os.getloadavg()
    mixed = voice_turns(args.turns)
    piper = voice_turns(3, voices=("piper",))
    long = long_turns(args.long)
    result: dict[str, Any] = {
        "schema": 1,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": git_commit(),
        "machine": {"host": socket.gethostname(), "cpu_model": cpu_model(),
                    "cores": os.cpu_count(), "load_before": [round(x, 2) for x in load_before]},
        "competitor": {"package": "pipecat-ai", "version": installed_version(python),
                       "pins": PINS},
        "callers": {"voices": sorted({t.voice for t in mixed}), "turns_per_voice": args.turns,
                    "long_answers": len(long)},
        "scenarios": {},
    }
    plan = [
        ("reply_cached", "cached", lambda b: sc.reply_latency(b, mixed, LINES["quiet"])),
        ("reply_fresh", "fresh", lambda b: sc.reply_latency(b, mixed, LINES["quiet"])),
        ("noisy_45", "fresh", lambda b: sc.reply_latency(b, mixed, LINES["noisy_45"])),
        ("noisy_35", "fresh", lambda b: sc.reply_latency(b, mixed, LINES["noisy_35"])),
        ("cutoffs", "fresh", lambda b: sc.cutoffs(b, args.long)),
        ("load8", "fresh", lambda b: sc.concurrent(b, args.calls, args.load_turns)),
        ("barge_in", "long", lambda b: sc.barge_in(b, mixed)),
        ("echo", "long", lambda b: sc.echo(b, piper)),
    ]
    assert [name for name, _, _ in plan] == list(SCENARIOS)
    only = set(args.scenario or SCENARIOS)
    for name, reply, measure in plan:
        if name not in only:
            continue
        result["scenarios"][name] = {}
        for bot in args.bots:
            print(f"{name}: {bot} ...", file=sys.stderr, flush=True)
            with sc.serving(bot, reply) as served:
                figures = measure(served)
            result["scenarios"][name][bot] = figures
            print(f"{name}: {bot} {json.dumps(figures)}", flush=True)
    result["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    result["machine"]["note"] = (
        "measured on a shared machine; load averages above the core count mean other "
        "work competed for the CPU during the run")
    result["seconds"] = round(time.time() - started)
    return result


def over_budget(result: dict[str, Any], budgets: dict[str, Any]) -> list[str]:
    """voicebot's figures over their budget, as 'scenario.path = value > budget'."""
    over = []
    for key, limit in budgets.items():
        scenario, *path = key.split(".")
        value: Any = result["scenarios"].get(scenario, {}).get("voicebot")
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            over.append(f"{key}: not measured (budget {limit})")
        elif value > limit:
            over.append(f"{key} = {value} > {limit}")
    return over


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=3, help="utterances per caller voice")
    parser.add_argument("--long", type=int, default=27, help="long multi-clause answers")
    parser.add_argument("--calls", type=int, default=8, help="simultaneous calls (load8)")
    parser.add_argument("--load-turns", type=int, default=3, help="turns per call (load8)")
    parser.add_argument("--bots", nargs="+", default=list(sc.BOTS), choices=sc.BOTS)
    parser.add_argument("--scenario", action="append", help="run only these (repeatable)")
    parser.add_argument("--json", action="store_true", help="write docs/benchmarks/DATE.json")
    parser.add_argument("--check", action="store_true", help="compare with bench/budgets.yaml")
    parser.add_argument("--from", dest="source", type=Path,
                        help="check this result file instead of running")
    parser.add_argument("--budgets", type=Path, default=BUDGETS)
    args = parser.parse_args()
    # A SIGTERM unwinds like Ctrl-C, so the servers this run started are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.source:
        result = json.loads(args.source.read_text())
    else:
        result = run(args)
        if args.json:
            RESULTS.mkdir(parents=True, exist_ok=True)
            path = RESULTS / f"{result['date'].replace(':', '')}.json"
            path.write_text(json.dumps(result, indent=1) + "\n")
            print(f"wrote {path.relative_to(ROOT)}")
    if args.check:
        over = over_budget(result, yaml.safe_load(args.budgets.read_text()))
        for line in over:
            print(f"OVER BUDGET: {line}")
        print("within budget" if not over else f"{len(over)} figure(s) over budget")
        return 1 if over else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
