"""A stand-in for a media server: streams a caller's audio at real-time pace, in the
dialect of one media protocol (simulator_wires.py: Ringover's 8 kHz PCMU RTP by default,
Twilio Media Streams, FreeSWITCH mod_audio_stream), and collects what the bot sends back.

The same code backs `voicebot simulate`, the end-to-end tests and the benchmarks, so
what is measured is what a media server would see. Every packet's send time is kept,
so a test can tell exactly when a given caller sample left (e.g. the last one of an
utterance) and time the bot's answer against it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import websockets

from voicebot.simulator_wires import PACKET_SAMPLES, RATE, CallerWire, make_wire
from voicebot.telephony.resample import resample

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
    event: dict[str, Any]  # as it came on the wire (Twilio: the TwiML's verb, described)
    # In one vocabulary for every protocol: streamAudio, break, transfer, digits, play,
    # hangup, mark.
    kind: str = ""

    def __post_init__(self) -> None:
        if not self.kind:
            self.kind = str(self.event.get("event") or self.event.get("type"))


@dataclass
class SimResult:
    events: list[Received] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)  # label -> monotonic send time
    audio: dict[int, list[np.ndarray]] = field(default_factory=dict)  # rate -> chunks
    closed_by_server: bool = False
    packets_sent: int = 0
    after_close_error: str | None = None

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
    protocol: str = "ringover",
) -> SimResult:
    """Run one call. Ends when the bot sends one of `until`, closes, or `timeout` passes;
    with `linger`, also that many seconds after the script ends (the caller hangs up)."""
    result = SimResult()
    wire = make_wire(protocol, url, reorder=reorder, drop=drop, seed=seed,
                    start_message=start_message)
    done = asyncio.Event()
    t_start = time.monotonic()
    async with websockets.connect(url, max_size=2**22) as ws:
        for message in wire.opening():
            await ws.send(message)
        replies: set[asyncio.Task[None]] = set()

        def note(heard: Any, at: float) -> None:
            got = Received(at, heard.event, heard.kind)
            result.events.append(got)
            if print_events:
                _print(got, t_start)
            if heard.pcm is not None:
                result.audio.setdefault(heard.rate, []).append(heard.pcm)
            if got.kind in until:
                done.set()

        async def reply(at: float, message: str | bytes) -> None:
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            try:
                await ws.send(message)
            except websockets.ConnectionClosed:
                pass

        async def receive() -> None:
            try:
                async for raw in ws:
                    now = time.monotonic()
                    for heard in wire.heard(raw):
                        note(heard, now)
                        for at, message in wire.replies(heard, now):
                            task = asyncio.create_task(reply(at, message))
                            replies.add(task)
                            task.add_done_callback(replies.discard)
            except websockets.ConnectionClosed:
                pass
            result.closed_by_server = True
            try:  # e.g. Twilio asks the <Connect action> URL what to do next
                for heard in await wire.after_close():
                    note(heard, time.monotonic())
            except Exception as exc:
                result.after_close_error = repr(exc)
            done.set()

        receiver = asyncio.create_task(receive())
        clock = _Pacer()
        try:
            await asyncio.wait_for(
                _send_script(ws, script, wire, clock, result, done), timeout
            )
            remaining = timeout - (time.monotonic() - t_start)
            if linger is not None:
                remaining = min(remaining, linger)
            # A media server keeps streaming while the call lasts: silence until the end.
            await asyncio.wait_for(_stream_silence(ws, wire, clock, result, done), remaining)
        except (TimeoutError, websockets.ConnectionClosed):
            pass
        finally:
            if result.closed_by_server:
                await asyncio.wait({receiver}, timeout=5)  # let after_close finish
            receiver.cancel()
            for task in [receiver, *replies]:
                task.cancel()
                try:
                    await task
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


async def _send_audio(ws: Any, pcm: np.ndarray, wire: CallerWire, clock: _Pacer, result: SimResult,
                      label: str | None = None) -> None:
    pad = (-pcm.size) % PACKET_SAMPLES
    pcm = np.concatenate([pcm, np.zeros(pad, np.int16)]) if pad else pcm
    for i in range(0, pcm.size, PACKET_SAMPLES):
        sent_at = await clock.tick()
        if label is not None and i == 0:
            result.marks[label + ".start"] = sent_at
        for pkt in wire.audio(pcm[i : i + PACKET_SAMPLES]):  # none, one, or a late pair
            await ws.send(pkt)
            result.packets_sent += 1
    if label is not None:
        result.marks[label + ".end"] = time.monotonic()


async def _stream_silence(ws: Any, wire: CallerWire, clock: _Pacer, result: SimResult,
                          done: asyncio.Event) -> None:
    while not done.is_set():
        await _send_audio(ws, SILENCE, wire, clock, result)


async def _send_script(ws: Any, script: list[Step], wire: CallerWire, clock: _Pacer,
                       result: SimResult, done: asyncio.Event) -> None:
    for step in script:
        if done.is_set():
            return
        if isinstance(step, Silence):
            await _send_audio(ws, np.zeros(int(step.seconds * RATE), np.int16), wire, clock, result)
        elif isinstance(step, Speech):
            await _send_audio(ws, step.pcm, wire, clock, result, step.label)
        elif isinstance(step, Key):
            for copies in wire.key(step.digit, step.redundant_end):
                await clock.tick()
                for pkt in copies:
                    await ws.send(pkt)
        elif isinstance(step, WaitQuiet):
            await _wait_quiet(ws, step, wire, clock, result, done)
        elif isinstance(step, WaitFor):
            await _wait_for(ws, step, wire, clock, result, done)


async def _wait_for(ws: Any, step: WaitFor, wire: CallerWire, clock: _Pacer, result: SimResult,
                    done: asyncio.Event) -> None:
    began = time.monotonic()
    deadline = began + step.timeout

    def seen() -> list[Received]:
        got = result.of(step.kind)
        return [r for r in got if r.at >= began] if step.nth == 0 else got[step.nth - 1 :]

    while not seen():
        if time.monotonic() > deadline or done.is_set():
            return
        await _send_audio(ws, SILENCE, wire, clock, result)
    seen_at = seen()[0].at
    while time.monotonic() < seen_at + step.after and not done.is_set():
        await _send_audio(ws, SILENCE, wire, clock, result)


async def _wait_quiet(ws: Any, step: WaitQuiet, wire: CallerWire, clock: _Pacer, result: SimResult,
                      done: asyncio.Event) -> None:
    began = time.monotonic()
    deadline = began + step.timeout
    # Only audio that starts after this step counts: the answer to what was just said.
    since = 0.0 if not result.of("streamAudio") and step.first else began
    while time.monotonic() < deadline and not done.is_set():
        audio = [r for r in result.of("streamAudio") if r.at >= since]
        if audio and time.monotonic() - audio[-1].at >= step.quiet:
            return
        await _send_audio(ws, SILENCE, wire, clock, result)


def _print(got: Received, t0: float) -> None:
    event = got.event
    if got.kind == "streamAudio" and "data" in event:
        data = event["data"]
        size = len(base64.b64decode(data["audioData"]))
        summary = f"streamAudio {data['audioDataType']} {data['sampleRate']} Hz {size} bytes"
    elif got.kind == "streamAudio":  # Twilio media
        size = len(base64.b64decode(event["media"]["payload"]))
        summary = f"media audio/x-mulaw 8000 Hz {size} bytes"
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
    url = args.url or "ws://127.0.0.1:8080/media" + (
        "" if args.protocol == "ringover" else "/" + args.protocol)
    result = asyncio.run(simulate(
        url, script, timeout=args.timeout, reorder=args.reorder, drop=args.drop,
        start_message=start, until=("transfer",), print_events=True, protocol=args.protocol,
    ))
    if args.out:
        pcm, rate = result.bot_audio()
        write_wav(args.out, pcm, rate)
        print(f"bot audio: {pcm.size / rate:.2f} s at {rate} Hz -> {args.out}")
    if result.after_close_error:
        print(f"after the stream: {result.after_close_error}")
    ended = bool(result.of("transfer")) or result.closed_by_server
    print("call ended: " + ("transfer" if result.of("transfer") else
                            "hangup" if result.closed_by_server else "time-out"))
    return 0 if ended else 1
