"""The caller's side of each media protocol, for the simulator: how a media server
(Ringover's streamer, Twilio, FreeSWITCH mod_audio_stream) frames the caller's audio and
keys, and how it reads what the bot sends back, named in one vocabulary (`streamAudio`,
`break`, `transfer`, `digits`, `play`, `hangup`) so one script runs on every protocol.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voicebot.telephony.dtmf import build_telephone_event, char_to_event
from voicebot.telephony.g711 import ulaw_decode, ulaw_encode
from voicebot.telephony.rtp import RtpPacket

RATE = 8000
PACKET_SAMPLES = 160  # 20 ms
Message = str | bytes


@dataclass
class Heard:
    """One thing the bot did, as the media server understood it."""

    kind: str
    event: dict[str, Any]
    pcm: np.ndarray | None = None  # decoded audio, for streamAudio
    rate: int = RATE


@dataclass
class CallerWire:
    """Base: what every media server does the same way."""

    call_id: str | None = None
    sent_marks: list[str] = field(default_factory=list)

    def opening(self) -> list[Message]:
        return []

    def audio(self, pcm: np.ndarray) -> list[Message]:
        raise NotImplementedError

    def key(self, digit: str, redundant_end: int) -> list[list[Message]]:
        """Messages per 20 ms tick for one key press."""
        raise NotImplementedError

    def heard(self, raw: Message) -> list[Heard]:
        event = json.loads(raw)
        kind = str(event.get("event") or event.get("type"))
        if kind == "streamAudio":
            data = event["data"]
            pcm = np.frombuffer(base64.b64decode(data["audioData"]), "<i2")
            return [Heard(kind, event, pcm, int(data["sampleRate"]))]
        return [Heard(kind, event)]

    async def after_close(self) -> list[Heard]:
        return []

    def replies(self, heard: Heard, now: float) -> list[tuple[float, Message]]:
        """Messages the server sends back in answer, with when (playout acks)."""
        return []


@dataclass
class RingoverWire(CallerWire):
    """8 kHz PCMU RTP with RFC 4733 keys; optional reordering and loss."""

    reorder: float = 0.0
    drop: float = 0.0
    seed: int = 1
    start_message: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.seq = self.rng.randrange(65536)
        self.ts = self.rng.randrange(2**32)
        self.ssrc = self.rng.randrange(2**32)
        self.held: bytes | None = None

    def opening(self) -> list[Message]:
        return [json.dumps(self.start_message)] if self.start_message is not None else []

    def audio(self, pcm: np.ndarray) -> list[Message]:
        pkt = RtpPacket(0, self.seq, self.ts, self.ssrc, ulaw_encode(pcm)).to_bytes()
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + PACKET_SAMPLES) & 0xFFFFFFFF
        return list(self._impair(pkt))

    def key(self, digit: str, redundant_end: int) -> list[list[Message]]:
        """One 100 ms key press: 5 packets of 20 ms, the last sent `redundant_end` times."""
        packets: list[list[Message]] = []
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


@dataclass
class TwilioWire(CallerWire):
    """Twilio Media Streams: JSON with base64 µ-law; plays what it gets in real time,
    answers each mark when the audio before it has played (or at once on a clear), and
    once the bot closes the stream asks the `<Connect action>` URL what to do next."""

    action_url: str = ""
    parameters: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rng = random.Random()
        self.call_sid = self.call_id or "CA" + "".join(rng.choices("0123456789abcdef", k=32))
        self.stream_sid = "MZ" + "".join(rng.choices("0123456789abcdef", k=32))
        self.sequence = 0
        self.chunk = 0
        self.playing_until = 0.0
        self.pending_marks: list[tuple[float, str]] = []

    def _message(self, event: str, **body: Any) -> str:
        self.sequence += 1
        return json.dumps({"event": event, "sequenceNumber": str(self.sequence),
                           "streamSid": self.stream_sid, **body})

    def opening(self) -> list[Message]:
        connected = json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        start = self._message("start", start={
            "streamSid": self.stream_sid, "accountSid": "AC" + "0" * 32,
            "callSid": self.call_sid, "tracks": ["inbound"],
            "customParameters": self.parameters,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        })
        return [connected, start]

    def audio(self, pcm: np.ndarray) -> list[Message]:
        self.chunk += 1
        payload = base64.b64encode(ulaw_encode(pcm)).decode("ascii")
        return [self._message("media", media={
            "track": "inbound", "chunk": str(self.chunk),
            "timestamp": str((self.chunk - 1) * 20), "payload": payload,
        })]

    def key(self, digit: str, redundant_end: int) -> list[list[Message]]:
        return [[self._message("dtmf", dtmf={"track": "inbound_track", "digit": digit})]]

    def heard(self, raw: Message) -> list[Heard]:
        event = json.loads(raw)
        kind = str(event.get("event"))
        if kind == "media":
            pcm = ulaw_decode(base64.b64decode(event["media"]["payload"]))
            return [Heard("streamAudio", event, pcm)]
        if kind == "clear":
            return [Heard("break", event)]
        return [Heard(kind, event)]

    def replies(self, heard: Heard, now: float) -> list[tuple[float, Message]]:
        if heard.kind == "streamAudio" and heard.pcm is not None:
            self.playing_until = max(self.playing_until, now) + heard.pcm.size / RATE
        elif heard.kind == "mark":
            name = heard.event["mark"]["name"]
            return [(self.playing_until, self._message("mark", mark={"name": name}))]
        elif heard.kind == "break":
            # A clear empties the buffer; the marks still pending come back at once.
            self.playing_until = now
        return []

    async def after_close(self) -> list[Heard]:
        if not self.action_url:
            return []
        body = urllib.parse.urlencode({"CallSid": self.call_sid, "CallStatus": "in-progress"})

        def post() -> str:
            request = urllib.request.Request(self.action_url, data=body.encode(), method="POST")
            with urllib.request.urlopen(request, timeout=5) as response:
                return str(response.read().decode())

        twiml = await asyncio.to_thread(post)
        return twiml_actions(twiml)


def twiml_actions(twiml: str) -> list[Heard]:
    """What a TwiML document tells Twilio to do, in the simulator's vocabulary."""
    out: list[Heard] = []
    for verb in ET.fromstring(twiml):
        if verb.tag == "Dial":
            out.append(Heard("transfer", {"event": "transfer", "data": (verb.text or "").strip(),
                                          "twiml": twiml}))
        elif verb.tag == "Hangup":
            out.append(Heard("hangup", {"event": "hangup", "twiml": twiml}))
        elif verb.tag == "Play" and verb.get("digits"):
            out.append(Heard("digits", {"event": "digits", "data": verb.get("digits")}))
        elif verb.tag == "Play":
            out.append(Heard("play", {"event": "play", "file": (verb.text or "").strip()}))
    return out


