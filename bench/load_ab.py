"""Eight talking calls with fresh replies, before and after the STT scheduler, in one run.

Runs bench/concurrent_calls.py (8 calls, 4 turns each, every reply new text, Piper voice)
for each variant in turn, alternating, `--rounds` times: on a shared machine the load
drifts, and alternating spreads it over both. The variants:
- before: STT and NLU on one first-come queue, every speculative transcription filed
  (`server.stt_priority: false`), and Piper's own onnxruntime session (`threads: 0`);
- after: the defaults (call/stt_scheduler.py, NLU threads apart, Piper on one thread
  that does not spin).
Each run's figures, its per-stage breakdown (bench/load_breakdown.py) and the load
average are kept; the reply figures pool every turn of a variant's runs.

    python -m bench.load_ab [--rounds 3] [--json] [--render]

--json writes docs/benchmarks/load-ab-DATE.json; --render rewrites its section of
docs/benchmarks.md from the newest such file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.corpus import percentile
from bench.result_section import ROOT, bench_main, machine, render_section

COMMAND = ["--levels", "8", "--turns", "4", "--fresh", "--tts", "piper"]
VARIANTS = {
    "before": ["--stt-queue", "fifo", "--piper-threads", "0"],
    "after": [],
}


def run_once(extra: list[str], out: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.concurrent_calls", *COMMAND, *extra, "--json", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    print(proc.stdout, end="", flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    level: dict[str, Any] = json.loads(out.read_text())["levels"][0]
    level["load_before"] = json.loads(out.read_text())["machine"]["load_before"][0]
    return level


def _p95(run: dict[str, Any], label: str) -> Any:
    return run["breakdown"]["turns"].get(label, {}).get("p95_ms")


def _mean(run: dict[str, Any], label: str) -> Any:
    return run["breakdown"]["jobs"].get(label, {}).get("mean_ms")


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    pooled = [x for r in runs for x in r["latencies_ms"]]
    turns = sum(r["turns"] + r["missed"] for r in runs)
    return {"runs": len(runs), "turns": len(pooled), "of": turns,
            "p50_ms": round(percentile(pooled, 50)), "p95_ms": round(percentile(pooled, 95)),
            "run_p95_ms": [r["p95_ms"] for r in runs],
            "cpu_per_call_s": [r["server_cpu_per_call_s"] for r in runs],
            "loads": [round(r["load"], 1) for r in runs]}


def measure(rounds: int) -> dict[str, Any]:
    started = machine()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            for name, extra in VARIANTS.items():
                print(f"== {name}, round {i + 1}", flush=True)
                runs[name].append(run_once(extra, Path(tmp) / f"{name}-{i}.json"))
    return {"bench": "load_ab", "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": started, "load_after": machine()["load_avg"],
            "command": "python -m bench.concurrent_calls " + " ".join(COMMAND),
            "variants": {n: " ".join(v) or "(defaults)" for n, v in VARIANTS.items()},
            "summary": {n: summary(r) for n, r in runs.items()}, "runs": runs}


def table(result: dict[str, Any]) -> str:
    rows = ["| variant | runs (1-min load at each) | turns timed | reply p50 / p95, all "
            "turns | p95 of each run | turn end -> transcript, p95 of each run | NLU p95 "
            "| STT run, mean | Piper piece run, mean | server CPU-s per call-s |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, s in result["summary"].items():
        runs = result["runs"][name]

        def each(f: Any, label: str, runs: list[dict[str, Any]] = runs) -> str:
            return " / ".join(str(f(r, label)) for r in runs)

        # A guess used as its turn's transcript stays counted as a guess.
        stt = [" / ".join(f"{kind} {_mean(r, f'stt {kind}: run')}"
                          for kind in ("final", "speculative")
                          if _mean(r, f"stt {kind}: run") is not None) for r in runs]
        rows.append(
            f"| {name}: `{result['variants'][name]}` "
            f"| {s['runs']} ({', '.join(map(str, s['loads']))}) "
            f"| {s['turns']} of {s['of']} | {s['p50_ms']:,} / {s['p95_ms']:,} ms "
            f"| {' / '.join(map(str, s['run_p95_ms']))} ms "
            f"| {each(_p95, 'turn end -> transcript')} ms | {each(_p95, 'nlu')} ms "
            f"| {'; '.join(stt)} ms "
            f"| {each(_mean, 'tts: run (one piece)')} ms "
            f"| {' / '.join(map(str, s['cpu_per_call_s']))} |")
    return "\n".join(rows)


def render() -> None:
    files = sorted((ROOT / "docs" / "benchmarks").glob("load-ab-*.json"))
    if not files:
        raise SystemExit("no docs/benchmarks/load-ab-*.json to render")
    result = json.loads(files[-1].read_text())
    result["table"] = table(result)
    path = files[-1]
    path.write_text(json.dumps(result, indent=2) + "\n")
    render_section("load-ab", "load-ab",
                   "Eight talking calls, fresh replies: before and after the STT scheduler",
                   "python -m bench.load_ab --json", ["{table}"])


def _show(result: dict[str, Any]) -> None:
    for name, s in result["summary"].items():
        print(f"{name}: {json.dumps(s)}")


def main() -> None:
    bench_main(
        __doc__ or "", "load-ab",
        lambda parser: parser.add_argument("--rounds", type=int, default=3),
        lambda args: measure(args.rounds), _show, render)


if __name__ == "__main__":
    main()
