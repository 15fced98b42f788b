"""Eight turns ending together: how long until the last transcript, by Whisper `workers`.

The headline's eight talking calls end their turns within a few milliseconds of each
other; their speculative transcriptions are filed at once on the STT scheduler's threads
(voicebot/call/stt_scheduler.py). The last one to finish is the 8-call p95. This files
`--burst` transcriptions of a Piper caller's sentence (bench/callers.py, with 200 ms of
line before and after, as the session hands them over) on one STTScheduler, for each
`workers` setting in turn, alternating, and prints the time from filing to the last
transcript (the burst's makespan), with the 1-minute load average.

    .venv/bin/python -m bench.stt_burst [--rounds 8] [--burst 8] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from bench.callers import voice_turns
from voicebot.call.stt_scheduler import STTScheduler
from voicebot.config import ServerConfig
from voicebot.plugins.stt_whisper import WhisperOptions, WhisperSTT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--burst", type=int, default=8)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    line = np.zeros(1600, np.int16)
    clips = [np.concatenate([line, t.pcm, line]) for t in voice_turns(3, voices=("piper",))]
    plugins: dict[int, WhisperSTT] = {}
    for w in (int(x) for x in args.workers.split(",")):
        plugins[w] = WhisperSTT(WhisperOptions(workers=w))
        plugins[w].load()
    threads = ServerConfig().executor_workers
    scheduler = STTScheduler(threads)
    load0 = os.getloadavg()[0]
    spans: dict[int, list[float]] = {w: [] for w in plugins}
    for i in range(args.rounds):
        for w, stt in plugins.items():
            clip = clips[i % len(clips)]
            start = time.perf_counter()
            jobs = [scheduler.submit_speculative(stt.transcribe, clip, 8000)
                    for _ in range(args.burst)]
            for job in jobs:
                job.result()
            spans[w].append((time.perf_counter() - start) * 1000)
            time.sleep(0.3)
    print(f"{args.burst} transcriptions filed at once on {threads} STT threads, "
          f"{args.rounds} rounds; 1-min load average {load0:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after")
    for w, v in spans.items():
        print(f"  workers={w}: last transcript after median {statistics.median(v):.0f} ms "
              f"(min {min(v):.0f}, max {max(v):.0f})")
    scheduler.shutdown()


if __name__ == "__main__":
    main()
