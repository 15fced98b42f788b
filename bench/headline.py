"""The four figures a stock pipecat bot sets on this kind of machine, measured for
voicebot in one run, with the same offline Whisper model (tiny.en) and Piper voice:

| figure                                   | stock pipecat |
| ---------------------------------------- | ------------- |
| reply: caller stops -> bot's first audio  | ~800 ms       |
| barge-in: caller starts -> bot stops      | 846 ms        |
| CPU seconds per second of a talking call  | 0.14          |
| memory growth per call                    | ~20 MB        |

Everything goes through the real server (`voicebot serve` in a subprocess) and the
media-server simulator, with real recorded speech (Debian's asterisk prompts) sent as
8 kHz PCMU RTP in real time. The simulator runs on the same 2 cores, so it takes CPU
from the server: the figures are conservative.

    .venv/bin/python -m bench.headline [--turns 20] [--calls 10] [--tts piper]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from pathlib import Path

from bench.barge_in import trials as barge_in_trials
from bench.corpus import load_utterances, percentile
from bench.server_stats import proc_sample
from voicebot.simulator import Silence, Speech, WaitQuiet, simulate
from voicebot.testing.server import running_server

HERE = Path(__file__).parent
TURNS_FLOW = HERE / "flows" / "turns.yaml"
LONG_FLOW = HERE / "flows" / "long_prompts.yaml"


def talking_call(srv: dict, utterances: list) -> tuple[list[float], float, float]:
    """One call where the caller talks turn after turn. Returns reply latencies, server CPU
    seconds per second of call, and the server's RSS at the end of the call (MB)."""
    script: list = [WaitQuiet(0.5)]
    for i, utt in enumerate(utterances):
        script += [Silence(0.4), Speech(utt.pcm, f"u{i}"), WaitQuiet(0.5, timeout=8)]
    pid = srv["process"].pid
    before, t0 = proc_sample(pid), time.monotonic()
    result = asyncio.run(simulate(srv["url"], script, timeout=15 * len(utterances) + 20,
                                  linger=0))
    after, t1 = proc_sample(pid), time.monotonic()
    latencies = []
    for i in range(len(utterances)):
        last = result.marks[f"u{i}.end"]
        replies = [r.at for r in result.of("streamAudio") if r.at > last]
        if replies:
            latencies.append(replies[0] - last)
    return latencies, (after.cpu_s - before.cpu_s) / (t1 - t0), after.rss_mb


async def _concurrent(url: str, n: int, utterances: list, pid: int) -> float:
    """n calls at once, each greeted and taking two turns; returns peak server RSS (MB)."""
    peak = 0.0
    stop = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, proc_sample(pid).rss_mb)
            await asyncio.sleep(0.1)

    def script(k: int) -> list:
        a, b = utterances[k % len(utterances)], utterances[(k + 1) % len(utterances)]
        return [Silence(0.1 * k), WaitQuiet(0.5), Speech(a.pcm), WaitQuiet(0.5, timeout=10),
                Speech(b.pcm), WaitQuiet(0.5, timeout=10)]

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(simulate(url, script(k), timeout=60, linger=0) for k in range(n)))
    stop.set()
    await watcher
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--calls", type=int, default=10, help="concurrent calls for memory")
    parser.add_argument("--tts", default="piper")
    args = parser.parse_args()
    utterances = load_utterances(limit=args.turns)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}; STT whisper tiny.en (bundled), "
          f"TTS {args.tts}; {len(utterances)} real utterances")
    overrides = {"tts": {"use": args.tts, "options": {}}}
    with running_server(TURNS_FLOW, **overrides) as srv:
        pid = srv["process"].pid
        idle = proc_sample(pid).rss_mb
        latencies, cpu_per_s, rss_in_call = talking_call(srv, utterances)
        time.sleep(1.0)
        base = proc_sample(pid).rss_mb
        peak = asyncio.run(_concurrent(srv["url"], args.calls, utterances, pid))
    with running_server(LONG_FLOW, **overrides) as srv:
        breaks, missed = barge_in_trials(srv, utterances, per_call=10)
    reply = [x * 1000 for x in latencies]
    barge = [x * 1000 for x in breaks]
    per_call_mb = max(0.0, peak - base) / args.calls
    print(f"reply latency     p50 {percentile(reply, 50):5.0f} ms  p95 "
          f"{percentile(reply, 95):5.0f} ms  (n={len(reply)})   pipecat ~800 ms")
    print(f"barge-in -> break p50 {percentile(barge, 50):5.0f} ms  p95 "
          f"{percentile(barge, 95):5.0f} ms  (n={len(barge)}, missed {missed})   pipecat 846 ms")
    print(f"CPU per second of a talking call   {cpu_per_s:.3f} CPU-s/s   pipecat 0.14")
    print(f"memory per call   {per_call_mb:.1f} MB  ({args.calls} concurrent calls: peak "
          f"{peak:.0f} MB over {base:.0f} MB)   pipecat ~20 MB")
    print(f"server RSS        idle {idle:.0f} MB, during a call {rss_in_call:.0f} MB "
          f"(goal < 400 MB)")


if __name__ == "__main__":
    main()
