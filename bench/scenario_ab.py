"""A headline scenario (bench/scenarios.py) against voicebot in several configurations,
in one run, alternating: on a shared machine the load drifts, and alternating spreads
it over every variant.

    python -m bench.scenario_ab [--scenario load8|barge_in] [--rounds 3]
        [--variant NAME='{"speak": {"lead_ms": 120}}' ...] [--json FILE]

A variant is a name and the voicebot config sections it overrides (JSON), applied to a
fresh server per run; `base` (the defaults) runs first in each round. Per run, with the
1-minute load average: load8 (eight talking calls, fresh replies) gives every reply
latency and where its time went (the server's per-stage histograms,
bench/load_breakdown.py); barge_in gives the break, the lead and the end of the queued
audio. Both give the holes in the bot's speech as the media server played it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from bench import scenarios as sc
from bench.callers import voice_turns
from bench.corpus import percentile
from bench.load_breakdown import breakdown, show
from bench.server_stats import fetch_metrics
from voicebot.testing.server import running_server


def load8(overrides: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    with running_server(sc.VOICEBOT_FLOWS["fresh"], **overrides) as srv:
        bot = sc.Bot("voicebot", srv["url"], srv["process"].pid, sc.RingoverWire)
        before = fetch_metrics(srv["http"])
        latencies: list[float] = []
        figures = sc.concurrent(bot, args.calls, args.turns, latencies)
        time.sleep(0.5)
        where = breakdown(before, fetch_metrics(srv["http"]), srv["db"], "load")
    return {**figures, "breakdown": where, "latencies_ms": [round(x * 1000) for x in latencies]}


def barge_in(overrides: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    with running_server(sc.VOICEBOT_FLOWS["long"], **overrides) as srv:
        bot = sc.Bot("voicebot", srv["url"], srv["process"].pid, sc.RingoverWire)
        return sc.barge_in(bot, voice_turns(args.turns))


def one_run(scenario: str, overrides: dict[str, Any], args: argparse.Namespace
            ) -> dict[str, Any]:
    load0 = os.getloadavg()[0]
    figures = (load8 if scenario == "load8" else barge_in)(overrides, args)
    return {**figures, "load": [round(load0, 2), round(os.getloadavg()[0], 2)]}


def show_run(scenario: str, r: dict[str, Any]) -> str:
    if scenario == "load8":
        return (f"p50 {r['p50_ms']} p95 {r['p95_ms']} missed {r['missed']}; underruns "
                f"{r['underruns']}\n{show(r['breakdown'])}")
    return (f"break {r['break']}; lead {r['lead']}; heard until {r['heard_until']}; "
            f"underruns {r['underruns']}; no break {r['no_break']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", choices=("load8", "barge_in"), default="load8")
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME=JSON: voicebot config sections to override")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=8, help="load8: calls at once")
    parser.add_argument("--turns", type=int, default=3,
                        help="load8: turns a call; barge_in: turns per caller voice")
    parser.add_argument("--no-base", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    variants: dict[str, dict[str, Any]] = {} if args.no_base else {"base": {}}
    for spec in args.variant:
        name, _, conf = spec.partition("=")
        variants[name] = json.loads(conf or "{}")
    runs: dict[str, list[dict[str, Any]]] = {n: [] for n in variants}
    for i in range(args.rounds):
        for name, conf in variants.items():
            r = one_run(args.scenario, conf, args)
            runs[name].append(r)
            print(f"== {name} round {i + 1}, load {r['load']}: {show_run(args.scenario, r)}",
                  flush=True)
    print("\nsummary (pooled over rounds):")
    for name, rs in runs.items():
        holes = [r["underruns"] for r in rs]
        under = (f"underruns {sum(h['n'] for h in holes)} "
                 f"({sum(h['total_ms'] for h in holes)} ms in "
                 f"{sum(h['played_s'] for h in holes):.0f} s played)")
        if args.scenario == "load8":
            lat = [x for r in rs for x in r["latencies_ms"]]
            print(f"  {name:12s} n={len(lat)} p50 {percentile(lat, 50):.0f} p95 "
                  f"{percentile(lat, 95):.0f} max {max(lat, default=0):.0f}; runs' p95 "
                  f"{[r['p95_ms'] for r in rs]}; {under}; loads {[r['load'] for r in rs]}")
        else:
            print(f"  {name:12s} break p50 {[r['break']['p50_ms'] for r in rs]}; lead p50 "
                  f"{[r['lead']['p50_ms'] for r in rs]}; heard until p50/p95 "
                  f"{[(r['heard_until']['p50_ms'], r['heard_until']['p95_ms']) for r in rs]}"
                  f"; {under}; loads {[r['load'] for r in rs]}")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1) + "\n")


if __name__ == "__main__":
    main()
