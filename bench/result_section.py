"""A bench's result file under docs/benchmarks/ and its section of docs/benchmarks.md,
regenerated from the newest such file: the figures in the docs cannot drift from a run."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks"
DOC = ROOT / "docs" / "benchmarks.md"


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), or what platform knows when there is none."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    return next((line.split(":", 1)[1].strip() for line in lines
                 if line.startswith("model name")), platform.processor() or "?")


def machine() -> dict[str, Any]:
    """What the figures were measured on, load included (the machine may be shared)."""
    cpu = cpu_model()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "load_avg": os.getloadavg(),
            "python": platform.python_version(), "commit": commit}


def write_result(result: dict[str, Any], prefix: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{prefix}-{result['date'][:10]}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return out


def render_section(prefix: str, name: str, title: str, command: str,
                   table: list[str]) -> None:
    """Rewrite the section between `<!-- {name}:begin/end -->` from the newest
    `{prefix}-*.json`; `table` holds markdown rows with `{field}` placeholders."""
    files = sorted(RESULTS.glob(f"{prefix}-*.json"))
    if not files:
        raise SystemExit(f"no docs/benchmarks/{prefix}-*.json to render")
    result = json.loads(files[-1].read_text())
    m = result["machine"]
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    section = "\n".join([
        begin,
        f"From `{files[-1].relative_to(ROOT)}` (`{command}`), commit {m['commit']}, "
        f"{m['cpu']}, {m['cores']} cores, load average {m['load_avg'][0]:.1f} while it ran.",
        "",
        *[row.format(**result) for row in table],
        end,
    ])
    doc = DOC.read_text()
    if begin in doc:
        doc = doc[:doc.index(begin)] + section + doc[doc.index(end) + len(end):]
    else:
        doc += f"\n## {title}\n\n{section}\n"
    DOC.write_text(doc)


def bench_main(doc: str, prefix: str,
               arguments: Callable[[argparse.ArgumentParser], None],
               measure: Callable[[argparse.Namespace], dict[str, Any]],
               show: Callable[[dict[str, Any]], None],
               render: Callable[[], None]) -> None:
    """The command line of a bench whose figures go to a result file: measure and show;
    `--json` writes docs/benchmarks/{prefix}-DATE.json; `--render` alone regenerates its
    section of docs/benchmarks.md from the newest file, with `--json` after writing it."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    arguments(parser)
    parser.add_argument("--json", action="store_true",
                        help=f"write docs/benchmarks/{prefix}-DATE.json")
    parser.add_argument("--render", action="store_true",
                        help="regenerate the docs/benchmarks.md section from the newest file")
    args = parser.parse_args()
    if args.render and not args.json:
        render()
        return
    result = measure(args)
    show(result)
    if args.json:
        out = write_result(result, prefix)
        print(f"wrote {out.relative_to(ROOT)}")
        if args.render:
            render()
