"""Ringover's dialect of the media WebSocket (docs/protocol.md).

Inbound: binary frames of RTP or raw audio (auto-detected per call) and JSON control
messages (start, stop, dtmf), all through `InboundDecoder`. Outbound: the five
ringover-streamer events of `telephony/outbound.py`. There is no hang-up event and no
playout acknowledgement: closing the WebSocket is the hang-up, and what the caller heard
is modelled from the clock (call/speaker.py).
"""

from __future__ import annotations

from typing import ClassVar

from voicebot.telephony import media
from voicebot.telephony.control import DtmfMessage, StartMessage, StopMessage
from voicebot.telephony.inbound import InboundDecoder
from voicebot.telephony.outbound import AudioDataType
from voicebot.telephony.streamer import StreamerProtocol, media_events


class RingoverProtocol(StreamerProtocol):
    name: ClassVar[str] = "ringover"

    def __init__(self, decoder: InboundDecoder | None = None, *, output_rate: int = 8000,
                 audio_data_type: AudioDataType = "raw") -> None:
        super().__init__(decoder or InboundDecoder(), output_rate=output_rate,
                         audio_data_type=audio_data_type)

    def decode(self, message: media.WireMessage) -> list[media.MediaEvent]:
        if isinstance(message, bytes):
            return media_events(self.decoder.feed_binary(message))
        control = self.decoder.feed_text(message)
        if isinstance(control, StartMessage):
            return [media.CallStart(control.call_id, control.from_number, control.to_number)]
        if isinstance(control, StopMessage):
            return [media.CallStop(control.reason)]
        if isinstance(control, DtmfMessage):
            return [media.KeyPress(digit) for digit in control.digits]
        return []
