"""RTP packets (RFC 3550 section 5.1): parse and build, with CSRCs, extension and padding.

    0                   1                   2                   3
    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
   |                           timestamp                           |
   |           synchronization source (SSRC) identifier            |
   |            contributing source (CSRC) identifiers (CC x 32)   |
   |  extension profile (16)       |  extension length in words    |  (if X)
   |  extension data ...                                           |
   |  payload ...                  | padding ... | padding count   |  (if P)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEADER = struct.Struct("!BBHII")
HEADER_SIZE = HEADER.size  # 12
_EXT_HEADER = struct.Struct("!HH")


class RtpError(ValueError):
    """The bytes are not a valid RTP packet; the message says why."""


@dataclass(slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    padding: bool = False
    csrcs: tuple[int, ...] = ()
    # (profile-defined 16-bit id, data whose length is a multiple of 4 bytes)
    extension: tuple[int, bytes] | None = None
    version: int = 2

    def to_bytes(self, padding_length: int = 0) -> bytes:
        """Serialise. With `padding` set, `padding_length` (1..255) bytes are appended,
        the last one holding the count, as RFC 3550 prescribes (4 when not given)."""
        if len(self.csrcs) > 15:
            raise RtpError(f"at most 15 CSRCs fit the header, got {len(self.csrcs)}")
        if not 0 <= self.payload_type <= 127:
            raise RtpError(f"payload type {self.payload_type} is outside 0..127")
        first = (
            (self.version & 0x03) << 6
            | (0x20 if self.padding else 0)
            | (0x10 if self.extension is not None else 0)
            | len(self.csrcs)
        )
        second = (0x80 if self.marker else 0) | self.payload_type
        parts = [
            HEADER.pack(
                first,
                second,
                self.sequence & 0xFFFF,
                self.timestamp & 0xFFFFFFFF,
                self.ssrc & 0xFFFFFFFF,
            )
        ]
        if self.csrcs:
            parts.append(struct.pack(f"!{len(self.csrcs)}I", *self.csrcs))
        if self.extension is not None:
            profile, data = self.extension
            if len(data) % 4:
                raise RtpError(f"extension data must be whole 32-bit words, got {len(data)} bytes")
            parts.append(_EXT_HEADER.pack(profile, len(data) // 4))
            parts.append(data)
        parts.append(self.payload)
        if self.padding:
            count = padding_length or 4
            if not 1 <= count <= 255:
                raise RtpError(f"padding length must be 1..255, got {count}")
            parts.append(bytes(count - 1) + bytes([count]))
        return b"".join(parts)


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse one RTP packet; raise RtpError naming the first thing that is wrong."""
    size = len(data)
    if size < HEADER_SIZE:
        raise RtpError(f"too short for an RTP header: {size} bytes, need {HEADER_SIZE}")
    first, second, sequence, timestamp, ssrc = HEADER.unpack_from(data)
    version = first >> 6
    if version != 2:
        raise RtpError(f"bad RTP version {version}, expected 2")
    offset = HEADER_SIZE
    csrc_count = first & 0x0F
    csrcs: tuple[int, ...] = ()
    if csrc_count:
        end = offset + 4 * csrc_count
        if end > size:
            raise RtpError(f"CSRC list of {csrc_count} overruns the {size}-byte packet")
        csrcs = struct.unpack_from(f"!{csrc_count}I", data, offset)
        offset = end
    extension = None
    if first & 0x10:
        if offset + 4 > size:
            raise RtpError("extension header overruns the packet")
        profile, words = _EXT_HEADER.unpack_from(data, offset)
        end = offset + 4 + 4 * words
        if end > size:
            raise RtpError(f"extension of {words} words overruns the {size}-byte packet")
        extension = (profile, bytes(data[offset + 4 : end]))
        offset = end
    end = size
    padding = bool(first & 0x20)
    if padding:
        count = data[-1]
        if count == 0:
            raise RtpError("padding bit set but padding count is 0")
        if count > size - offset:
            raise RtpError(
                f"padding of {count} bytes is longer than the {size - offset} after the header"
            )
        end = size - count
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(data[offset:end]),
        marker=bool(second & 0x80),
        padding=padding,
        csrcs=csrcs,
        extension=extension,
        version=version,
    )
