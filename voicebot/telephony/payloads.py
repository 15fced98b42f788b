"""Audio payload formats of the media WebSocket: RFC 3551's static RTP payload types and a
decoder to 16-bit PCM for each encoding we accept (G.711 µ-law and A-law, L16 in either
byte order, stereo downmixed).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from voicebot.telephony.g711 import alaw_decode, ulaw_decode

Decoder = Callable[[bytes], np.ndarray]
STATIC_PAYLOADS = {0: ("pcmu", 8000, 1), 8: ("pcma", 8000, 1), 10: ("l16be", 44100, 2),
                   11: ("l16be", 44100, 1)}  # RFC 3551 table 4


def _l16(byteorder: str, channels: int) -> Decoder:
    dtype = np.dtype(">i2" if byteorder == "be" else "<i2")

    def decode(data: bytes) -> np.ndarray:
        pcm = np.frombuffer(data, dtype=dtype)
        if channels > 1:  # downmix: the caller is one voice
            pcm = pcm[: pcm.size - pcm.size % channels].reshape(-1, channels).mean(axis=1)
        return pcm.astype(np.int16)

    return decode


def decoder(encoding: str, rtp: bool, channels: int = 1) -> Decoder:
    if encoding == "pcmu":
        return ulaw_decode
    if encoding == "pcma":
        return alaw_decode
    if encoding == "l16":
        encoding = "l16be" if rtp else "l16le"
    return _l16(encoding[-2:], channels)
