"""Reply latency for French turns through the real server: from the caller's last speech
sample to the first `streamAudio` of the bot's answer.

The caller is recorded human French (Debian's asterisk-core-sounds-fr-wav prompts of
1-3.5 s, sent as 8 kHz PCMU RTP at real-time pace by the simulator); the flow
(bench/flows/turns_fr.yaml, `language: fr`) answers every turn with new text ("Tour 7,
c'est noté."), so every reply is synthesised while the caller waits, by espeak-ng's French
voice, after Whisper base (multilingual) has transcribed the turn.

    python -m bench.reply_latency_fr [--utterances 16] [--json] [--render]

--json writes docs/benchmarks/reply-fr-DATE.json; --render rewrites the French reply
section of docs/benchmarks.md (between its markers) from the newest such file.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.corpus import load_utterances, percentile
from bench.result_section import ROOT, bench_main, machine, render_section
from bench.stt_accuracy_fr import SOUNDS, TRANSCRIPTS
from voicebot.simulator import Silence, Speech, WaitQuiet, simulate
from voicebot.testing.server import running_server

FLOW = Path(__file__).parent / "flows" / "turns_fr.yaml"


def measure(count: int) -> dict[str, Any]:
    utterances = load_utterances(limit=count, sounds=SOUNDS, transcripts=TRANSCRIPTS)
    latencies: list[float] = []
    with running_server(FLOW, startup_timeout=180) as srv:
        script: list[Any] = [WaitQuiet(0.5, timeout=30)]
        for i, utt in enumerate(utterances):
            script += [Silence(0.4), Speech(utt.pcm, f"u{i}"), WaitQuiet(0.5, timeout=15)]
        result = asyncio.run(simulate(srv["url"], script, timeout=20 * len(utterances) + 30,
                                      linger=0))
    for i in range(len(utterances)):
        last_sample = result.marks[f"u{i}.end"]
        replies = [r.at for r in result.of("streamAudio") if r.at > last_sample]
        if replies:
            latencies.append(replies[0] - last_sample)
    return {
        "bench": "reply_latency_fr", "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(), "flow": str(FLOW.relative_to(ROOT)),
        "caller": "asterisk-core-sounds-fr-wav (human, 8 kHz, PCMU RTP, real time)",
        "stt": "whisper base (multilingual), int8", "tts": "pyttsx3 espeak-ng French, fresh text",
        "turns": len(utterances), "answered": len(latencies),
        "reply_ms_p50": round(percentile(latencies, 50) * 1000),
        "reply_ms_p95": round(percentile(latencies, 95) * 1000),
    }


TABLE = [
    "| caller | STT / TTS | turns answered | reply p50 / p95 |",
    "| --- | --- | --- | --- |",
    "| {caller} | {stt} / {tts} | {answered} of {turns} | {reply_ms_p50} / {reply_ms_p95} ms |",
]


def render() -> None:
    render_section("reply-fr", "reply-fr", "French replies",
                   "python -m bench.reply_latency_fr --json", TABLE)


def main() -> None:
    bench_main(
        __doc__ or "", "reply-fr",
        lambda parser: parser.add_argument("--utterances", type=int, default=16),
        lambda args: measure(args.utterances),
        lambda result: print(json.dumps(result, indent=2)),
        render)


if __name__ == "__main__":
    main()
