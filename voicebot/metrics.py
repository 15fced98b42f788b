"""Process metrics in the Prometheus text format, without a client library.

A handful of counters, gauges and histograms is all a bot needs; keeping them as plain
dicts makes an increment a dictionary update on the event loop (no locks: the loop is
the only writer).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict

LabelKey = tuple[tuple[str, str], ...]

# Seconds: spans frame handling (sub-ms) to a slow STT run (seconds).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.4, 0.6, 0.8, 1.0, 1.5, 2.5, 5.0, 10.0)


def _key(labels: dict[str, str] | None) -> LabelKey:
    return tuple(sorted((labels or {}).items()))


def _fmt(name: str, key: LabelKey, extra: tuple[tuple[str, str], ...] = ()) -> str:
    pairs = key + extra
    if not pairs:
        return name
    inner = ",".join(f'{k}="{v}"' for k, v in pairs)
    return f"{name}{{{inner}}}"


class Metrics:
    HELP = {
        "voicebot_active_calls": ("gauge", "Media sessions open now."),
        "voicebot_calls_total": ("counter", "Media sessions opened."),
        "voicebot_frames_in_total": ("counter", "Inbound WebSocket frames."),
        "voicebot_frames_dropped_total": ("counter", "Inbound frames dropped, by reason."),
        "voicebot_turns_total": ("counter", "Caller turns handled, by outcome."),
        "voicebot_barge_ins_total": ("counter", "Prompts broken by the caller."),
        "voicebot_errors_total": ("counter", "Errors, by kind."),
        "voicebot_stt_seconds": ("histogram", "Speech-to-text time per turn."),
        "voicebot_nlu_seconds": ("histogram", "NLU time per turn."),
        "voicebot_tts_seconds": ("histogram", "Time to the first synthesised audio."),
        "voicebot_reply_seconds": ("histogram", "End of caller speech to first reply audio."),
        "voicebot_speculative_total": ("counter", "Speculative transcriptions, by outcome."),
        "voicebot_queue_wait_seconds": ("histogram", "STT/TTS job wait for a thread."),
        "voicebot_job_run_seconds": ("histogram", "STT/TTS job run time on its thread."),
    }

    def __init__(self) -> None:
        self.counters: dict[str, dict[LabelKey, float]] = defaultdict(lambda: defaultdict(float))
        self.gauges: dict[str, dict[LabelKey, float]] = defaultdict(lambda: defaultdict(float))
        self.hist: dict[str, dict[LabelKey, list[float]]] = defaultdict(dict)

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        self.counters[name][_key(labels)] += value

    def gauge(self, name: str, delta: float, **labels: str) -> None:
        self.gauges[name][_key(labels)] += delta

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        series = self.hist[name].setdefault(_key(labels), [0.0] * (len(BUCKETS) + 2))
        series[bisect_left(BUCKETS, seconds)] += 1  # last-but-one slot is +Inf
        series[-1] += seconds

    def value(self, name: str, **labels: str) -> float:
        for table in (self.counters, self.gauges):
            if name in table:
                return table[name].get(_key(labels), 0.0)
        return 0.0

    def render(self) -> str:
        out: list[str] = []
        names = set(self.counters) | set(self.gauges) | set(self.hist) | set(self.HELP)
        for name in sorted(names):
            kind, text = self.HELP.get(name, ("untyped", name))
            out.append(f"# HELP {name} {text}")
            out.append(f"# TYPE {name} {kind}")
            for table in (self.counters, self.gauges):
                for key, val in sorted(table.get(name, {}).items()):
                    out.append(f"{_fmt(name, key)} {val:g}")
            for key, series in sorted(self.hist.get(name, {}).items()):
                running = 0.0
                for bound, count in zip(BUCKETS, series[: len(BUCKETS)], strict=True):
                    running += count
                    out.append(f"{_fmt(name + '_bucket', key, (('le', str(bound)),))} {running:g}")
                running += series[len(BUCKETS)]
                out.append(f"{_fmt(name + '_bucket', key, (('le', '+Inf'),))} {running:g}")
                out.append(f"{_fmt(name + '_count', key)} {running:g}")
                out.append(f"{_fmt(name + '_sum', key)} {series[-1]:g}")
        return "\n".join(out) + "\n"
