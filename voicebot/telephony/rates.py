"""The media formats a call may use: which sample rates and encodings are accepted.

A media server sends a handful of rates (8 kHz for G.711, 16 kHz for wideband L16, the
CD and studio rates for static RTP payloads 10/11 and for browsers). Anything else is
refused, not served: an arbitrary rate makes the resampler's filter as long as the two
rates' least common multiple, which for `sample_rate=1` was a 2.3 GB filter built on the
event loop (issue 12). The filters for the accepted rates are built once, at start-up.
"""

from __future__ import annotations

from typing import Any

ACCEPTED_RATES: tuple[int, ...] = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)


class UnsupportedMedia(ValueError):
    """A sample rate or an encoding the server does not take: the call is refused
    (WebSocket close 1003, "unsupported data")."""


def check_rate(value: Any) -> int:
    """The rate as an int, if it is one of ACCEPTED_RATES; UnsupportedMedia otherwise."""
    rate: int | None = None
    if isinstance(value, bool):
        rate = None
    elif isinstance(value, int):
        rate = value
    elif isinstance(value, float) and value.is_integer():
        rate = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 7:
        rate = int(value.strip())
    if rate is None or rate not in ACCEPTED_RATES:
        shown = ascii(value)[:24]  # ASCII: it goes into a WebSocket close reason
        raise UnsupportedMedia(
            f"sample rate {shown} not accepted; use one of "
            + ", ".join(str(r) for r in ACCEPTED_RATES)
        )
    return rate