@dataclass
class AudioStreamWire(CallerWire):
    """FreeSWITCH mod_audio_stream: a metadata text, then raw 16-bit LE audio frames.
    Keys are not part of the module; an event-socket application forwards them with
    `uuid_audio_stream <uuid> send_text {"event": "dtmf", "digit": ...}`."""

    metadata: dict[str, Any] | None = None

    def opening(self) -> list[Message]:
        meta = dict(self.metadata or {})
        if self.call_id:
            meta.setdefault("call_id", self.call_id)
        return [json.dumps(meta)] if meta else []

    def audio(self, pcm: np.ndarray) -> list[Message]:
        return [pcm.astype("<i2").tobytes()]

    def key(self, digit: str, redundant_end: int) -> list[list[Message]]:
        return [[json.dumps({"event": "dtmf", "digit": digit})]]


PROTOCOLS = ("ringover", "twilio", "audio-stream")


def action_url_for(ws_url: str) -> str:
    """Where voicebot answers Twilio's `<Connect action>`: same host, http(s)."""
    parts = urllib.parse.urlsplit(ws_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return urllib.parse.urlunsplit((scheme, parts.netloc, "/twilio/stream-ended", "", ""))


def make_wire(protocol: str, url: str, *, call_id: str | None = None, reorder: float = 0.0,
              drop: float = 0.0, seed: int = 1,
              start_message: dict[str, Any] | None = None) -> CallerWire:
    if protocol == "ringover":
        return RingoverWire(call_id=call_id, reorder=reorder, drop=drop, seed=seed,
                            start_message=start_message)
    fields = {k: v for k, v in (start_message or {}).items() if k != "event"}
    call_id = call_id or fields.pop("call_id", None)
    if protocol == "twilio":
        params = {k: str(v) for k, v in fields.items()}
        return TwilioWire(call_id=call_id, action_url=action_url_for(url), parameters=params)
    if protocol == "audio-stream":
        return AudioStreamWire(call_id=call_id, metadata=fields)
    raise ValueError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
