"""DTMF as RFC 4733 telephone-event RTP payloads.

    0                   1                   2                   3
    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
   |     event     |E|R| volume    |          duration             |

One key press is many packets sharing one RTP timestamp (the press's start): updates
while the key is held, then the final packet with E set, usually sent three times.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from voicebot.telephony.rtp import RtpPacket

_EVENT = struct.Struct("!BBH")
_CHARS = "0123456789*#ABCD"  # events 0..15; 16 is flash, not a key


class DtmfError(ValueError):
    """The payload is not a telephone-event."""


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int  # attenuation in dBm0, 0..63 (bigger is quieter)
    duration: int  # in RTP timestamp units since the event's start


def parse_telephone_event(payload: bytes) -> TelephoneEvent:
    # Several events may be stacked in one payload (RFC 4733 2.5.1.5); the first is the
    # current one, the others are redundant copies of earlier events.
    if len(payload) < 4:
        raise DtmfError(f"telephone-event payload must be 4 bytes, got {len(payload)}")
    event, flags, duration = _EVENT.unpack_from(payload)
    return TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


def build_telephone_event(
    event: int, end: bool = False, volume: int = 10, duration: int = 0
) -> bytes:
    if not 0 <= event <= 255 or not 0 <= volume <= 63 or not 0 <= duration <= 0xFFFF:
        raise DtmfError(f"telephone-event out of range: {event=} {volume=} {duration=}")
    return _EVENT.pack(event, (0x80 if end else 0) | volume, duration)


def event_to_char(event: int) -> str | None:
    """0-9, *, #, A-D for events 0..15; None for anything else (flash, tones)."""
    return _CHARS[event] if 0 <= event < len(_CHARS) else None


def char_to_event(char: str) -> int:
    index = _CHARS.find(char.upper()) if len(char) == 1 else -1
    if index < 0:
        raise DtmfError(f"not a DTMF key: {char!r}")
    return index


class DtmfDetector:
    """Turns a stream of telephone-event packets into key presses, each exactly once.

    Presses are told apart by RTP timestamp. A press is emitted on its first end packet;
    if all its end packets are lost, it is emitted when the next press starts, or by
    `flush()` at the end of the call.
    """

    def __init__(self) -> None:
        self._timestamp: int | None = None
        self._char: str | None = None
        self._emitted = True

    def feed(self, pkt: RtpPacket) -> list[str]:
        try:
            event = parse_telephone_event(pkt.payload)
        except DtmfError:
            return []
        out: list[str] = []
        if pkt.timestamp != self._timestamp:
            out += self.flush()
            self._timestamp = pkt.timestamp
            self._char = event_to_char(event.event)
            self._emitted = self._char is None
        if event.end and not self._emitted and self._char is not None:
            out.append(self._char)
            self._emitted = True
        return out

    def flush(self) -> list[str]:
        """Emit a press whose end packets never arrived."""
        if self._emitted or self._char is None:
            return []
        self._emitted = True
        return [self._char]
