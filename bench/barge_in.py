"""Barge-in latency through the real server: from the caller's speech onset (the first
sample of a real recording whose leading silence is trimmed) to the `break` received.

Each trial waits until the bot is 1.2 s into a long prompt, then talks over it with a
real recorded utterance; the bot's answer is another long prompt, and so on.

    .venv/bin/python -m bench.barge_in [--trials 24]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bench.corpus import load_utterances, percentile
from voicebot.simulator import Silence, Speech, WaitFor, simulate
from voicebot.testing.server import running_server

FLOW = Path(__file__).parent / "flows" / "long_prompts.yaml"


def trials(srv: dict, utterances: list, per_call: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    missed = 0
    for start in range(0, len(utterances), per_call):
        batch = utterances[start : start + per_call]
        script: list = []
        for i, utt in enumerate(batch):
            script += [WaitFor("streamAudio", after=1.2, nth=0, timeout=15),
                       Speech(utt.pcm, f"u{i}"), Silence(0.2)]
        result = asyncio.run(simulate(srv["url"], script, timeout=12 * len(batch) + 20,
                                      linger=1.0))
        for i in range(len(batch)):
            onset = result.marks.get(f"u{i}.start")
            end = result.marks.get(f"u{i}.end")
            if onset is None:
                missed += 1
                continue
            breaks = [r.at for r in result.of("break") if onset <= r.at <= end + 1.0]
            if breaks:
                latencies.append(breaks[0] - onset)
            else:
                missed += 1
    return latencies, missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--per-call", type=int, default=12)
    args = parser.parse_args()
    utterances = load_utterances(limit=args.trials)
    with running_server(FLOW) as srv:
        lat, missed = trials(srv, utterances, args.per_call)
    ms = [x * 1000 for x in lat]
    print(f"barge-in: n={len(ms)} (missed {missed})  p50={percentile(ms, 50):.0f} ms  "
          f"p95={percentile(ms, 95):.0f} ms  min={min(ms):.0f}  max={max(ms):.0f}  "
          f"(goal p50 <= 150 ms)")


if __name__ == "__main__":
    main()
