"""French speech recognition on recorded human telephone prompts: WER and time per turn.

Corpus: Debian's asterisk-core-sounds-fr-wav, ~500 IVR prompts recorded by a human
(Canadian French) voice at 8 kHz, with the transcript file that ships with them. Each
recording goes through a phone line as voicebot hears it (G.711 µ-law, then 8 -> 16 kHz:
bench/stt_accuracy.py's `phone_line`) and through the whisper plugin as a French flow
configures it (`language: fr` -> model `multilingual`, Whisper base).

Both sides are compared as French words (voicebot.nlu.french: no accents, elisions split)
with every number, written or spoken, turned into its digits, so "appuyez sur 1" and
"appuyez sur un" count as equal. Nobody tuned anything on this corpus.

    python -m bench.stt_accuracy_fr [--limit N] [--hints] [--json] [--render]

--json writes docs/benchmarks/stt-fr-DATE.json; --render rewrites the French section of
docs/benchmarks.md (between its markers) from the newest such file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from bench.result_section import bench_main, machine, render_section
from bench.stt_accuracy import phone_line
from voicebot.nlu.french import NUMBER_WORDS, find_digits, words
from voicebot.plugins.registry import PluginRegistry

SOUNDS = Path("/usr/share/asterisk/sounds/fr")
TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-fr/core-sounds-fr.txt.gz")


def comparable(text: str) -> list[str]:
    """French words, each run of number words (or figures) replaced by its digits."""
    said = words(text.replace("#", " dièse ").replace("*", " étoile "))
    out: list[str] = []
    run: list[str] = []
    for word in [*said, ""]:
        if word in NUMBER_WORDS or word.isdigit() or (word == "et" and run):
            run.append(word)
            continue
        if run:
            out.append(find_digits(tuple(run)) or " ".join(run))
            run = []
        if word:
            out.append(word)
    return out


def samples(limit: int) -> list[tuple[str, Path, str]]:
    found = []
    with gzip.open(TRANSCRIPTS, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith(";") or ":" not in line:
                continue
            name, _, text = line.partition(":")
            name, text = name.strip(), text.strip()
            path = SOUNDS / f"{name}.wav"
            # Tones and annotations ("[ascending tones]", "(ahooga)") are not speech.
            if text.startswith(("[", "(")) or not comparable(text) or not path.exists():
                continue
            found.append((name, path, text))
    return found[:limit] if limit else found


def measure(limit: int, hints: bool) -> dict[str, Any]:
    stt: Any = PluginRegistry().create(
        "stt", "whisper", {"cpu_threads": 1, "use_hints": hints}, language="fr")
    stt.load()
    errors = ref_words = 0
    seconds: list[float] = []
    worst: list[tuple[float, str, str, str]] = []
    corpus = samples(limit)
    for name, path, text in corpus:
        audio = phone_line(path, through_ulaw=True)
        started = time.perf_counter()
        heard = stt.transcribe(audio, 16000, None).text
        seconds.append(time.perf_counter() - started)
        ref, hyp = comparable(text), comparable(heard)
        distance = Levenshtein.distance(ref, hyp)
        errors += distance
        ref_words += len(ref)
        worst.append((distance / max(1, len(ref)), name, text, heard))
    worst.sort(reverse=True)
    quantiles = statistics.quantiles(seconds, n=20)
    return {
        "bench": "stt_accuracy_fr", "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(), "corpus": "asterisk-core-sounds-fr-wav (human, 8 kHz, µ-law)",
        "model": "whisper base (multilingual), int8, short encoder window",
        "hints": hints, "utterances": len(corpus), "reference_words": ref_words,
        "wer": round(errors / max(1, ref_words), 4),
        "wer_percent": round(100 * errors / max(1, ref_words), 1),
        "stt_seconds_p50": round(statistics.median(seconds), 3),
        "stt_seconds_p95": round(quantiles[18], 3),
        "stt_ms_p50": round(1000 * statistics.median(seconds)),
        "stt_ms_p95": round(1000 * quantiles[18]),
        "worst": [{"name": n, "reference": r, "heard": h} for _, n, r, h in worst[:5]],
    }


TABLE = [
    "| corpus | model | utterances | WER | STT time per turn p50 / p95 |",
    "| --- | --- | --- | --- | --- |",
    "| {corpus} | {model} | {utterances} | {wer_percent} % | {stt_ms_p50} / {stt_ms_p95} ms |",
]


def render() -> None:
    render_section("stt-fr", "stt-fr", "French speech recognition",
                   "python -m bench.stt_accuracy_fr --json", TABLE)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--hints", action="store_true", help="no state hints exist for "
                        "these prompts; kept for parity with stt_accuracy (prompt = none)")


def _show(result: dict[str, Any]) -> None:
    print(json.dumps({k: v for k, v in result.items() if k != "worst"}, indent=2))
    for item in result["worst"]:
        print(f"  {item['name']}: {item['reference']!r} -> {item['heard']!r}")


def main() -> None:
    bench_main(__doc__ or "", "stt-fr", _arguments,
               lambda args: measure(args.limit, args.hints), _show, render)


if __name__ == "__main__":
    main()
