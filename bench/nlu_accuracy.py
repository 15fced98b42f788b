"""NLU accuracy on what callers say, in their own words, to flows for six businesses.

    .venv/bin/python bench/nlu_accuracy.py                 # test split -> docs/benchmarks/
    .venv/bin/python bench/nlu_accuracy.py --split dev     # look at dev (tuning) figures
    .venv/bin/python bench/nlu_accuracy.py --tune embeddings-e5   # calibrate on dev only
    .venv/bin/python bench/nlu_accuracy.py --llm-url http://127.0.0.1:8080/v1

The utterances (bench/data/domains/*.callers.yaml) were written apart from the flows'
examples, and split dev/test by hash (bench/nlu_data.py). Each is parsed with the
expectation the flow engine gives for its state and labelled as the engine reads the
result. Per NLU and per domain: accuracy; wrong-intent rate (in-scope utterances sent to
another intent: a caller transferred to the wrong desk); out-of-scope recall (no-match on
what no intent covers); parse p50/p95; memory the NLU adds. Each NLU runs in its own
process so its memory is its own. Results go to docs/benchmarks/nlu/accuracy.json (a
subfolder: bench/report.py reads the top-level files as headline runs) and the section
of docs/benchmarks.md between its markers (bench/nlu_report.py).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.nlu_data import Case, FlowStates, domain_cases, example_flow_cases  # noqa: E402
from bench.nlu_report import GOALS, write_docs  # noqa: E402
from bench.nlu_tune import tune  # noqa: E402
from voicebot.plugins.registry import PluginRegistry  # noqa: E402

RESULT = ROOT / "docs" / "benchmarks" / "nlu" / "accuracy.json"
# An NLU's name with this suffix runs it on the first-draft flows (bench/nlu_data.py).
DRAFTS = "@drafts"

# NLU name -> (plugin, options). "embeddings" is the default stack (e5).
NLUS: dict[str, tuple[str, dict[str, Any]]] = {
    "examples": ("examples", {}),
    "embeddings-e5": ("embeddings", {"encoder": "e5"}),
    "embeddings-minilm": ("embeddings", {"encoder": "minilm"}),
    "embeddings-e5-words-first": ("embeddings", {"encoder": "e5", "words_first": True}),
}


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def build(name: str, llm_url: str | None, overrides: dict[str, Any] | None = None) -> Any:
    registry = PluginRegistry([], root=ROOT)
    if name == "llm":
        return registry.create("nlu", "llm", {"base_url": llm_url, "timeout": 30.0})
    plugin, options = NLUS[name]
    return registry.create("nlu", plugin, {**options, **(overrides or {})})


async def parse_all(plugin: Any, cases: list[Case], states: FlowStates) -> list[dict[str, Any]]:
    rows = []
    is_async = inspect.iscoroutinefunction(plugin.parse)
    for case in cases:
        expectation = states.expectation(case)
        start, cpu = time.perf_counter(), time.thread_time()
        result = (await plugin.parse(case.text, expectation) if is_async
                  else plugin.parse(case.text, expectation))
        seconds = time.perf_counter() - start
        # CPU time of this thread (the encoders run on the calling thread): what the parse
        # costs whatever else the machine runs; wall time is what a caller waits.
        cpu_seconds = time.thread_time() - cpu
        got, value = states.label(case, result, expectation)
        correct = got == case.expected and (got != "slot" or value == case.value)
        rows.append({"domain": case.domain, "state": case.state, "text": case.text,
                     "expected": case.expected, "want": case.value, "got": got,
                     "value": value, "correct": correct, "ms": seconds * 1000,
                     "cpu_ms": cpu_seconds * 1000})
    return rows


def metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    in_scope = [r for r in rows if r["expected"] != "none"]
    oos = [r for r in rows if r["expected"] == "none"]
    wrong = [r for r in in_scope if r["got"] not in ("none", "slot", r["expected"])
             or (r["expected"] == "slot" and r["got"] not in ("none", "slot"))]
    return {
        "n": len(rows),
        "accuracy": sum(r["correct"] for r in rows) / max(len(rows), 1),
        "wrong_intent": len(wrong) / max(len(in_scope), 1),
        "oos_recall": sum(r["got"] == "none" for r in oos) / len(oos) if oos else None,
        "in_scope": len(in_scope),
        "out_of_scope": len(oos),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def worker(name: str, split: str, llm_url: str | None) -> dict[str, Any]:
    """One NLU in this process: load it, parse every case of the split, measure.
    A name ending in DRAFTS is that NLU on the domains' first-draft flows."""
    cases = [c for c in domain_cases() if c.split == split or split == "all"]
    states = FlowStates(drafts=name.endswith(DRAFTS))
    nlu_name = name.removesuffix(DRAFTS)
    for case in cases + example_flow_cases():  # flows parsed before the baseline: they
        states.expectation(case)  # are not the NLU's memory
    before = rss_mb()
    start = time.perf_counter()
    plugin = build(nlu_name, llm_url)
    plugin.load()
    load_s = time.perf_counter() - start
    # A server prepares every state of its flow at start-up (Services.load); do the same,
    # timed apart: it is start-up time, not a caller's.
    start = time.perf_counter()
    prepare = getattr(plugin, "prepare", None)
    if callable(prepare):
        prepare([states.expectation(c) for c in {(c.flow, c.state): c
                                                 for c in cases + example_flow_cases()}.values()])
    prepare_s = time.perf_counter() - start
    # The first parse in a state (after `prepare`, nothing is left to embed but the
    # utterance), measured apart so p50/p95 are the steady per-turn cost.
    start = time.perf_counter()
    warm = {(c.flow, c.state): c for c in cases}
    asyncio.run(parse_all(plugin, list(warm.values()), states))
    warm_s = (time.perf_counter() - start) / max(len(warm), 1)
    rows = asyncio.run(parse_all(plugin, cases, states))
    examples = example_flow_cases()
    example_rows = asyncio.run(parse_all(plugin, examples, states))
    by_domain: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_domain[row["domain"]].append(row)
    times = [r["ms"] for r in rows]
    cpu = [r["cpu_ms"] for r in rows]
    return {
        "nlu": name, "split": split, "overall": metrics(rows),
        "examples_per_intent": examples_per_intent(cases, states.drafts),
        "domains": {d: metrics(rs) for d, rs in sorted(by_domain.items())},
        "example_flows": metrics(example_rows),
        "p50_ms": percentile(times, 0.5), "p95_ms": percentile(times, 0.95),
        "cpu_p50_ms": percentile(cpu, 0.5), "cpu_p95_ms": percentile(cpu, 0.95),
        "load_s": load_s, "prepare_s": prepare_s, "first_parse_in_state_s": warm_s,
        "memory_mb": rss_mb() - before,
        "misses": [{k: r[k] for k in ("domain", "state", "text", "expected", "want", "got",
                                      "value")} for r in rows if not r["correct"]],
    }


