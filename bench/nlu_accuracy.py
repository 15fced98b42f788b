"""NLU accuracy on caller paraphrases of the example flows' intents and slots.

    .venv/bin/python bench/nlu_accuracy.py [--plugins examples,embeddings,regex]
                                           [--llm-url http://127.0.0.1:8080/v1 --llm-model m]

Each utterance in bench/data/nlu_paraphrases.yaml is parsed with the expectation that
the flow engine gives for its state, then labelled the way the engine reads the result:
the intent if its confidence reaches the flow's `min_confidence`, else the state's slot
if the utterance fills it, else no-match. Prints accuracy per flow and overall, a
confusion table, the misses, and the time per utterance, for each plugin.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import platform
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voicebot.flow import slots  # noqa: E402
from voicebot.flow.engine import CallState, FlowEngine  # noqa: E402
from voicebot.flow.loader import load_flow  # noqa: E402
from voicebot.plugins.base import Expectation  # noqa: E402
from voicebot.plugins.registry import PluginConfigError, PluginRegistry  # noqa: E402

DATA = ROOT / "bench" / "data" / "nlu_paraphrases.yaml"


@dataclass
class Case:
    flow: str
    state: str
    text: str
    expected: str  # intent name, "none", or "slot"
    value: Any = None  # the slot value when expected == "slot"


@dataclass
class Outcome:
    case: Case
    predicted: str
    value: Any
    seconds: float

    @property
    def correct(self) -> bool:
        if self.case.expected == "slot":
            return self.predicted == "slot" and self.value == self.case.value
        return self.predicted == self.case.expected


def load_cases(path: Path) -> list[Case]:
    cases = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8")):
        for label, texts in block["expect"].items():
            if label.startswith("slot:"):
                expected, value = "slot", yaml.safe_load(label[len("slot:"):])
            else:
                expected, value = label, None
            for text in texts:
                cases.append(Case(block["flow"], block["state"], text, expected, value))
    return cases


class FlowStates:
    """Expectations and slot reading exactly as the flow engine does them."""

    def __init__(self) -> None:
        self.flows: dict[str, Any] = {}
        self.engines: dict[str, FlowEngine] = {}

    def engine(self, name: str) -> FlowEngine:
        if name not in self.engines:
            flow = load_flow(ROOT / "flows" / f"{name}.yaml")
            self.flows[name] = flow
            self.engines[name] = FlowEngine(flow)
        return self.engines[name]

    def expectation(self, case: Case) -> Expectation:
        return self.engine(case.flow).expectation(CallState(state=case.state))

    def label(self, case: Case, result: Any, expectation: Expectation) -> tuple[str, Any]:
        flow = self.flows[case.flow]
        offered = {i.name for i in expectation.intents}
        if (result.intent in offered
                and result.confidence >= flow.defaults.min_confidence):
            return result.intent, None
        collect = flow.states[case.state].collect
        if collect is not None:
            value = slots.from_text(collect, result.text, result.entities)
            if value is not None:
                return "slot", value
        return "none", None


async def run_plugin(plugin: Any, cases: list[Case], states: FlowStates) -> list[Outcome]:
    plugin.load()
    outcomes = []
    is_async = inspect.iscoroutinefunction(plugin.parse)
    for case in cases:
        expectation = states.expectation(case)
        start = time.perf_counter()
        if is_async:
            result = await plugin.parse(case.text, expectation)
        else:
            result = plugin.parse(case.text, expectation)
        seconds = time.perf_counter() - start
        predicted, value = states.label(case, result, expectation)
        outcomes.append(Outcome(case, predicted, value, seconds))
    return outcomes


def confusion(outcomes: list[Outcome]) -> str:
    labels = sorted({o.case.expected for o in outcomes} | {o.predicted for o in outcomes},
                    key=lambda x: (x in ("none", "slot"), x))
    counts = Counter((o.case.expected, o.predicted) for o in outcomes)
    width = max(len(x) for x in labels) + 1
    head = "expected \\ got".ljust(width + 4) + "".join(x[:9].rjust(10) for x in labels)
    rows = [head]
    for exp in labels:
        if not any(o.case.expected == exp for o in outcomes):
            continue
        rows.append(exp.ljust(width + 4)
                    + "".join(str(counts[(exp, got)] or ".").rjust(10) for got in labels))
    return "\n".join(rows)


def report(name: str, outcomes: list[Outcome], show_misses: int) -> dict[str, Any]:
    by_flow: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_flow[o.case.flow].append(o)
    total = sum(o.correct for o in outcomes) / len(outcomes)
    times = sorted(o.seconds for o in outcomes)
    p95 = times[int(0.95 * (len(times) - 1))]
    print(f"\n== nlu plugin {name!r}: accuracy {total:.1%} on {len(outcomes)} utterances ==")
    for flow, group in sorted(by_flow.items()):
        acc = sum(o.correct for o in group) / len(group)
        print(f"  {flow:<16} {acc:6.1%}  ({len(group)} utterances)")
    wrong_value = sum(o.case.expected == "slot" == o.predicted and not o.correct
                      for o in outcomes)
    print(f"  time per utterance: median {statistics.median(times) * 1000:.2f} ms, "
          f"p95 {p95 * 1000:.2f} ms; slot filled with a wrong value: {wrong_value}")
    print(confusion(outcomes))
    misses = [o for o in outcomes if not o.correct]
    for o in misses[:show_misses]:
        want = f"slot={o.case.value!r}" if o.case.expected == "slot" else o.case.expected
        got = f"slot={o.value!r}" if o.predicted == "slot" else o.predicted
        print(f"  miss [{o.case.flow}/{o.case.state}] {o.case.text!r}: want {want}, got {got}")
    return {"plugin": name, "accuracy": total, "n": len(outcomes),
            "median_ms": statistics.median(times) * 1000, "p95_ms": p95 * 1000}


# Named option sets worth comparing, usable in --plugins beside the plugin names.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "embeddings-only": ("embeddings", {"words_first": False}),
}


def build(registry: PluginRegistry, name: str, args: argparse.Namespace) -> Any:
    if name in VARIANTS:
        plugin, options = VARIANTS[name]
        return registry.create("nlu", plugin, options)
    if name == "llm":
        return registry.create("nlu", "llm", {"base_url": args.llm_url, "model": args.llm_model,
                                              "timeout": 30.0})
    return registry.create("nlu", name, {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", default="examples,embeddings,embeddings-only,regex",
                        help="comma-separated NLU plugin names (default: %(default)s)")
    parser.add_argument("--llm-url", default=None, help="also run the llm plugin against this")
    parser.add_argument("--llm-model", default="local")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--misses", type=int, default=15, help="misses to print per plugin")
    args = parser.parse_args(argv)

    cases = load_cases(Path(args.data))
    names = [n for n in args.plugins.split(",") if n]
    if args.llm_url and "llm" not in names:
        names.append("llm")
    registry = PluginRegistry(["plugins.regex_nlu:RegexNLU"], root=ROOT)
    states = FlowStates()
    print(f"{len(cases)} utterances from {args.data}; "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    summary = []
    for name in names:
        try:
            plugin = build(registry, name, args)
            outcomes = asyncio.run(run_plugin(plugin, cases, states))
        except (PluginConfigError, RuntimeError, OSError) as exc:
            print(f"\n== nlu plugin {name!r}: skipped: {exc}")
            continue
        summary.append(report(name, outcomes, args.misses))
    print("\nplugin            accuracy   median ms   p95 ms")
    for row in summary:
        print(f"{row['plugin']:<16} {row['accuracy']:9.1%} {row['median_ms']:11.2f} "
              f"{row['p95_ms']:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
