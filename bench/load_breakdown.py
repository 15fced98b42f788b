"""Where a loaded server's reply time goes, per stage, for bench/concurrent_calls.py.

Two sources, both the server's own: its /metrics histograms (each STT job's wait for a
thread and its run, final and speculative apart; each synthesis job's wait and run; how
speculative runs ended) read as the difference over one level, and its turns table
(per turn: the wait for the transcript once the turn ended, the NLU, the reply as the
server timed it).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from bench.corpus import percentile
from voicebot.metrics import BUCKETS

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

# (label, histogram, its labels)
STAGES = [
    ("stt final: wait for a thread", "voicebot_queue_wait_seconds",
     {"stage": "stt", "run": "final"}),
    ("stt final: run", "voicebot_job_run_seconds", {"stage": "stt", "run": "final"}),
    ("stt speculative: wait", "voicebot_queue_wait_seconds",
     {"stage": "stt", "run": "speculative"}),
    ("stt speculative: run", "voicebot_job_run_seconds",
     {"stage": "stt", "run": "speculative"}),
    ("tts: wait for a thread", "voicebot_queue_wait_seconds", {"stage": "tts"}),
    ("tts: run (one piece)", "voicebot_job_run_seconds", {"stage": "tts"}),
    ("tts: say -> first audio", "voicebot_tts_seconds", {}),
]
TURN_FIELDS = [("turn end -> transcript", "stt_wait_ms"), ("nlu", "nlu_ms"),
               ("reply (server's clock)", "reply_ms")]


def _series(samples: Samples, name: str, labels: dict[str, str]) -> dict[str, float]:
    """A histogram's cumulative buckets by bound, plus _count and _sum."""
    want = tuple(sorted(labels.items()))
    out: dict[str, float] = {}
    for (n, lab), v in samples.items():
        if n == name + "_bucket":
            rest = tuple(p for p in lab if p[0] != "le")
            if rest == want:
                out[dict(lab)["le"]] = v
        elif n in (name + "_count", name + "_sum") and lab == want:
            out[n[len(name):]] = v
    return out


def histogram(before: Samples, after: Samples, name: str,
              labels: dict[str, str]) -> dict[str, Any]:
    """n, mean and the p95 bucket bound (ms) of one histogram over a level."""
    a, b = _series(after, name, labels), _series(before, name, labels)
    n = a.get("_count", 0.0) - b.get("_count", 0.0)
    if n <= 0:
        return {"n": 0, "mean_ms": None, "p95_le_ms": None}
    mean = (a.get("_sum", 0.0) - b.get("_sum", 0.0)) / n * 1000
    p95: float | None = None
    for bound in BUCKETS:
        key = str(bound)
        if a.get(key, 0.0) - b.get(key, 0.0) >= 0.95 * n:
            p95 = bound * 1000
            break
    return {"n": int(n), "mean_ms": round(mean), "p95_le_ms": p95}


def turns(db: Path, call_prefix: str) -> dict[str, Any]:
    """p50/p95 of the per-turn latencies the server recorded for these calls."""
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT latencies FROM turns WHERE call_id LIKE ?",
                        (call_prefix + "%",)).fetchall()
    conn.close()
    out: dict[str, Any] = {}
    for label, key in TURN_FIELDS:
        values = [float(lat[key]) for (raw,) in rows if key in (lat := json.loads(raw))]
        out[label] = {"n": len(values), "p50_ms": round(percentile(values, 50)) if values
                      else None, "p95_ms": round(percentile(values, 95)) if values else None}
    return out


def breakdown(before: Samples, after: Samples, db: Path, call_prefix: str) -> dict[str, Any]:
    spec = {dict(lab).get("outcome", "?"): v - before.get((n, lab), 0.0)
            for (n, lab), v in after.items() if n == "voicebot_speculative_total"}
    return {"jobs": {label: histogram(before, after, name, labels)
                     for label, name, labels in STAGES},
            "turns": turns(db, call_prefix),
            "speculative": {k: int(v) for k, v in sorted(spec.items()) if v}}


def show(b: dict[str, Any]) -> str:
    lines = ["    where the time went (server's /metrics and turns table, this level):"]
    for label, f in b["jobs"].items():
        if f["n"]:
            p95 = "> 10 s" if f["p95_le_ms"] is None else f"<= {f['p95_le_ms']:g} ms"
            lines.append(f"      {label:32s} n={f['n']:4d} mean {f['mean_ms']:5d} ms, p95 {p95}")
    for label, f in b["turns"].items():
        if f["n"]:
            lines.append(f"      {label:32s} n={f['n']:4d} p50 {f['p50_ms']:5d} ms, "
                         f"p95 {f['p95_ms']:5d} ms")
    lines.append(f"      speculative runs: {b['speculative'] or 'none'}")
    return "\n".join(lines)
