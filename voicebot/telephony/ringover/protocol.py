"""Ringover's dialect of the media WebSocket (docs/protocol.md).

Inbound: binary frames of RTP or raw audio (auto-detected per call) and JSON control
messages (start, stop, dtmf), all through `InboundDecoder`. Outbound: the five
ringover-streamer events of `telephony/outbound.py`. There is no hang-up event and no
playout acknowledgement: closing the WebSocket is the hang-up, and what the caller heard
is modelled from the clock (call/speaker.py).
"""

from __future__ import annotations

from typing import ClassVar

from voicebot.audio.frame import AudioFrame
from voicebot.telephony import media
from voicebot.telephony.control import DtmfMessage, StartMessage, StopMessage
from voicebot.telephony.inbound import DtmfDigit, InboundDecoder
from voicebot.telephony.outbound import AudioDataType, encode_streamer


class RingoverProtocol:
    name: ClassVar[str] = "ringover"
    playout_ack: ClassVar[bool] = False
    token_in_start: ClassVar[bool] = False
    transfer_ends_stream: ClassVar[bool] = False

    def __init__(
        self,
        decoder: InboundDecoder | None = None,
        *,
        output_rate: int = 8000,
        audio_data_type: AudioDataType = "raw",
    ) -> None:
        self.decoder = decoder or InboundDecoder()
        self._output_rate = output_rate
        self.audio_data_type = audio_data_type

    @property
    def output_rate(self) -> int:
        return self._output_rate

    @property
    def counters(self) -> dict[str, int]:
        return self.decoder.counters

    @property
    def refused(self) -> str | None:
        return self.decoder.refused

    # ---- inbound --------------------------------------------------------------------

    def decode(self, message: media.WireMessage) -> list[media.MediaEvent]:
        if isinstance(message, bytes):
            return _media_events(self.decoder.feed_binary(message))
        control = self.decoder.feed_text(message)
        if isinstance(control, StartMessage):
            return [media.CallStart(control.call_id, control.from_number, control.to_number)]
        if isinstance(control, StopMessage):
            return [media.CallStop(control.reason)]
        if isinstance(control, DtmfMessage):
            return [media.KeyPress(digit) for digit in control.digits]
        return []

    def finish(self) -> list[media.MediaEvent]:
        return _media_events(self.decoder.finish())

    # ---- outbound -------------------------------------------------------------------

    def encode(self, command: media.MediaCommand) -> list[media.WireMessage]:
        # Hangup has no event here: closing the WebSocket is the hang-up. Mark has none
        # either: this wire acknowledges no playout, so marks are never asked for.
        return list(encode_streamer(command, self.audio_data_type))

    def epilogue(self) -> str | None:
        return None


def _media_events(items: list[AudioFrame | DtmfDigit]) -> list[media.MediaEvent]:
    return [
        item if isinstance(item, AudioFrame) else media.KeyPress(item.digit, item.time)
        for item in items
    ]
