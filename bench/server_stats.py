"""What a running `voicebot serve` costs and counts, read from outside the process:
CPU seconds and resident memory from /proc, counters from its /metrics page.

Shared by the load and soak benchmarks and the fault tests, so all of them read the
server the way an operator's monitoring would.
"""

from __future__ import annotations

import os
import re
import urllib.request
from dataclasses import dataclass

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_SAMPLE = re.compile(r'^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class ProcSample:
    cpu_s: float  # user + system CPU seconds since the process started
    rss_mb: float
    threads: int


def proc_sample(pid: int) -> ProcSample:
    with open(f"/proc/{pid}/stat") as f:
        # The command name (field 2) may hold spaces: split after its closing paren.
        fields = f.read().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    rss_kb, threads = 0, 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return ProcSample((utime + stime) / _CLOCK_TICKS, rss_kb / 1024, threads)


def parse_metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text format -> {(name, sorted label pairs): value}."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m is None:
            raise ValueError(f"not a Prometheus sample line: {line!r}")
        labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def fetch_metrics(http: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(http + "/metrics", timeout=5) as r:
        return parse_metrics(r.read().decode())


def metric(samples: dict, name: str, **labels: str) -> float:
    """One series' value (0 if absent); with no labels given, the sum over all series."""
    if labels:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)
    return sum(v for (n, _), v in samples.items() if n == name)


def dropped_by_reason(samples: dict) -> dict[str, float]:
    return {
        dict(labels).get("reason", "?"): v
        for (n, labels), v in samples.items()
        if n == "voicebot_frames_dropped_total" and v
    }
