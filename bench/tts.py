"""Time to first audio and real-time factor of each TTS plugin, uncached and cached.

"First audio" is what the call session waits for before its first streamAudio chunk: the
synthesis of the first sentence (voicebot/audio/sentences.py), since the rest is
synthesised while that one plays. The real-time factor is synthesis time over the audio
it produced, for whole prompts. "Cached" is a repeat of the same prompt through
CachedTTS, which is what every repeated prompt costs.

    python bench/tts.py [--plugins pyttsx3,espeak,piper] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicebot.audio.sentences import split_sentences  # noqa: E402
from voicebot.plugins.tts_cache import CachedTTS  # noqa: E402

PROMPTS = [
    "Hello, thank you for calling.",
    "Please tell me, in a few words, the reason for your call.",
    "I'm sorry, I did not understand. You can say sales, support, or billing.",
    "Your order number 4 5 6 has shipped. It should arrive on Tuesday. "
    "Is there anything else I can help you with today?",
    "Our offices are open Monday to Friday, from nine a.m. to six p.m. Outside these hours, "
    "you can leave a message after the tone, and we will call you back as soon as possible.",
]


def make(name: str) -> Any:
    if name == "pyttsx3":
        from voicebot.plugins.tts_pyttsx3 import Pyttsx3Options, Pyttsx3TTS

        return Pyttsx3TTS(Pyttsx3Options())
    if name == "espeak":
        from voicebot.plugins.tts_espeak import EspeakOptions, EspeakTTS

        return EspeakTTS(EspeakOptions())
    if name == "piper":
        from voicebot.plugins.tts_piper import PiperOptions, PiperTTS

        return PiperTTS(PiperOptions())
    raise SystemExit(f"unknown TTS plugin {name!r}")


def timed(fn: Any, *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def bench(name: str, repeat: int) -> None:
    tts = make(name)
    load_s, _ = timed(tts.load)
    first_audio: list[float] = []
    whole: list[float] = []
    audio_s = 0.0
    synth_s = 0.0
    for _ in range(repeat):
        for prompt in PROMPTS:
            first = split_sentences(prompt)[0]
            t_first, _ = timed(tts.synthesize, first)
            first_audio.append(t_first)
            t_whole, pcm = timed(tts.synthesize, prompt)
            whole.append(t_whole)
            synth_s += t_whole
            audio_s += len(pcm) / tts.sample_rate
    cached = CachedTTS(tts)
    hit_times: list[float] = []
    for prompt in PROMPTS:
        cached.synthesize(prompt)
        for _ in range(repeat):
            hit_times.append(timed(cached.synthesize, prompt)[0])
    print(
        f"{name:<8} {tts.sample_rate:>6} Hz  load {load_s * 1000:6.0f} ms  "
        f"first audio p50 {statistics.median(first_audio) * 1000:5.0f} ms "
        f"max {max(first_audio) * 1000:5.0f} ms  "
        f"whole prompt p50 {statistics.median(whole) * 1000:5.0f} ms  "
        f"RTF {synth_s / audio_s:.3f}  "
        f"cached p50 {statistics.median(hit_times) * 1e6:4.0f} µs "
        f"(hits {cached.hits}, misses {cached.misses})  load avg {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", default="pyttsx3,espeak,piper")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{len(PROMPTS)} prompts x {args.repeat}; first audio = first sentence's synthesis")
    for name in args.plugins.split(","):
        bench(name.strip(), args.repeat)


if __name__ == "__main__":
    main()
