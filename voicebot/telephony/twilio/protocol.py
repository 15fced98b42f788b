"""Twilio Media Streams, bidirectional (docs/protocol.md, "Twilio Media Streams").

Twilio sends JSON text messages: `connected`, then `start` (streamSid, callSid, the
`<Parameter>`s of the `<Stream>` as customParameters, mediaFormat audio/x-mulaw 8000 Hz),
then `media` (20 ms of base64 µ-law), `dtmf`, `mark` (a mark we sent has been played, or
was cleared) and `stop`. We send `media`, `mark` and `clear`.

Media Streams has no transfer, digits, play or hang-up message. Those become TwiML that
runs when the stream ends: the session closes the WebSocket, Twilio requests the
`<Connect action=...>` URL, and voicebot answers with the verbs kept here (`epilogue`),
e.g. `<Dial>+33...</Dial>` or `<Hangup/>`. Without an action URL, Twilio goes on with the
next verb after `<Connect>`, and hangs up when there is none.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, ClassVar
from xml.sax.saxutils import escape, quoteattr

from voicebot.telephony import media
from voicebot.telephony.control import ControlError
from voicebot.telephony.g711 import ulaw_encode
from voicebot.telephony.inbound import DtmfDigit, InboundDecoder
from voicebot.telephony.resample import resample
from voicebot.telephony.wirejson import DTMF_KEYS, dumps, field, load_object, text_or_none

RATE = 8000  # Media Streams audio is always 8 kHz µ-law, both ways
# <Play digits> takes 0-9, * and # (and w for a pause); A-D cannot be sent.
_PLAYABLE_DIGITS = frozenset("0123456789*#w")


class TwilioProtocol:
    name: ClassVar[str] = "twilio"
    playout_ack: ClassVar[bool] = True
    token_in_start: ClassVar[bool] = True
    transfer_ends_stream: ClassVar[bool] = True

    def __init__(self, *, max_frame_bytes: int = 16384) -> None:
        self.decoder = InboundDecoder(
            default_encoding="pcmu", default_rate=RATE, framing="raw",
            max_frame_bytes=max_frame_bytes,
        )
        self.stream_sid = ""
        self._counts: dict[str, int] = {}
        self._verbs: list[str] = []  # TwiML to run once the stream has ended
        self._refused: str | None = None

    @property
    def output_rate(self) -> int:
        return RATE

    @property
    def counters(self) -> dict[str, int]:
        return {**self.decoder.counters, **self._counts}

    @property
    def refused(self) -> str | None:
        return self._refused

    def _drop(self, reason: str) -> list[media.MediaEvent]:
        key = f"frames_dropped_{reason}"
        self._counts[key] = self._counts.get(key, 0) + 1
        return []

    # ---- inbound --------------------------------------------------------------------

    def decode(self, message: media.WireMessage) -> list[media.MediaEvent]:
        if isinstance(message, bytes):
            return self._drop("unexpected_binary")  # every Twilio message is JSON text
        try:
            obj = load_object(message)
        except ControlError as exc:
            return self._drop(exc.reason)
        event = obj.get("event")
        if event == "media":
            return self._media(obj)
        if event == "start":
            return self._start(obj)
        if event == "mark":
            name = text_or_none(field(obj, "mark").get("name"))
            return [media.PlayedOut(name)] if name else self._drop("invalid_control")
        if event == "dtmf":
            digit = text_or_none(field(obj, "dtmf").get("digit"))
            if digit is None or len(digit) != 1 or digit.upper() not in DTMF_KEYS:
                return self._drop("invalid_control")
            return [media.KeyPress(digit.upper())]
        if event == "stop":
            return [media.CallStop("stop")]
        if event == "connected":
            return []
        return self._drop("unknown_event")

    def _start(self, obj: dict[str, Any]) -> list[media.MediaEvent]:
        start = field(obj, "start")
        fmt = field(start, "mediaFormat")
        encoding = str(fmt.get("encoding", "audio/x-mulaw")).lower()
        if encoding != "audio/x-mulaw" or fmt.get("sampleRate", RATE) != RATE:
            # Twilio documents no other format; refuse to guess at one.
            rate = ascii(fmt.get("sampleRate"))[:8]
            self._refused = (f"mediaFormat {ascii(encoding)[:40]} at {rate} Hz; Media Streams "
                             "is audio/x-mulaw at 8000 Hz")
            return self._drop("unsupported_media")
        self.stream_sid = text_or_none(start.get("streamSid") or obj.get("streamSid")) or ""
        params = {str(k): str(v) for k, v in field(start, "customParameters").items()
                  if isinstance(v, str | int | float)}
        return [media.CallStart(
            call_id=text_or_none(start.get("callSid")),
            from_number=params.get("from") or params.get("From"),
            to_number=params.get("to") or params.get("To"),
            extra=params,
        )]

    def _media(self, obj: dict[str, Any]) -> list[media.MediaEvent]:
        body = field(obj, "media")
        if body.get("track", "inbound") not in ("inbound", "inbound_track"):
            return self._drop("other_track")
        payload = body.get("payload")
        if not isinstance(payload, str):
            return self._drop("invalid_control")
        try:
            audio = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return self._drop("bad_payload")
        return [item for item in self.decoder.feed_binary(audio)
                if not isinstance(item, DtmfDigit)]

    def finish(self) -> list[media.MediaEvent]:
        return [item for item in self.decoder.finish() if not isinstance(item, DtmfDigit)]

    # ---- outbound -------------------------------------------------------------------

    def encode(self, command: media.MediaCommand) -> list[media.WireMessage]:
        sid = self.stream_sid
        if isinstance(command, media.Audio):
            pcm = command.pcm if command.rate == RATE else resample(command.pcm, command.rate,
                                                                    RATE)
            payload = base64.b64encode(ulaw_encode(pcm)).decode("ascii")
            return [dumps({"event": "media", "streamSid": sid, "media": {"payload": payload}})]
        if isinstance(command, media.Mark):
            return [dumps({"event": "mark", "streamSid": sid, "mark": {"name": command.name}})]
        if isinstance(command, media.Clear):
            return [dumps({"event": "clear", "streamSid": sid})]
        if isinstance(command, media.Transfer):
            self._verbs.append(f"<Dial>{escape(command.number)}</Dial>")
        elif isinstance(command, media.SendDigits):
            digits = "".join(d for d in command.digits if d in _PLAYABLE_DIGITS)
            if digits:
                self._verbs.append(f"<Play digits={quoteattr(digits)}/>")
        elif isinstance(command, media.PlayUrl):
            self._verbs.append(f"<Play>{escape(command.url)}</Play>")
        elif isinstance(command, media.Hangup):
            self._verbs.append("<Hangup/>")
        return []

    def epilogue(self) -> str | None:
        if not self._verbs:
            return None
        return ('<?xml version="1.0" encoding="UTF-8"?><Response>'
                + "".join(self._verbs) + "</Response>")
