"""Regenerate the benchmark figures in docs/benchmarks.md and README.md from the result
files bench/headline.py writes (docs/benchmarks/*.json), so no figure is typed by hand.

The newest result file is the headline; every run is listed in a history table. Text
between the markers is replaced; everything else in both files is left alone.

    .venv/bin/python -m bench.report          # rewrite both files
    .venv/bin/python -m bench.report --check  # exit 1 if they differ from the results
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks"
DOC = ROOT / "docs" / "benchmarks.md"
README = ROOT / "README.md"
MARKERS = {DOC: ("<!-- headline:begin -->", "<!-- headline:end -->"),
           README: ("<!-- figures:begin -->", "<!-- figures:end -->")}


def results() -> list[tuple[Path, dict[str, Any]]]:
    """Every result file, oldest first (their names are their UTC start times)."""
    return [(p, json.loads(p.read_text())) for p in sorted(RESULTS.glob("*.json"))]


def _get(r: dict[str, Any], scenario: str, bot: str, *path: str) -> Any:
    value: Any = r["scenarios"].get(scenario, {}).get(bot)
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _pair(r: dict[str, Any], scenario: str, bot: str, *path: str) -> str:
    fig = _get(r, scenario, bot, *path)
    if not fig or fig.get("p50_ms") is None:
        return "not measured" if fig is None else "no reply"
    return f"p50 {fig['p50_ms']:,} ms, p95 {fig['p95_ms']:,} ms (n={fig['n']})"


def _missed(r: dict[str, Any], scenario: str, bot: str) -> str:
    missed = _get(r, scenario, bot, "missed")
    failed = _get(r, scenario, bot, "failed_calls")
    out = "" if not missed else f", {missed} unanswered"
    return out + ("" if not failed else f" ({failed} calls never connected)")


def _cut(r: dict[str, Any], bot: str) -> str:
    c = _get(r, "cutoffs", bot)
    if not c or c.get("rate") is None:
        return "not measured"
    return f"{c['rate'] * 100:.0f} % ({c['cut']} of {c['n']})"


def _echo(r: dict[str, Any], bot: str) -> str:
    e = _get(r, "echo", bot)
    if not e:
        return "not measured"
    return f"{e['false_breaks']} over {e['prompts']} prompts"


def _machine(r: dict[str, Any]) -> str:
    m = r["machine"]
    return (f"{m['cpu_model']}, {m['cores']} cores, load average {m['load_before'][0]} "
            f"at the start and {m.get('load_after', ['?'])[0]} at the end")


def headline_table(path: Path, r: dict[str, Any]) -> str:
    bots = ["voicebot", "pipecat"]
    comp = f"stock pipecat {r['competitor']['version']}"
    rows = [
        ("reply, cached words (quiet line)", lambda b: _pair(r, "reply_cached", b)
         + _missed(r, "reply_cached", b)),
        ("reply, new words every turn (quiet line)", lambda b: _pair(r, "reply_fresh", b)
         + _missed(r, "reply_fresh", b)),
        ("reply, new words, noisy line -45 dBFS", lambda b: _pair(r, "noisy_45", b)
         + _missed(r, "noisy_45", b)),
        ("reply, new words, noisy line -35 dBFS", lambda b: _pair(r, "noisy_35", b)
         + _missed(r, "noisy_35", b)),
        ("cut-offs: long answers with pauses answered before the caller finished",
         lambda b: _cut(r, b)),
        ("reply with 8 talking calls, new words, Piper caller", lambda b: _pair(r, "load8", b)
         + _missed(r, "load8", b)),
        ("barge-in: speech onset -> break on the wire", lambda b: _pair(r, "barge_in", b,
                                                                         "break")),
        ("bot audio still queued at the break (lead)", lambda b: _pair(r, "barge_in", b,
                                                                        "lead")),
        ("speech onset -> end of the queued bot audio",
         lambda b: _pair(r, "barge_in", b, "heard_until")),
        ("false breaks, bot's own voice echoed at -12 dB", lambda b: _echo(r, b)),
        ("CPU-seconds per second of a talking call (cached replies)",
         lambda b: str(_get(r, "reply_cached", b, "cpu_s_per_s") or "not measured")),
    ]
    name = path.relative_to(ROOT)
    out = [f"From `{name}` (commit `{r['git_commit'][:12]}`, {r['date']}; {_machine(r)}; "
           f"{r['seconds']} s).", "", f"| figure | voicebot | {comp} |", "| --- | --- | --- |"]
    out += [f"| {label} | {fn(bots[0])} | {fn(bots[1])} |" for label, fn in rows]
    out += ["", "By caller voice (same file):", "",
            "| reply | voice | voicebot | " + comp + " |", "| --- | --- | --- | --- |"]
    for scenario, label in (("reply_cached", "cached words"), ("reply_fresh", "new words"),
                            ("noisy_35", "new words, -35 dBFS")):
        voices = _get(r, scenario, "voicebot", "by_voice") or {}
        for voice in sorted(voices):
            out.append(f"| {label} | {voice} | {_pair(r, scenario, 'voicebot', 'by_voice', voice)}"
                       f" | {_pair(r, scenario, 'pipecat', 'by_voice', voice)} |")
    return "\n".join(out)


def history_table(runs: list[tuple[Path, dict[str, Any]]]) -> str:
    out = ["Every run (newest last):", "",
           "| result file | commit | load at start | voicebot new-words p50 / p95 | "
           "pipecat new-words p50 / p95 | voicebot 8 calls p95 | cut-offs voicebot |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for path, r in runs:
        def pp(bot: str, scenario: str = "reply_fresh", r: dict[str, Any] = r) -> str:
            f = _get(r, scenario, bot)
            return "-" if not f or f.get("p50_ms") is None else f"{f['p50_ms']} / {f['p95_ms']}"
        load8 = _get(r, "load8", "voicebot", "p95_ms")
        out.append(f"| `{path.name}` | `{r['git_commit'][:12]}` | "
                   f"{r['machine']['load_before'][0]} | {pp('voicebot')} | {pp('pipecat')} | "
                   f"{'-' if load8 is None else load8} | {_cut(r, 'voicebot')} |")
    return "\n".join(out)


def readme_sentence(path: Path, r: dict[str, Any]) -> str:
    def p(scenario: str, bot: str, q: str = "p50_ms", *sub: str) -> str:
        v = _get(r, scenario, bot, *sub, q)
        return "-" if v is None else f"{v:,} ms"
    return (
        f"Measured against a stock pipecat {r['competitor']['version']} bot on the same "
        f"simulated calls, in one run on a shared 2-core machine (`{path.relative_to(ROOT)}`"
        f", load average {r['machine']['load_before'][0]}): with the offline Whisper "
        f"tiny.en model and the Piper joe voice, voicebot answers a reply it synthesises "
        f"while the caller waits in {p('reply_fresh', 'voicebot')} p50 / "
        f"{p('reply_fresh', 'voicebot', 'p95_ms')} p95 (pipecat "
        f"{p('reply_fresh', 'pipecat')} / {p('reply_fresh', 'pipecat', 'p95_ms')}), "
        f"{p('noisy_35', 'voicebot')} p50 on a noisy line at -35 dBFS (pipecat "
        f"{p('noisy_35', 'pipecat')}), cuts off {_cut(r, 'voicebot')} of long answers "
        f"with pauses (pipecat {_cut(r, 'pipecat')}), keeps 8 talking calls at "
        f"{p('load8', 'voicebot', 'p95_ms')} p95 (pipecat {p('load8', 'pipecat', 'p95_ms')})"
        f", and sends `break` {p('barge_in', 'voicebot', 'p50_ms', 'break')} p50 after a "
        f"caller talks over it (pipecat's `clear`: "
        f"{p('barge_in', 'pipecat', 'p50_ms', 'break')}). All figures: "
        f"`docs/benchmarks.md`, generated from `docs/benchmarks/` by `bench/report.py`.")


def generated() -> dict[Path, str]:
    runs = results()
    if not runs:
        return {}
    path, newest = runs[-1]
    return {DOC: headline_table(path, newest) + "\n\n" + history_table(runs),
            README: readme_sentence(path, newest)}


def replace_between(text: str, begin: str, end: str, body: str) -> str:
    head, sep, rest = text.partition(begin)
    _, sep2, tail = rest.partition(end)
    if not sep or not sep2:
        raise SystemExit(f"markers {begin} ... {end} not found")
    return f"{head}{begin}\n{body}\n{end}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    for path, body in generated().items():
        old = path.read_text()
        new = replace_between(old, *MARKERS[path], body)
        if new != old:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        print(f"out of date with docs/benchmarks/: {', '.join(map(str, stale))}; "
              "run .venv/bin/python -m bench.report")
        return 1
    print("up to date" if not stale else f"rewrote {', '.join(map(str, stale))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
