"""What Ringover's streamer and FreeSWITCH mod_audio_stream have in common: audio comes
through `InboundDecoder` (its counters, its refusals, its tail at the end) and goes back
as the streamer's `streamAudio` and JSON events (`outbound.py`). Neither acknowledges
playout, and neither needs the stream to end for a transfer."""

from __future__ import annotations

from typing import ClassVar

from voicebot.audio.frame import AudioFrame
from voicebot.telephony import media
from voicebot.telephony.inbound import DtmfDigit, InboundDecoder
from voicebot.telephony.outbound import AudioDataType, encode_streamer


class StreamerProtocol:
    """The shared half; a subclass names itself and decodes its own messages."""

    name: ClassVar[str]
    playout_ack: ClassVar[bool] = False
    token_in_start: ClassVar[bool] = False
    transfer_ends_stream: ClassVar[bool] = False

    def __init__(self, decoder: InboundDecoder, *, output_rate: int = 8000,
                 audio_data_type: AudioDataType = "raw") -> None:
        self.decoder = decoder
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

    def finish(self) -> list[media.MediaEvent]:
        return media_events(self.decoder.finish())

    def encode(self, command: media.MediaCommand) -> list[media.WireMessage]:
        # Hangup has no streamer event (a subclass may add one); Mark has none either:
        # no playout acknowledgement on this wire, so marks are never asked for.
        return list(encode_streamer(command, self.audio_data_type))

    def epilogue(self) -> str | None:
        return None


def media_events(items: list[AudioFrame | DtmfDigit]) -> list[media.MediaEvent]:
    """The decoder's output as seam events: frames as they are, RFC 4733 keys as presses."""
    return [
        item if isinstance(item, AudioFrame) else media.KeyPress(item.digit, item.time)
        for item in items
    ]
