"""A simulated media server that can call either bot: voicebot over Ringover's wire
(PCMU RTP in binary frames; `streamAudio`/`break` back) or a pipecat bot over Twilio
Media Streams (base64 µ-law `media` events; `media`/`clear` back).

Both get the same caller audio at the same real-time pace (a 20 ms packet every 20 ms on
an absolute schedule), with the line's noise under and between the utterances. The bot's
audio goes into a play-out queue as a media server's would (a chunk plays when the one
before it has ended); a break (`break` or `clear`) drops what was still queued, and that
amount is recorded: it is the audio the caller would still hear from a media server
that finishes what it had. With `echo_db`, the audio being played comes back into the
caller's line at that level, as on a phone without echo cancellation.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import websockets

from bench.callers import RATE, Line, Turn
from voicebot.telephony.g711 import ulaw_decode, ulaw_encode
from voicebot.telephony.resample import resample
from voicebot.telephony.rtp import RtpPacket

PACKET = 160  # 20 ms at 8 kHz
ONSET_GAP = 0.3  # bot audio after this much silence on the line starts a new reply


@dataclass
class Out:
    """One event from the bot, as it arrived."""

    at: float  # monotonic seconds
    kind: str  # "audio" | "onset" | "underrun" | "break" | "other"
    samples: int = 0
    # break: seconds of bot audio still queued when it came; underrun: the hole's length
    queued: float = 0.0


class Wire(Protocol):
    def opening(self) -> list[str | bytes]: ...
    def audio(self, pcm: np.ndarray) -> str | bytes: ...
    def closing(self) -> list[str | bytes]: ...
    def parse(self, raw: str | bytes) -> tuple[str, np.ndarray | None]: ...


class RingoverWire:
    """voicebot's native wire: RTP/PCMU in, JSON `streamAudio` (PCM16) and `break` out."""

    def __init__(self, call_id: str, caller: str) -> None:
        self.call_id, self.caller = call_id, caller
        self.seq, self.ts, self.ssrc = 1000, 160000, 0x5EED

    def opening(self) -> list[str | bytes]:
        return [json.dumps({"event": "start", "callId": self.call_id, "from": self.caller,
                            "encoding": "PCMU", "sampleRate": RATE})]

    def audio(self, pcm: np.ndarray) -> str | bytes:
        pkt = RtpPacket(0, self.seq, self.ts, self.ssrc, ulaw_encode(pcm)).to_bytes()
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + PACKET) & 0xFFFFFFFF
        return pkt

    def closing(self) -> list[str | bytes]:
        return [json.dumps({"event": "stop"})]

    def parse(self, raw: str | bytes) -> tuple[str, np.ndarray | None]:
        event = json.loads(raw)
        if event.get("type") == "streamAudio" or event.get("event") == "streamAudio":
            data = event["data"]
            pcm = np.frombuffer(base64.b64decode(data["audioData"]), "<i2")
            rate = int(data.get("sampleRate", RATE))
            return "audio", (resample(pcm, rate, RATE) if rate != RATE else pcm)
        if event.get("event") == "break":
            return "break", None
        return "other", None


class TwilioWire:
    """Twilio Media Streams: `connected`, `start`, `media` (µ-law) in; `media`, `clear`
    out. The caller number travels as a custom parameter, as a TwiML app would pass it."""

    def __init__(self, call_id: str, caller: str) -> None:
        self.sid = f"MZ{call_id}"
        self.call_sid = f"CA{call_id}"
        self.caller = caller
        self.chunk = 0

    def opening(self) -> list[str | bytes]:
        start = {"streamSid": self.sid, "accountSid": "ACbench", "callSid": self.call_sid,
                 "tracks": ["inbound"], "customParameters": {"caller": self.caller},
                 "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": RATE,
                                 "channels": 1}}
        return [json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}),
                json.dumps({"event": "start", "sequenceNumber": "1", "start": start,
                            "streamSid": self.sid})]

    def audio(self, pcm: np.ndarray) -> str | bytes:
        self.chunk += 1
        return json.dumps({"event": "media", "sequenceNumber": str(self.chunk + 1),
                           "streamSid": self.sid,
                           "media": {"track": "inbound", "chunk": str(self.chunk),
                                     "timestamp": str(self.chunk * 20),
                                     "payload": base64.b64encode(ulaw_encode(pcm)).decode()}})

    def closing(self) -> list[str | bytes]:
        return [json.dumps({"event": "stop", "streamSid": self.sid,
                            "stop": {"accountSid": "ACbench", "callSid": self.call_sid}})]

    def parse(self, raw: str | bytes) -> tuple[str, np.ndarray | None]:
        event = json.loads(raw)
        if event.get("event") == "media":
            return "audio", ulaw_decode(base64.b64decode(event["media"]["payload"]))
        if event.get("event") == "clear":
            return "break", None
        return "other", None


