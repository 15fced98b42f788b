"""What recording a call costs: µs of the event loop per 20 ms caller frame.

A minute of call is recorded to a real file in a temporary folder: the caller's 16 kHz
frames (real speech, Asterisk's prompts), the bot talking half the time in 100 ms chunks
at 8 kHz (a prompt every other 2 s), a barge-in cut every 10 s, and the once-a-second
header rewrite. The clock is simulated (frames arrive "in real time" without waiting),
so what is timed is only the recorder's own work. The best of several runs is reported.

    python bench/recording.py [--seconds 60] [--runs 7]

Writes its figures to docs/benchmarks/recording/<UTC time>.json with the machine and the
load average (the machine is shared: the load says how busy it was).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.listen_path import cpu_model, load_speech
from voicebot.audio.frame import FRAME_SAMPLES, AudioFrame
from voicebot.call.recording import CallRecording
from voicebot.telephony.resample import resample

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks" / "recording"


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def one_call(directory: Path, caller: np.ndarray, bot: np.ndarray) -> float:
    """Seconds spent in the recorder for the whole call."""
    clock = Clock()
    rec = CallRecording(directory / "bench.wav", clock=clock)
    frames = caller.size // FRAME_SAMPLES
    spent = 0.0
    bot_pos = 0
    for i in range(frames):
        t = i * 0.02
        clock.now = t + 0.02
        frame = AudioFrame(caller[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES], t)
        started = time.perf_counter()
        rec.caller(frame)
        if (i // 100) % 2 == 0 and i % 5 == 0:  # the bot talks 2 s of every 4, 100 ms chunks
            chunk = bot[bot_pos:bot_pos + 800]
            bot_pos = (bot_pos + 800) % (bot.size - 800)
            rec.bot(chunk, 8000, clock.now + 0.2)
        if i % 500 == 250:
            rec.cut()
        spent += time.perf_counter() - started
    started = time.perf_counter()
    rec.close()
    return spent + time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    speech8k = load_speech(args.seconds)
    caller = resample(speech8k, 8000, 16000)
    caller = caller[: caller.size - caller.size % FRAME_SAMPLES]
    frames = caller.size // FRAME_SAMPLES
    load_before = os.getloadavg()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            runs.append(one_call(Path(tmp), caller, speech8k))
    best = min(runs)
    per_frame_us = best / frames * 1e6
    result = {
        "bench": "bench/recording.py",
        "utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "call_seconds": round(frames * 0.02, 2),
        "runs": args.runs,
        "us_per_frame_best": round(per_frame_us, 2),
        "us_per_frame_median": round(float(np.median(runs)) / frames * 1e6, 2),
        "share_of_one_core_per_call": round(per_frame_us / 20_000, 5),
    }
    print(f"machine: {result['machine']}; load average {load_before[0]:.2f} -> "
          f"{result['load_average_after'][0]:.2f} (shared machine)")
    print(f"recording a {result['call_seconds']} s call: {per_frame_us:.1f} µs per 20 ms frame "
          f"(best of {args.runs}; median {result['us_per_frame_median']} µs), "
          f"{100 * result['share_of_one_core_per_call']:.3f} % of one core per call")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{result['utc'].replace(':', '')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"result: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
