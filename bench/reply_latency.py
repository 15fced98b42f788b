"""Reply latency through the real server: from the caller's last speech sample to the
first `streamAudio` of the bot's answer, with and without speculative transcription.

Real recorded speech (Debian's asterisk prompts) is sent as 8 kHz PCMU RTP at real-time
pace by the simulator; the last speech sample's send time is known from the audio
(trailing silence is trimmed, so it is the last packet of the utterance).

    .venv/bin/python -m bench.reply_latency [--utterances 24] [--hangover 400]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bench.corpus import load_utterances, percentile
from voicebot.simulator import Silence, Speech, WaitQuiet, simulate
from voicebot.testing.server import running_server

FLOW = Path(__file__).parent / "flows" / "turns.yaml"


def run_config(speculative: bool, utterances: list, hangover_ms: int, per_call: int) -> list[float]:
    latencies: list[float] = []
    overrides = {"listen": {"speculative": speculative, "hangover_ms": hangover_ms}}
    with running_server(FLOW, **overrides) as srv:
        for start in range(0, len(utterances), per_call):
            batch = utterances[start : start + per_call]
            script: list = [WaitQuiet(0.5)]
            for i, utt in enumerate(batch):
                script += [Silence(0.4), Speech(utt.pcm, f"u{i}"), WaitQuiet(0.5, timeout=8)]
            result = asyncio.run(simulate(srv["url"], script, timeout=15 * len(batch) + 20,
                                          until=("transfer",), linger=0))
            for i in range(len(batch)):
                # The last packet of the utterance carries its last speech sample.
                last_sample = result.marks[f"u{i}.end"]
                replies = [r.at for r in result.of("streamAudio") if r.at > last_sample]
                if replies:
                    latencies.append(replies[0] - last_sample)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--utterances", type=int, default=24)
    parser.add_argument("--hangover", type=int, default=400, help="listen.hangover_ms")
    parser.add_argument("--per-call", type=int, default=12)
    args = parser.parse_args()
    utterances = load_utterances(limit=args.utterances)
    print(f"{len(utterances)} real utterances, "
          f"{sum(u.seconds for u in utterances) / len(utterances):.2f} s on average; "
          f"hangover {args.hangover} ms")
    for speculative in (True, False):
        lat = run_config(speculative, utterances, args.hangover, args.per_call)
        ms = [x * 1000 for x in lat]
        print(f"speculative={'on ' if speculative else 'off'}  n={len(ms):3d}  "
              f"p50={percentile(ms, 50):6.0f} ms  p95={percentile(ms, 95):6.0f} ms  "
              f"min={min(ms):5.0f}  max={max(ms):5.0f}   "
              f"(goal p50 <= hangover + 150 = {args.hangover + 150} ms)", flush=True)


if __name__ == "__main__":
    main()