@dataclass
class CallLog:
    out: list[Out] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)  # "<label>.start"/".end" -> sent at
    turns: dict[str, Turn] = field(default_factory=dict)

    def audio_between(self, t0: float, t1: float) -> list[Out]:
        return [o for o in self.out if o.kind == "audio" and t0 < o.at <= t1]

    def onsets_between(self, t0: float, t1: float) -> list[Out]:
        return [o for o in self.out if o.kind == "onset" and t0 < o.at <= t1]

    def breaks_between(self, t0: float, t1: float) -> list[Out]:
        return [o for o in self.out if o.kind == "break" and t0 < o.at <= t1]

    def underruns(self) -> list[Out]:
        """Gaps inside the bot's speech: the play-out queue ran dry and audio came again
        within ONSET_GAP (`queued`: the gap's length, s). The caller hears a hole."""
        return [o for o in self.out if o.kind == "underrun"]

    def played_s(self) -> float:
        return sum(o.samples for o in self.out if o.kind == "audio") / RATE


class Call:
    """One call in progress. A script drives it with `say`, `wait_reply`, `wait_playing`
    and `pause`, while packets keep flowing every 20 ms."""

    def __init__(self, wire: Wire, line: Line, echo_db: float | None = None,
                 open_timeout: float = 30.0) -> None:
        self.wire, self.line, self.open_timeout = wire, line, open_timeout
        self.echo = None if echo_db is None else 10 ** (echo_db / 20)
        self.log = CallLog()
        self.playout: deque[np.ndarray] = deque()
        self.queued = 0  # samples in `playout`
        self.playing_since: float | None = None
        self.dry_since = 0.0  # when the play-out queue last ran dry
        self.ran_dry = False  # it ran dry while playing (not cleared by a break)
        self.last_audio = 0.0
        self.speech: tuple[str, Turn, int] | None = None  # label, turn, next sample
        self.speech_done = asyncio.Event()
        self.closed = asyncio.Event()

    # ---- what a script calls ----------------------------------------------------------

    async def say(self, turn: Turn, label: str) -> None:
        self.log.turns[label] = turn
        self.speech_done.clear()
        self.speech = (label, turn, 0)
        await self._until(self.speech_done.is_set, 60)

    async def pause(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def wait_reply(self, quiet: float = 0.8, timeout: float = 15.0) -> bool:
        """Wait for audio from the bot after now, then for it to end (queue played out and
        nothing new for `quiet` s). False when no reply came within `timeout`."""
        t0 = time.monotonic()
        got = await self._until(lambda: self.last_audio > t0, timeout)
        await self.wait_quiet(quiet, timeout=30.0)
        return got

    async def wait_quiet(self, quiet: float = 0.8, timeout: float = 30.0) -> None:
        await self._until(lambda: self.queued == 0
                          and time.monotonic() - self.last_audio >= quiet, timeout)

    async def wait_playing(self, seconds: float, timeout: float = 20.0) -> bool:
        """Wait until a prompt has been playing for `seconds` without a gap."""
        return await self._until(
            lambda: self.playing_since is not None
            and time.monotonic() - self.playing_since >= seconds, timeout)

    async def _until(self, cond: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not cond():
            if self.closed.is_set() or time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    # ---- the media server's side --------------------------------------------------------

    async def run(self, url: str, script: Any, timeout: float) -> CallLog:
        # A generous handshake, and no keep-alive pings: a bot that loads models as a call
        # connects may hold its event loop for seconds, and a media server streaming audio
        # has no need to ping (the packets are the keep-alive).
        async with websockets.connect(url, max_size=2**22, open_timeout=self.open_timeout,
                                      ping_interval=None) as ws:
            for msg in self.wire.opening():
                await ws.send(msg)
            self.log.marks["connected"] = time.monotonic()
            receiver = asyncio.create_task(self._receive(ws))
            sender = asyncio.create_task(self._send(ws))
            try:
                await asyncio.wait_for(script(self), timeout)
            except TimeoutError:
                pass
            finally:
                sender.cancel()
                try:
                    for msg in self.wire.closing():
                        await ws.send(msg)
                except websockets.ConnectionClosed:
                    pass
                receiver.cancel()
                await asyncio.gather(sender, receiver, return_exceptions=True)
        return self.log

    async def _receive(self, ws: Any) -> None:
        try:
            async for raw in ws:
                now = time.monotonic()
                kind, pcm = self.wire.parse(raw)
                if kind == "audio" and pcm is not None and pcm.size:
                    if self.queued == 0 and now - self.dry_since >= ONSET_GAP:
                        # Audio after a silence: the start of a reply, as the caller hears it.
                        self.log.out.append(Out(now, "onset"))
                    elif self.queued == 0 and self.ran_dry:
                        # The same speech, late: a hole in it (PACKET resolution).
                        self.log.out.append(Out(now, "underrun", queued=now - self.dry_since))
                    self.ran_dry = False
                    self.playout.append(pcm.astype(np.int16))
                    self.queued += pcm.size
                    self.last_audio = now
                    if self.playing_since is None:
                        self.playing_since = now
                    self.log.out.append(Out(now, "audio", pcm.size))
                elif kind == "break":
                    self.log.out.append(Out(now, "break", queued=self.queued / RATE))
                    self.playout.clear()
                    self.queued = 0
                    self.playing_since = None
                    self.dry_since = now
                    self.ran_dry = False
                else:
                    self.log.out.append(Out(now, "other"))
        except websockets.ConnectionClosed:
            pass
        self.closed.set()

    def _play(self, n: int) -> np.ndarray:
        """The next `n` samples the caller hears from the bot (zeros when the queue is dry)."""
        out = np.zeros(n, np.float64)
        filled = 0
        while filled < n and self.playout:
            head = self.playout[0]
            take = min(n - filled, head.size)
            out[filled:filled + take] = head[:take]
            filled += take
            if take == head.size:
                self.playout.popleft()
            else:
                self.playout[0] = head[take:]
        self.queued -= filled
        if self.queued == 0 and filled < n:
            if self.playing_since is not None:
                self.dry_since = time.monotonic()
                self.ran_dry = True
            self.playing_since = None
        return out

    async def _send(self, ws: Any) -> None:
        """A packet every 20 ms on an absolute schedule: line noise, the caller's speech
        when they talk, and the echo of the bot's voice when asked for."""
        next_at = time.monotonic()
        while True:
            pcm = self.line.next(PACKET)
            played = self._play(PACKET)
            if self.echo is not None:
                pcm = pcm + played * self.echo
            marks: list[str] = []
            if self.speech is not None:
                label, turn, pos = self.speech
                piece = turn.pcm[pos:pos + PACKET].astype(np.float64)
                pcm[:piece.size] += piece
                if pos == 0:
                    marks.append(f"{label}.start")
                if pos < turn.speech_end <= pos + PACKET:
                    marks.append(f"{label}.end")
                pos += PACKET
                self.speech = (label, turn, pos) if pos < turn.pcm.size else None
                if self.speech is None:
                    self.speech_done.set()
            await ws.send(self.wire.audio(np.clip(pcm, -32768, 32767).astype(np.int16)))
            sent = time.monotonic()
            for mark in marks:
                self.log.marks[mark] = sent
            next_at += PACKET / RATE
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
