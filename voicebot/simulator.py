"""A stand-in for Ringover's media server: streams a caller's audio as 8 kHz PCMU RTP at
real-time pace and collects what the bot sends back.

The same code backs `voicebot simulate`, the end-to-end tests and the benchmarks, so
what is measured is what a media server would see. Every packet's send time is kept,
so a test can tell exactly when a given caller sample left (e.g. the last one of an
utterance) and time the bot's answer against it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import websockets

from voicebot.telephony.dtmf import build_telephone_event, char_to_event
from voicebot.telephony.g711 import ulaw_encode
from voicebot.telephony.resample import resample
from voicebot.telephony.rtp import RtpPacket

RATE = 8000
PACKET_SAMPLES = 160  # 20 ms
SILENCE = np.zeros(PACKET_SAMPLES, np.int16)


# ---- the caller's script -------------------------------------------------------------


@dataclass(frozen=True)
class Silence:
    seconds: float


@dataclass(frozen=True)
class Speech:
    pcm: np.ndarray  # int16 at 8 kHz
    label: str = "speech"


@dataclass(frozen=True)
class Key:
    digit: str
    redundant_end: int = 3  # RFC 4733: end packets are sent three times


@dataclass(frozen=True)
class WaitFor:
    """Keep streaming silence until the bot has sent `nth` events of `kind` in this call
    (nth=0: one sent after this step began), then for `after` more seconds (counted from
    that event's arrival)."""

    kind: str  # "streamAudio", "transfer", "digits", "break", "play"
    after: float = 0.0
    nth: int = 1
    timeout: float = 20.0


@dataclass(frozen=True)
class WaitQuiet:
    """Keep streaming silence until the bot has answered (audio sent after this step began;
    with `first`, any audio if none came yet, e.g. the greeting) and then sent no audio
    for `quiet` seconds: a polite caller waits for the end of the prompt."""

    quiet: float = 0.6
    timeout: float = 30.0
    first: bool = True


Step = Silence | Speech | Key | WaitFor | WaitQuiet


@dataclass
class Received:
    at: float  # monotonic seconds
    event: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.event.get("event") or self.event.get("type"))


@dataclass
class SimResult:
    events: list[Received] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)  # label -> monotonic send time
    audio: dict[int, list[np.ndarray]] = field(default_factory=dict)  # rate -> chunks
    closed_by_server: bool = False
    packets_sent: int = 0

    def of(self, kind: str) -> list[Received]:
        return [r for r in self.events if r.kind == kind]

    def bot_audio(self) -> tuple[np.ndarray, int]:
        if not self.audio:
            return np.zeros(0, np.int16), RATE
        rate = max(self.audio, key=lambda r: sum(c.size for c in self.audio[r]))
        return np.concatenate(self.audio[rate]), rate


