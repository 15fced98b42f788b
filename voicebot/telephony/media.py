"""The media seam: what a call hears and says, apart from any media server's wire.

A media server (Ringover's streamer, Twilio Media Streams, FreeSWITCH mod_audio_stream)
opens a WebSocket and speaks its own dialect. One `MediaProtocol` per dialect turns that
dialect into the events below and the commands below into it; `call/` sees nothing else.
Each protocol is one module under `voicebot/telephony/<protocol>/`.

Inbound (`decode`): 20 ms `AudioFrame`s, `KeyPress`, `CallStart`, `CallStop`, and, where
the media server reports it, `PlayedOut` (the audio before a `Mark` has been played, so
barge-in knows what the caller heard).

Outbound (`encode`): `Audio`, `Clear`, `Transfer`, `SendDigits`, `PlayUrl`, `Hangup`,
`Mark`. A protocol that cannot carry a command on its WebSocket says so in `ending` /
`epilogue` (see docs/protocol.md, "Hang-up and transfer per protocol").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import numpy as np

from voicebot.audio.frame import AudioFrame

# ---- inbound: what the media server tells us -----------------------------------------


@dataclass(frozen=True, slots=True)
class KeyPress:
    digit: str  # one of 0-9 * # A-D
    time: float | None = None  # media seconds since the call's first frame, when known


@dataclass(frozen=True, slots=True)
class CallStart:
    """The media server named the call (all fields optional: a server may say nothing)."""

    call_id: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    # Whatever else the server passed along (Twilio custom parameters, a metadata text).
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallStop:
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PlayedOut:
    """Playout acknowledgement: the audio sent before `Mark(name)` has been played."""

    name: str


MediaEvent = AudioFrame | KeyPress | CallStart | CallStop | PlayedOut

# ---- outbound: what the call asks the media server to do ----------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Audio:
    pcm: np.ndarray  # int16 mono at `rate`
    rate: int


@dataclass(frozen=True, slots=True)
class Clear:
    """Stop playing and drop the audio queued on the far side (barge-in)."""


@dataclass(frozen=True, slots=True)
class Transfer:
    number: str


@dataclass(frozen=True, slots=True)
class SendDigits:
    digits: str


@dataclass(frozen=True, slots=True)
class PlayUrl:
    url: str


@dataclass(frozen=True, slots=True)
class Hangup:
    reason: str = "hangup"


@dataclass(frozen=True, slots=True)
class Mark:
    """Ask for a `PlayedOut(name)` once the audio sent before this has been played."""

    name: str


MediaCommand = Audio | Clear | Transfer | SendDigits | PlayUrl | Hangup | Mark
WireMessage = str | bytes


class MediaProtocol(Protocol):
    """One media server's dialect, for one call (instances keep per-call state)."""

    name: ClassVar[str]
    # True when the server answers `Mark` with `PlayedOut`; otherwise marks are not sent.
    playout_ack: ClassVar[bool]
    # True when a transfer only happens once the stream ends (the WebSocket is closed).
    transfer_ends_stream: ClassVar[bool]
    # True when the platform cannot put the media token in the URL or a header, so it
    # comes as CallStart.extra["token"] (Twilio: a <Parameter> of the <Stream>).
    token_in_start: ClassVar[bool]

    @property
    def output_rate(self) -> int:
        """The sample rate `Audio` must have for this server."""
        ...

    @property
    def counters(self) -> dict[str, int]:
        """Decoder counters; drops are `frames_dropped_<reason>`."""
        ...

    @property
    def refused(self) -> str | None:
        """Why this call's media cannot be decoded (the call is then ended, close 1003)."""
        ...

    def decode(self, message: WireMessage) -> list[MediaEvent]:
        """One WebSocket message in; never raises on bad input (it is counted)."""
        ...

    def finish(self) -> list[MediaEvent]:
        """The socket closed: whatever the decoder still holds."""
        ...

    def encode(self, command: MediaCommand) -> list[WireMessage]:
        """The messages that carry `command`; [] where the wire has none for it."""
        ...

    def epilogue(self) -> str | None:
        """What the platform should do once the stream has ended (Twilio: TwiML), or None."""
        ...
