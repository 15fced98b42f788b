"""Speed against cut-offs: voicebot's end-of-turn policies on the same calls.

For each policy (a fixed hangover of 300/400/600/800 ms, and the transcript policy:
the hangover when the pause's speculative transcript looks finished, longer when it
looks unfinished; docs/turn-taking.md "When a turn ends") a fresh server answers
- the headline's long multi-clause answers (bench/scenarios.py `cutoffs`): the share
  answered before the caller finished, and
- the headline's fresh-reply calls on a quiet line (three voices): reply p50/p95 from
  the caller's last speech sample (the headline measures the noisy lines).

    .venv/bin/python -m bench.end_of_turn [--long 27] [--turns 3] [--policy NAME ...]
    .venv/bin/python -m bench.end_of_turn --render   # docs/benchmarks.md from the file

Writes docs/benchmarks/end-of-turn-DATE.json and its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from typing import Any

from bench import scenarios as sc
from bench.callers import voice_turns
from bench.result_section import RESULTS, machine, render_section, write_result

LINES = {"quiet": -65.0}
POLICIES: dict[str, dict[str, Any]] = {
    "fixed 300 ms": {"end_of_turn": "fixed", "hangover_ms": 300},
    "fixed 400 ms": {"end_of_turn": "fixed", "hangover_ms": 400},
    "fixed 600 ms": {"end_of_turn": "fixed", "hangover_ms": 600},
    "fixed 800 ms": {"end_of_turn": "fixed", "hangover_ms": 800},
    "transcript 300/900 ms": {"end_of_turn": "transcript", "hangover_ms": 300,
                              "unfinished_hangover_ms": 900},
    "transcript 400/900 ms": {"end_of_turn": "transcript", "hangover_ms": 400,
                              "unfinished_hangover_ms": 900},
    "transcript 600/900 ms": {"end_of_turn": "transcript", "hangover_ms": 600,
                              "unfinished_hangover_ms": 900},
}
COMMAND = ".venv/bin/python -m bench.end_of_turn"


def run(args: argparse.Namespace) -> dict[str, Any]:
    mixed = voice_turns(args.turns)
    started = time.time()
    result: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(), "long_answers": args.long, "turns_per_voice": args.turns,
        "policies": {},
    }
    for name in args.policy or list(POLICIES):
        listen = POLICIES[name]
        row: dict[str, Any] = {"listen": listen}
        with sc.serving("voicebot", "fresh", listen=listen) as bot:
            row["cutoffs"] = sc.cutoffs(bot, args.long)
        for line, dbfs in LINES.items():
            with sc.serving("voicebot", "fresh", listen=listen) as bot:
                row[line] = sc.reply_latency(bot, mixed, dbfs)
        row["load_after"] = round(os.getloadavg()[0], 2)
        result["policies"][name] = row
        print(f"{name}: {json.dumps(row)}", flush=True)
    result["machine"]["load_after"] = os.getloadavg()
    result["seconds"] = round(time.time() - started)
    return result


def _rows(result: dict[str, Any]) -> list[str]:
    rows = ["| policy (`listen:`) | cut-offs | fresh reply (quiet line) |",
            "| --- | --- | --- |"]
    for name, row in result["policies"].items():
        c = row["cutoffs"]
        voices = ", ".join(f"{v} {t['cut']}/{t['n']}" for v, t in
                           sorted(c.get("by_voice", {}).items()))
        cells = [f"**{c['rate']:.0%}** ({c['cut']} of {c['n']}: {voices})"]
        for line in LINES:
            fig = row[line]
            cells.append("no reply" if fig["p50_ms"] is None else
                         f"p50 {fig['p50_ms']:,} ms, p95 {fig['p95_ms']:,} ms (n={fig['n']})")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return [r.replace("{", "{{").replace("}", "}}") for r in rows]


def render() -> None:
    files = sorted(RESULTS.glob("end-of-turn-*.json"))
    if not files:
        raise SystemExit("no docs/benchmarks/end-of-turn-*.json: run the bench first")
    result = json.loads(files[-1].read_text())
    render_section("end-of-turn", "end-of-turn", "End of turn: speed against cut-offs",
                   COMMAND + f" --long {result['long_answers']}", _rows(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", type=int, default=27, help="long multi-clause answers")
    parser.add_argument("--turns", type=int, default=3, help="fresh-reply turns per voice")
    parser.add_argument("--policy", action="append", choices=list(POLICIES),
                        help="run only these (repeatable)")
    parser.add_argument("--render", action="store_true",
                        help="only regenerate docs/benchmarks.md from the newest file")
    args = parser.parse_args()
    if not args.render:
        result = run(args)
        today = RESULTS / f"end-of-turn-{result['date'][:10]}.json"
        if args.policy and today.exists():
            # Some policies re-run: today's file keeps the others (each row says its load).
            kept = json.loads(today.read_text())
            result["policies"] = {**kept["policies"], **result["policies"]}
            result["policies"] = {k: result["policies"][k] for k in POLICIES
                                  if k in result["policies"]}
        print(f"wrote {write_result(result, 'end-of-turn')}")
    render()
    return 0


if __name__ == "__main__":
    sys.exit(main())
