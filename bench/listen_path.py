"""Listen-path cost per 20 ms frame: RTP parse, jitter buffer, G.711 decode, resampling to
16 kHz, framing, and webrtcvad on each 16 kHz frame.

About a minute of real speech (Asterisk's 8 kHz prompts) is packetised as PCMU RTP,
a few packets are swapped and one in a hundred dropped, as a real network would, then
each stage is timed on its own over the whole stream, and the whole path end to end
through `InboundDecoder`. The best of several runs is reported, in µs per frame.

    python bench/listen_path.py [--seconds 60] [--runs 9]
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import random
import time
import wave
from collections.abc import Callable

import numpy as np
import webrtcvad

from voicebot.telephony.g711 import ulaw_decode, ulaw_encode
from voicebot.telephony.inbound import InboundDecoder
from voicebot.telephony.jitter import JitterBuffer
from voicebot.telephony.resample import StreamResampler
from voicebot.telephony.rtp import RtpPacket, parse_rtp

SOUNDS = "/usr/share/asterisk/sounds/en/*.wav"


def load_speech(seconds: float) -> np.ndarray:
    chunks, total = [], 0
    for path in sorted(glob.glob(SOUNDS)):
        with wave.open(path, "rb") as w:
            if w.getframerate() != 8000 or w.getsampwidth() != 2 or w.getnchannels() != 1:
                continue
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        chunks.append(pcm)
        total += pcm.size
        if total >= seconds * 8000:
            break
    if not chunks:
        raise SystemExit(f"no 8 kHz WAVs at {SOUNDS}: apt install asterisk-core-sounds-en-wav")
    speech = np.concatenate(chunks)[: int(seconds * 8000)]
    return speech[: speech.size - speech.size % 160]


def packetise(pcm: np.ndarray, seed: int = 1) -> list[bytes]:
    packets = [
        RtpPacket(0, 1000 + i, i * 160, 0xC0FFEE, ulaw_encode(chunk))
        for i, chunk in enumerate(np.split(pcm, pcm.size // 160))
    ]
    rng = random.Random(seed)
    for i in range(0, len(packets) - 2, 50):  # one swap per second
        j = i + rng.randint(1, 2)
        packets[i], packets[j] = packets[j], packets[i]
    kept = [p for p in packets if rng.random() >= 0.01]
    return [p.to_bytes() for p in kept]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter_ns()
        work()
        best = min(best, time.perf_counter_ns() - start)
    return best / 1000  # µs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    speech = load_speech(args.seconds)
    wire = packetise(speech)
    frames = speech.size // 160  # 20 ms frames of media
    parsed = [parse_rtp(b) for b in wire]
    ordered = sorted(parsed, key=lambda p: p.timestamp)
    payloads = [p.payload for p in ordered]
    decoded = [ulaw_decode(p) for p in payloads]
    resampler = StreamResampler(8000, 16000)
    pcm16 = np.concatenate([resampler.process(x) for x in decoded] + [resampler.flush()])
    vad_frames = [pcm16[i : i + 320].tobytes() for i in range(0, pcm16.size - 319, 320)]

    def stage_parse() -> None:
        for b in wire:
            parse_rtp(b)

    def stage_jitter() -> None:
        jb = JitterBuffer(3)
        for p in parsed:
            jb.push(p)
        jb.flush()

    def stage_decode() -> None:
        for p in payloads:
            ulaw_decode(p)

    def stage_resample() -> None:
        r = StreamResampler(8000, 16000)
        for x in decoded:
            r.process(x)
        r.flush()

    vad = webrtcvad.Vad(2)

    def stage_vad() -> None:
        for f in vad_frames:
            vad.is_speech(f, 16000)

    def whole_path() -> None:
        decoder = InboundDecoder()
        vad_path = webrtcvad.Vad(2)
        for b in wire:
            for item in decoder.feed_binary(b):
                pcm = getattr(item, "pcm", None)
                if pcm is not None:
                    vad_path.is_speech(pcm.tobytes(), 16000)
        decoder.finish()

    stages = {
        "RTP parse": stage_parse,
        "jitter buffer": stage_jitter,
        "G.711 decode": stage_decode,
        "resample 8k->16k": stage_resample,
        "webrtcvad (16 kHz)": stage_vad,
    }
    print(f"{args.seconds:.0f} s of speech: {len(wire)} RTP packets, {frames} frames of 20 ms")
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    total_stages = 0.0
    for name, work in stages.items():
        per_frame = best_of(args.runs, work) / frames
        total_stages += per_frame
        print(f"  {name:<22} {per_frame:7.2f} µs/frame")
    print(f"  {'sum of stages':<22} {total_stages:7.2f} µs/frame")
    whole = best_of(args.runs, whole_path) / frames
    print(f"  {'whole path':<22} {whole:7.2f} µs/frame  (InboundDecoder + webrtcvad)")
    print("StreamResampler alone, per 20 ms of input, other rates:")
    for src, dst in [(16000, 16000), (24000, 16000), (44100, 16000), (48000, 16000)]:
        tone = (8000 * np.sin(np.arange(src) * 2 * np.pi * 1000 / src)).astype(np.int16)
        chunks = np.split(tone, 50)

        def run(src: int = src, dst: int = dst, chunks: list[np.ndarray] = chunks) -> None:
            r = StreamResampler(src, dst)
            for c in chunks:
                r.process(c)

        print(f"  {src:>5} -> {dst:<5}           {best_of(args.runs, run) / 50:7.2f} µs/frame")
    decoder = InboundDecoder()
    for b in wire:
        decoder.feed_binary(b)
    decoder.finish()
    counters = {k: v for k, v in decoder.counters.items() if v}
    print(f"counters: {counters}")


if __name__ == "__main__":
    main()
