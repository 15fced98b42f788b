"""Word error rate of the whisper STT plugin on real human telephone-band speech.

Corpus 1: Debian's asterisk-core-sounds-en-wav, ~560 IVR prompts recorded by a human
voice actor at 8 kHz, with the transcript file that ships with them. Corpus 2: the codec2
examples that are Harvard sentences (IEEE 1969 lists; the package ships no transcripts,
so the sentences are given here and tied to their files by content).

Each recording goes through what a phone line does before voicebot hears it: G.711 µ-law
encode and decode, then resampling 8 -> 16 kHz with soxr. Text is normalised on both
sides (case, punctuation, hyphens, digits as words, "#" as "pound") so that "press 1" and
"Press one." count as equal.

    python bench/stt_accuracy.py [--limit N] [--beam-size B] [--hints] [--no-ulaw]
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr
from rapidfuzz.distance import Levenshtein

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicebot.audio.wavio import read_wav  # noqa: E402
from voicebot.plugins.base import Expectation, IntentSpec  # noqa: E402
from voicebot.plugins.stt_whisper import WhisperOptions, WhisperSTT  # noqa: E402

SOUNDS = Path("/usr/share/asterisk/sounds/en")
TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
CODEC2_WAV = Path("/usr/share/codec2")
# Files of codec2-examples whose words are Harvard sentences.
HARVARD = {
    "wav/hts1a.wav": "The Navy attacked the big task force.",
    "wav/hts2a.wav": "These days a chicken leg is a rare dish.",
    "wav/mmt1.wav": "It's easy to tell the depth of a well.",
    "raw/speech_orig_16k.wav": (
        "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue "
        "background. It's easy to tell the depth of a well. Four hours of steady work faced us."
    ),
}

try:
    from voicebot.telephony.g711 import ulaw_decode, ulaw_encode
except ImportError:  # the wire package is optional for this bench
    _BIAS = 0x84

    def ulaw_encode(pcm: np.ndarray) -> bytes:
        # The reference algorithm (Sun g711.c) works on 14-bit magnitudes.
        v = pcm.astype(np.int32) >> 2
        negative = v < 0
        v = np.minimum(np.minimum(np.where(negative, -v, v), 8159) + 33, 0x1FFF)
        segment = np.floor(np.log2(v)).astype(np.int32) - 5
        mantissa = (v >> (segment + 1)) & 0x0F
        mask = np.where(negative, 0x7F, 0xFF)
        return (((segment << 4) | mantissa) ^ mask).astype(np.uint8).tobytes()

    def ulaw_decode(data: bytes) -> np.ndarray:
        u = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
        mag = (((u & 0x0F) << 3) + _BIAS) << ((u >> 4) & 0x07)
        return np.where(u & 0x80, _BIAS - mag, mag - _BIAS).astype(np.int16)


_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
             "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
_SYMBOLS = {"#": " pound ", "*": " star ", "&": " and ", "%": " percent ", "@": " at ",
            "+": " plus ", "$": " dollar ", "=": " equals "}
_SPELLING = {"ok": "okay", "mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}


def number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = "" if n % 100 == 0 else " " + number_words(n % 100)
        return _ONES[n // 100] + " hundred" + rest
    if n < 1_000_000:
        rest = "" if n % 1000 == 0 else " " + number_words(n % 1000)
        return number_words(n // 1000) + " thousand" + rest
    return " ".join(_ONES[int(d)] for d in str(n))


def _ordinal(words: str) -> str:
    head, _, last = words.rpartition(" ")
    if last in _ORDINALS:
        last = _ORDINALS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head} {last}".strip()


def normalise(text: str) -> list[str]:
    """Lower-case words with punctuation gone and numbers spelt out."""
    # "[beep tone]", "(simple tone sound plays)", "(note: ...)": annotations, not words.
    text = re.sub(r"\[[^\]]*\]|\([^)]*\)", " ", text)
    text = text.replace("’", "'").replace("‘", "'").lower()
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 2,500 -> 2500
    for symbol, word in _SYMBOLS.items():
        text = text.replace(symbol, word)
    text = re.sub(r"(\d+)(st|nd|rd|th)\b", lambda m: " " + _ordinal(number_words(int(m[1]))), text)
    text = re.sub(r"\d+", lambda m: f" {number_words(int(m[0]))} ", text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    words = [w.strip("'") for w in text.split()]
    return [_SPELLING.get(w, w) for w in words if w]


def join_compounds(words: list[str], other: list[str]) -> list[str]:
    """Merge adjacent words that the other side writes as one ("x ray" vs "xray").

    Whether a compound is written open or closed is spelling, not hearing.
    """
    vocabulary = set(other)
    out: list[str] = []
    i = 0
    while i < len(words):
        if i + 1 < len(words) and words[i] + words[i + 1] in vocabulary:
            out.append(words[i] + words[i + 1])
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out


def align(ref: list[str], hyp: list[str]) -> tuple[list[str], list[str]]:
    return join_compounds(ref, hyp), join_compounds(hyp, ref)


@dataclass(slots=True)
class Sample:
    name: str
    path: Path
    reference: str


def asterisk_samples() -> list[Sample]:
    samples = []
    with gzip.open(TRANSCRIPTS, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith(";") or ":" not in line:
                continue
            name, _, text = line.partition(":")
            name, text = name.strip(), text.strip()
            path = SOUNDS / f"{name}.wav"
            # Tones, silence files and pure annotations are not speech to transcribe.
            if name.startswith("silence/") or not normalise(text) or not path.exists():
                continue
            samples.append(Sample(name, path, text))
    return samples


def harvard_samples() -> list[Sample]:
    return [
        Sample(Path(rel).stem, CODEC2_WAV / rel, text)
        for rel, text in HARVARD.items()
        if (CODEC2_WAV / rel).exists()
    ]


def phone_line(path: Path, through_ulaw: bool) -> np.ndarray:
    """A recording as voicebot hears it from a G.711 call: 8 kHz µ-law, then 16 kHz."""
    pcm, rate = read_wav(path)
    if rate != 8000:
        pcm = np.clip(soxr.resample(pcm.astype(np.float32), rate, 8000), -32768, 32767)
        pcm = pcm.astype(np.int16)
    if through_ulaw:
        pcm = ulaw_decode(ulaw_encode(pcm))
    out = soxr.resample(pcm.astype(np.float32), 8000, 16000, quality="HQ")
    return np.clip(out, -32768, 32767).astype(np.int16)


@dataclass(slots=True)
class Score:
    ref_words: int = 0
    errors: int = 0

    def add(self, ref: list[str], hyp: list[str]) -> None:
        self.ref_words += len(ref)
        self.errors += Levenshtein.distance(ref, hyp)

    @property
    def wer(self) -> float:
        return self.errors / self.ref_words if self.ref_words else 0.0


def closed_set_hints(sample: Sample, pool: list[Sample], rng: random.Random) -> Expectation:
    """What a flow state expecting ~10 phrases would give: the right one among 9 others."""
    others = rng.sample([s.reference for s in pool if s is not sample], 9)
    examples = [sample.reference, *others]
    rng.shuffle(examples)
    return Expectation(intents=[IntentSpec("any", examples=examples)])


def run(samples: list[Sample], stt: WhisperSTT, args: argparse.Namespace, label: str) -> None:
    overall, long_only = Score(), Score()
    audio_seconds = 0.0
    compute: list[float] = []
    rng = random.Random(7)
    worst: list[tuple[float, str, str, str]] = []
    for sample in samples:
        pcm = phone_line(sample.path, not args.no_ulaw)
        expectation = closed_set_hints(sample, samples, rng) if args.hints else None
        start = time.perf_counter()
        result = stt.transcribe(pcm, 16000, expectation)
        compute.append(time.perf_counter() - start)
        audio_seconds += len(pcm) / 16000
        ref, hyp = align(normalise(sample.reference), normalise(result.text))
        overall.add(ref, hyp)
        if len(ref) >= 4:
            long_only.add(ref, hyp)
        edits = Levenshtein.distance(ref, hyp)
        if edits:
            worst.append((edits / len(ref), sample.name, " ".join(ref), " ".join(hyp)))
        if args.verbose:
            print(f"{edits:2d} {sample.name}: {result.text!r}")
    total = sum(compute)
    # Timing is only meaningful on a quiet machine; say how quiet it was.
    load = os.getloadavg()[0]
    print(f"\n== {label}: {len(samples)} recordings, {audio_seconds:.0f} s of audio ==")
    for name, score in (("WER overall", overall), ("WER >= 4-word items", long_only)):
        print(f"{name:<20} {100 * score.wer:5.1f} %  ({score.errors}/{score.ref_words} words)")
    print(f"real-time factor     {total / audio_seconds:.3f}  (compute {total:.1f} s, "
          f"1-min load average {load:.1f} on {os.cpu_count()} CPUs)")
    print(f"per utterance        p50 {1000 * statistics.median(compute):.0f} ms, "
          f"p95 {1000 * np.percentile(compute, 95):.0f} ms")
    for ratio, name, ref, hyp in sorted(worst, reverse=True)[: args.show_worst]:
        print(f"  {ratio:4.0%} {name}\n       ref: {ref}\n       hyp: {hyp}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N asterisk prompts")
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--hints", action="store_true",
                        help="use_hints with a closed set of 10 phrases holding the right one")
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--backend", default="faster-whisper")
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timestamps", action="store_true",
                        help="decode with timestamps (without_timestamps=False)")
    parser.add_argument("--encoder-window", type=float, default=None,
                        help="encoder_window_s (0 = Whisper's full 30 s window)")
    parser.add_argument("--no-ulaw", action="store_true", help="skip the G.711 round trip")
    parser.add_argument("--show-worst", type=int, default=5)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    options = WhisperOptions(
        backend=args.backend, model=args.model, compute_type=args.compute_type,
        beam_size=args.beam_size, cpu_threads=args.threads, use_hints=args.hints,
        without_timestamps=not args.timestamps,
        **({} if args.encoder_window is None else {"encoder_window_s": args.encoder_window}),
    )
    stt = WhisperSTT(options)
    start = time.perf_counter()
    stt.load()
    print(f"options: {options.model_dump_json()}")
    print(f"model load + warm-up {time.perf_counter() - start:.2f} s; "
          f"line: {'G.711 µ-law' if not args.no_ulaw else 'linear'} 8 kHz -> 16 kHz")
    samples = asterisk_samples()
    if args.limit:
        samples = samples[: args.limit]
    run(samples, stt, args, "asterisk-core-sounds-en")
    harvard = harvard_samples()
    if harvard:
        args.hints = False  # a closed set of 4 would make no sense
        run(harvard, stt, args, "codec2 Harvard sentences")


if __name__ == "__main__":
    main()