def load_wav_8k(path: str) -> np.ndarray:
    import wave

    with wave.open(path, "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise ValueError(f"{path}: only 16-bit PCM WAV is supported (got {8 * width}-bit)")
    pcm = np.frombuffer(raw, "<i2").reshape(-1, channels).mean(axis=1).astype(np.int16)
    return resample(pcm, rate, RATE) if rate != RATE else pcm


class _Rtp:
    def __init__(self, reorder: float, drop: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seq = self.rng.randrange(65536)
        self.ts = self.rng.randrange(2**32)
        self.ssrc = self.rng.randrange(2**32)
        self.reorder, self.drop = reorder, drop
        self.held: bytes | None = None

    def audio(self, pcm: np.ndarray) -> list[bytes]:
        pkt = RtpPacket(0, self.seq, self.ts, self.ssrc, ulaw_encode(pcm)).to_bytes()
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + PACKET_SAMPLES) & 0xFFFFFFFF
        return self._impair(pkt)

    def key(self, digit: str, redundant_end: int) -> list[list[bytes]]:
        """One 100 ms key press: 5 packets of 20 ms, the last sent `redundant_end` times."""
        packets = []
        for i in range(1, 6):
            end = i == 5
            payload = build_telephone_event(
                char_to_event(digit), end=end, volume=10, duration=i * 160
            )
            raw = RtpPacket(101, self.seq, self.ts, self.ssrc, payload, marker=i == 1).to_bytes()
            self.seq = (self.seq + 1) & 0xFFFF
            packets.append([raw] * (redundant_end if end else 1))
        self.ts = (self.ts + 5 * PACKET_SAMPLES) & 0xFFFFFFFF
        return packets

    def _impair(self, pkt: bytes) -> list[bytes]:
        if self.rng.random() < self.drop:
            return []
        if self.held is not None:
            out, self.held = [pkt, self.held], None  # the held one arrives late
            return out
        if self.rng.random() < self.reorder:
            self.held = pkt
            return []
        return [pkt]


async def simulate(
    url: str,
    script: list[Step],
    *,
    timeout: float = 30.0,
    reorder: float = 0.0,
    drop: float = 0.0,
    seed: int = 1,
    start_message: dict[str, Any] | None = None,
    until: tuple[str, ...] = ("transfer",),
    print_events: bool = False,
    linger: float | None = None,
) -> SimResult:
    """Run one call. Ends when the bot sends one of `until`, closes, or `timeout` passes;
    with `linger`, also that many seconds after the script ends (the caller hangs up)."""
    result = SimResult()
    rtp = _Rtp(reorder, drop, seed)
    done = asyncio.Event()
    t_start = time.monotonic()
    async with websockets.connect(url, max_size=2**22) as ws:
        if start_message is not None:
            await ws.send(json.dumps(start_message))

        async def receive() -> None:
            try:
                async for raw in ws:
                    event = json.loads(raw)
                    got = Received(time.monotonic(), event)
                    result.events.append(got)
                    if print_events:
                        _print(got, t_start)
                    if got.kind == "streamAudio":
                        data = event["data"]
                        pcm = np.frombuffer(base64.b64decode(data["audioData"]), "<i2")
                        result.audio.setdefault(int(data["sampleRate"]), []).append(pcm)
                    if got.kind in until:
                        done.set()
            except websockets.ConnectionClosed:
                pass
            result.closed_by_server = True
            done.set()

        receiver = asyncio.create_task(receive())
        clock = _Pacer()
        try:
            await asyncio.wait_for(
                _send_script(ws, script, rtp, clock, result, done), timeout
            )
            remaining = timeout - (time.monotonic() - t_start)
            if linger is not None:
                remaining = min(remaining, linger)
            # A media server keeps streaming while the call lasts: silence until the end.
            await asyncio.wait_for(_stream_silence(ws, rtp, clock, result, done), remaining)
        except (TimeoutError, websockets.ConnectionClosed):
            pass
        finally:
            receiver.cancel()
            try:
                await receiver
            except asyncio.CancelledError:
                pass
    return result


class _Pacer:
    """Absolute schedule, so send times do not drift with the event loop's latency."""

    def __init__(self) -> None:
        self.next = time.monotonic()

    async def tick(self) -> float:
        self.next += PACKET_SAMPLES / RATE
        delay = self.next - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return time.monotonic()


async def _send_audio(ws: Any, pcm: np.ndarray, rtp: _Rtp, clock: _Pacer, result: SimResult,
                      label: str | None = None) -> None:
    pad = (-pcm.size) % PACKET_SAMPLES
    pcm = np.concatenate([pcm, np.zeros(pad, np.int16)]) if pad else pcm
    for i in range(0, pcm.size, PACKET_SAMPLES):
        sent_at = await clock.tick()
        if label is not None and i == 0:
            result.marks[label + ".start"] = sent_at
        for pkt in rtp.audio(pcm[i : i + PACKET_SAMPLES]):
            await ws.send(pkt)
            result.packets_sent += 1
    if label is not None:
        result.marks[label + ".end"] = time.monotonic()


async def _stream_silence(ws: Any, rtp: _Rtp, clock: _Pacer, result: SimResult,
                          done: asyncio.Event) -> None:
    while not done.is_set():
        await _send_audio(ws, SILENCE, rtp, clock, result)


async def _send_script(ws: Any, script: list[Step], rtp: _Rtp, clock: _Pacer,
                       result: SimResult, done: asyncio.Event) -> None:
    for step in script:
        if done.is_set():
            return
        if isinstance(step, Silence):
            await _send_audio(ws, np.zeros(int(step.seconds * RATE), np.int16), rtp, clock, result)
        elif isinstance(step, Speech):
            await _send_audio(ws, step.pcm, rtp, clock, result, step.label)
        elif isinstance(step, Key):
            for copies in rtp.key(step.digit, step.redundant_end):
                await clock.tick()
                for pkt in copies:
                    await ws.send(pkt)
        elif isinstance(step, WaitQuiet):
            await _wait_quiet(ws, step, rtp, clock, result, done)
        elif isinstance(step, WaitFor):
            await _wait_for(ws, step, rtp, clock, result, done)


async def _wait_for(ws: Any, step: WaitFor, rtp: _Rtp, clock: _Pacer, result: SimResult,
                    done: asyncio.Event) -> None:
    began = time.monotonic()
    deadline = began + step.timeout

    def seen() -> list[Received]:
        got = result.of(step.kind)
        return [r for r in got if r.at >= began] if step.nth == 0 else got[step.nth - 1 :]

    while not seen():
        if time.monotonic() > deadline or done.is_set():
            return
        await _send_audio(ws, SILENCE, rtp, clock, result)
    seen_at = seen()[0].at
    while time.monotonic() < seen_at + step.after and not done.is_set():
        await _send_audio(ws, SILENCE, rtp, clock, result)


async def _wait_quiet(ws: Any, step: WaitQuiet, rtp: _Rtp, clock: _Pacer, result: SimResult,
                      done: asyncio.Event) -> None:
    began = time.monotonic()
    deadline = began + step.timeout
    # Only audio that starts after this step counts: the answer to what was just said.
    since = 0.0 if not result.of("streamAudio") and step.first else began
    while time.monotonic() < deadline and not done.is_set():
        audio = [r for r in result.of("streamAudio") if r.at >= since]
        if audio and time.monotonic() - audio[-1].at >= step.quiet:
            return
        await _send_audio(ws, SILENCE, rtp, clock, result)


def _print(got: Received, t0: float) -> None:
    event = got.event
    if got.kind == "streamAudio":
        data = event["data"]
        size = len(base64.b64decode(data["audioData"]))
        summary = f"streamAudio {data['audioDataType']} {data['sampleRate']} Hz {size} bytes"
    else:
        summary = json.dumps(event)
    print(f"{got.at - t0:8.3f}s  {summary}", flush=True)


def write_wav(path: str, pcm: np.ndarray, rate: int) -> None:
    import wave

    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())


def main(args: Any) -> int:
    """`voicebot simulate`: exit 0 when the bot transferred or hung up, 1 on time-out."""
    script: list[Step] = [Silence(args.silence_before)]
    if args.wav:
        script.append(Speech(load_wav_8k(args.wav), "caller"))
    for digit in args.dtmf or "":
        script += [Silence(0.3), Key(digit)]
    script.append(Silence(args.silence_after))
    start = {"event": "start", "call_id": args.call_id} if args.call_id else None
    result = asyncio.run(simulate(
        args.url, script, timeout=args.timeout, reorder=args.reorder, drop=args.drop,
        start_message=start, until=("transfer",), print_events=True,
    ))
    if args.out:
        pcm, rate = result.bot_audio()
        write_wav(args.out, pcm, rate)
        print(f"bot audio: {pcm.size / rate:.2f} s at {rate} Hz -> {args.out}")
    ended = bool(result.of("transfer")) or result.closed_by_server
    print("call ended: " + ("transfer" if result.of("transfer") else
                            "hangup" if result.closed_by_server else "time-out"))
    return 0 if ended else 1