def run_isolated(name: str, split: str, llm_url: str | None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", name, "--split", split]
    if llm_url:
        command += ["--llm-url", llm_url]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name}: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def examples_per_intent(cases: list[Case], drafts: bool = False) -> float:
    """Mean examples per intent over the bench's flows: how much each flow says."""
    states = FlowStates(drafts)
    counts = [len(spec.examples) for flow in sorted({c.flow for c in cases})
              for spec in states.engine(flow).flow.intents.values()]
    return sum(counts) / max(len(counts), 1)


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "loadavg": [round(x, 2) for x in os.getloadavg()]}


def show(result: dict[str, Any], misses: int) -> None:
    o = result["overall"]
    print(f"\n== {result['nlu']} on {result['split']}: accuracy {o['accuracy']:.1%}, wrong "
          f"intent {o['wrong_intent']:.1%}, out-of-scope recall {o['oos_recall']:.1%}; "
          f"p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms (CPU "
          f"{result['cpu_p50_ms']:.1f} / {result['cpu_p95_ms']:.1f} ms), "
          f"+{result['memory_mb']:.0f} MB, load {result['load_s']:.2f} s, first parse in a "
          f"state {result['first_parse_in_state_s']:.2f} s")
    e = result["example_flows"]
    print(f"   example flows (not held out): {e['accuracy']:.1%}, wrong {e['wrong_intent']:.1%}, "
          f"oos {e['oos_recall']:.1%} ({e['n']})")
    for domain, m in result["domains"].items():
        print(f"   {domain:<8} {m['accuracy']:6.1%}  wrong {m['wrong_intent']:5.1%}  "
              f"oos {m['oos_recall']:6.1%}  ({m['n']})")
    for miss in result["misses"][:misses]:
        want = f"slot={miss['want']!r}" if miss["expected"] == "slot" else miss["expected"]
        got = f"slot={miss['value']!r}" if miss["got"] == "slot" else miss["got"]
        print(f"   miss [{miss['domain']}/{miss['state']}] {miss['text']!r}: want {want}, "
              f"got {got}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--nlus", default="examples,embeddings-minilm,embeddings-e5,"
                        f"embeddings-e5-words-first,embeddings-e5{DRAFTS}",
                        help=f"comma-separated; NAME{DRAFTS} runs NAME on the first-draft "
                        "flows (default: %(default)s)")
    parser.add_argument("--split", choices=["dev", "test", "all"], default="test")
    parser.add_argument("--llm-url", default=None, help="also run the llm plugin against this")
    parser.add_argument("--misses", type=int, default=10, help="misses to print per NLU")
    parser.add_argument("--tune", metavar="NLU", help="calibrate this NLU on dev and stop")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.split, args.llm_url)))
        return 0
    if args.tune:
        tune(args.tune, build, parse_all, metrics)
        return 0
    names = [n for n in args.nlus.split(",") if n] + (["llm"] if args.llm_url else [])
    cases = domain_cases()
    before = machine()
    print(f"{len(cases)} utterances ({sum(c.split == 'dev' for c in cases)} dev, "
          f"{sum(c.split == 'test' for c in cases)} test); {before['cpu']}, "
          f"load {before['loadavg']}")
    results = []
    for name in names:
        result = run_isolated(name, args.split, args.llm_url)
        show(result, args.misses)
        results.append(result)
    if args.no_write or args.split != "test":
        return 0
    report = {
        "bench": "nlu_accuracy", "command": "bench/nlu_accuracy.py " + " ".join(argv or []),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {**before, "loadavg_end": machine()["loadavg"]},
        "data": {"utterances": len(cases), "dev": sum(c.split == "dev" for c in cases),
                 "test": sum(c.split == "test" for c in cases),
                 "domains": sorted({c.domain for c in cases}),
                 "examples_per_intent": examples_per_intent(cases)},
        "goals": GOALS, "default": "embeddings-e5", "results": results,
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    write_docs(report)
    print(f"\nwrote {RESULT.relative_to(ROOT)} and docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
