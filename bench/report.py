"""Regenerate the benchmark figures in docs/benchmarks.md and README.md from the result
files bench/headline.py writes (docs/benchmarks/*.json), so no figure is typed by hand.

Each figure comes from the newest result file that measured its scenario for both bots
(a run may measure only some scenarios), and names that file; every run is listed in a
history table. Text between the markers is replaced; the rest of both files is left alone.

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
    # Only the headline's own files, named by their start time (other benches keep theirs
    # beside them: cluster.json, hostile.json, nlu/).
    return [(p, json.loads(p.read_text())) for p in sorted(RESULTS.glob("20[0-9][0-9]-*Z.json"))]


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


def _barge_misses(r: dict[str, Any], bot: str) -> str:
    fig = _get(r, "barge_in", bot) or {}
    out = ""
    if fig.get("no_break"):
        out += f", {fig['no_break']} talk-overs without a break"
    if fig.get("no_prompt"):
        out += f", {fig['no_prompt']} trials with no prompt playing"
    if fig.get("missed"):  # files before the two were told apart
        out += f", {fig['missed']} trials with no prompt playing or no break"
    return out


def _cut(r: dict[str, Any], bot: str) -> str:
    c = _get(r, "cutoffs", bot)
    if not c or c.get("rate") is None:
        return "not measured"
    how = (f": {c['early']} before the caller finished, {c['twice']} answered twice"
           if "twice" in c else "")
    return f"{c['rate'] * 100:.0f} % ({c['cut']} of {c['n']}{how})"


def _echo(r: dict[str, Any], bot: str) -> str:
    e = _get(r, "echo", bot)
    if not e:
        return "not measured"
    return f"{e['false_breaks']} over {e['prompts']} prompts"


def _holes(r: dict[str, Any], scenario: str, bot: str) -> str:
    h = _get(r, scenario, bot, "underruns")
    if not h:
        return "not measured"
    return f"{h['n']} ({h['total_ms']:,} ms) in {h['played_s']:,} s of bot audio"


def _machine(r: dict[str, Any]) -> str:
    m = r["machine"]
    return (f"{m['cpu_model']}, {m['cores']} cores, load average {m['load_before'][0]} "
            f"at the start and {m.get('load_after', ['?'])[0]} at the end")


Runs = list[tuple[Path, dict[str, Any]]]

# (what the row says, the scenario it comes from, how to read it for one bot)
ROWS: list[tuple[str, str, Any]] = [
    ("reply, cached words (quiet line)", "reply_cached",
     lambda r, b: _pair(r, "reply_cached", b) + _missed(r, "reply_cached", b)),
    ("reply, new words every turn (quiet line)", "reply_fresh",
     lambda r, b: _pair(r, "reply_fresh", b) + _missed(r, "reply_fresh", b)),
    ("reply, new words, noisy line -45 dBFS", "noisy_45",
     lambda r, b: _pair(r, "noisy_45", b) + _missed(r, "noisy_45", b)),
    ("reply, new words, noisy line -35 dBFS", "noisy_35",
     lambda r, b: _pair(r, "noisy_35", b) + _missed(r, "noisy_35", b)),
    ("cut-offs: long answers with pauses of which the bot answered a part", "cutoffs",
     lambda r, b: _cut(r, b)),
    ("reply with 8 talking calls, new words, Piper caller", "load8",
     lambda r, b: _pair(r, "load8", b) + _missed(r, "load8", b)),
    ("8 calls: set-up, connect -> greeting audio", "load8",
     lambda r, b: _pair(r, "load8", b, "setup")),
    ("8 calls: holes in the bot's speech (its audio ran out mid-reply)", "load8",
     lambda r, b: _holes(r, "load8", b)),
    ("barge-in: speech onset -> break on the wire", "barge_in",
     lambda r, b: _pair(r, "barge_in", b, "break") + _barge_misses(r, b)),
    ("bot audio still queued at the break (lead)", "barge_in",
     lambda r, b: _pair(r, "barge_in", b, "lead")),
    ("speech onset -> end of the queued bot audio", "barge_in",
     lambda r, b: _pair(r, "barge_in", b, "heard_until")),
    ("false breaks, bot's own voice echoed at -12 dB", "echo", lambda r, b: _echo(r, b)),
    ("CPU-seconds per second of a talking call (cached words, greeting on)", "reply_cached",
     lambda r, b: str(_get(r, "reply_cached", b, "cpu_s_per_s") or "not measured")),
]


def newest_with(runs: Runs, scenario: str) -> tuple[Path, dict[str, Any]] | None:
    """The newest run that measured `scenario` for both bots (a run may measure only some
    scenarios, e.g. `--scenario load8`)."""
    for path, r in reversed(runs):
        if set(r["scenarios"].get(scenario, {})) >= {"voicebot", "pipecat"}:
            return path, r
    return None


def headline_table(runs: Runs) -> str:
    used: dict[Path, dict[str, Any]] = {}
    lines = []
    for label, scenario, read in ROWS:
        found = newest_with(runs, scenario)
        if found is None:
            lines.append(f"| {label} | not measured | not measured | |")
            continue
        path, r = found
        used[path] = r
        lines.append(f"| {label} | {read(r, 'voicebot')} | {read(r, 'pipecat')} | "
                     f"`{path.name}` |")
    versions = sorted({r["competitor"]["version"] for r in used.values()})
    comp = f"stock pipecat {', '.join(versions)}"
    out = [f"`{p.relative_to(ROOT)}`: commit `{r['git_commit'][:12]}`, {r['date']}, "
           f"{_machine(r)}, {r['seconds']} s." for p, r in sorted(used.items())]
    out = ["Each row names the result file it comes from (both bots, one run):", ""] + [
        f"- {line}" for line in out]
    out += ["", f"| figure | voicebot | {comp} | result file |", "| --- | --- | --- | --- |"]
    out += lines
    voice_rows = []
    for scenario, label in (("reply_cached", "cached words"), ("reply_fresh", "new words"),
                            ("noisy_35", "new words, -35 dBFS")):
        found = newest_with(runs, scenario)
        if found is None:
            continue
        path, r = found
        for voice in sorted(_get(r, scenario, "voicebot", "by_voice") or {}):
            voice_rows.append(
                f"| {label} | {voice} | {_pair(r, scenario, 'voicebot', 'by_voice', voice)} | "
                f"{_pair(r, scenario, 'pipecat', 'by_voice', voice)} | `{path.name}` |")
    if voice_rows:
        out += ["", "By caller voice:", "",
                f"| reply | voice | voicebot | {comp} | result file |",
                "| --- | --- | --- | --- | --- |", *voice_rows]
    return "\n".join(out)


def history_table(runs: Runs) -> str:
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


def readme_sentence(runs: Runs) -> str:
    def src(scenario: str) -> tuple[Path, dict[str, Any]]:
        found = newest_with(runs, scenario)
        return found if found is not None else (Path(), {"scenarios": {}})

    def p(scenario: str, bot: str, q: str = "p50_ms", *sub: str) -> str:
        v = _get(src(scenario)[1], scenario, bot, *sub, q)
        return "-" if v is None else f"{v:,} ms"

    def cite(*scenarios: str) -> str:
        names = sorted({src(s)[0].name for s in scenarios if src(s)[1]["scenarios"]})
        return ", ".join(f"`docs/benchmarks/{n}`" for n in names) or "not measured"

    def unanswered(scenario: str, bot: str) -> str:
        fig = _get(src(scenario)[1], scenario, bot) or {}
        total = fig.get("n", 0) + fig.get("missed", 0) + fig.get("cut", 0)
        return f", {fig['missed']} of {total} not answered" if fig.get("missed") else ""

    loads = sorted({src(s)[1]["machine"]["load_before"][0] for s in ("reply_fresh", "load8")
                    if src(s)[1]["scenarios"]})
    newest = runs[-1][1]
    return (
        f"Measured against a stock pipecat {newest['competitor']['version']} bot on the "
        f"same simulated calls, both bots in one run, on a 2-core machine "
        f"{'under load ' if max(loads) > 2 else ''}"
        f"(1-minute load average {' and '.join(map(str, loads))} at the start of "
        f"the runs), with the offline Whisper tiny.en model and the Piper joe voice: "
        f"voicebot answers a reply it synthesises while the caller waits "
        f"in {p('reply_fresh', 'voicebot')} p50 / {p('reply_fresh', 'voicebot', 'p95_ms')} "
        f"p95 (pipecat {p('reply_fresh', 'pipecat')} / "
        f"{p('reply_fresh', 'pipecat', 'p95_ms')}{unanswered('reply_fresh', 'pipecat')}), "
        f"{p('noisy_35', 'voicebot')} p50 on a "
        f"noisy line at -35 dBFS (pipecat {p('noisy_35', 'pipecat')}) "
        f"[{cite('reply_fresh', 'noisy_35')}]; it cuts off "
        f"{_cut(src('cutoffs')[1], 'voicebot')} of long answers with pauses (pipecat "
        f"{_cut(src('cutoffs')[1], 'pipecat')}) [{cite('cutoffs')}]; with 8 talking calls "
        f"its replies take {p('load8', 'voicebot', 'p95_ms')} p95 (pipecat "
        f"{p('load8', 'pipecat', 'p95_ms')}{unanswered('load8', 'pipecat')}) "
        f"[{cite('load8')}]; and it sends `break` "
        f"{p('barge_in', 'voicebot', 'p50_ms', 'break')} p50 after a caller talks over it "
        f"(pipecat's `clear`: {p('barge_in', 'pipecat', 'p50_ms', 'break')}) "
        f"[{cite('barge_in')}]. Every figure, and how it is measured: `docs/benchmarks.md`, "
        f"generated from the result files by `bench/report.py`.")


def generated() -> dict[Path, str]:
    runs = results()
    if not runs:
        return {}
    return {DOC: headline_table(runs) + "\n\n" + history_table(runs),
            README: readme_sentence(runs)}


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
