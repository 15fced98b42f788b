"""FreeSWITCH mod_audio_stream (docs/protocol.md, "FreeSWITCH mod_audio_stream").

`uuid_audio_stream <uuid> start <ws-url> mono <8k|16k> [metadata]` connects, sends the
metadata text first (if any), then the caller's audio as binary frames of raw 16-bit
little-endian PCM (20 ms each unless STREAM_BUFFER_SIZE says otherwise). The wire never
states the sample rate: it comes from the URL (`?sample_rate=16000`) or from a JSON
metadata object (`{"call_id": ..., "sample_rate": 16000}`), 8000 otherwise.

Back, the module understands one message: `{"type": "streamAudio", "data": {...}}`, whose
audio it writes to a file and announces as a `mod_audio_stream::play` event. Every other
text arrives at FreeSWITCH as a `mod_audio_stream::json` event, so clear, transfer,
digits, play and hang-up are the streamer's JSON events (`break`, `transfer`, `digits`,
`play`, and `hangup`), for the event-socket application that runs the call to act on.
Closing the WebSocket only ends the stream (`mod_audio_stream::disconnect`); that is why
a hang-up is also sent as a message before the close.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import ClassVar

from voicebot.telephony import media
from voicebot.telephony.control import DtmfMessage, StartMessage, StopMessage
from voicebot.telephony.inbound import InboundDecoder
from voicebot.telephony.outbound import AudioDataType
from voicebot.telephony.streamer import StreamerProtocol, media_events
from voicebot.telephony.wirejson import dumps


class AudioStreamProtocol(StreamerProtocol):
    name: ClassVar[str] = "audio-stream"

    def __init__(
        self,
        *,
        sample_rate: int = 8000,
        output_rate: int = 8000,
        audio_data_type: AudioDataType = "raw",
        max_frame_bytes: int = 16384,
    ) -> None:
        super().__init__(
            InboundDecoder(default_encoding="l16le", default_rate=sample_rate, framing="raw",
                           max_frame_bytes=max_frame_bytes),
            output_rate=output_rate, audio_data_type=audio_data_type,
        )
        self._first_text = True

    # ---- inbound --------------------------------------------------------------------

    def decode(self, message: media.WireMessage) -> list[media.MediaEvent]:
        if isinstance(message, bytes):
            self._first_text = False  # metadata, if any, comes before the first audio
            return media_events(self.decoder.feed_binary(message))
        if self._first_text:
            self._first_text = False
            return self._metadata(message)
        # Later text (`uuid_audio_stream <uuid> send_text ...`): a dtmf or stop message.
        control = self.decoder.feed_text(message)
        if isinstance(control, DtmfMessage):
            return [media.KeyPress(digit) for digit in control.digits]
        if isinstance(control, StopMessage):
            return [media.CallStop(control.reason)]
        return []

    def _metadata(self, text: str) -> list[media.MediaEvent]:
        """The start command's metadata: a JSON object describes the call (and may set
        the sample rate); any other text is kept as it is, for the flow to see."""
        try:
            obj = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            obj = None
        if not isinstance(obj, dict):
            return [media.CallStart(extra={"metadata": text[:1000]})]
        start = self.decoder.feed_text(dumps({**obj, "event": "start"}))
        if not isinstance(start, StartMessage):
            return []  # counted by the decoder (e.g. a sample rate it cannot use)
        return [media.CallStart(start.call_id, start.from_number, start.to_number,
                                extra=_strings(obj))]

    # ---- outbound -------------------------------------------------------------------

    def encode(self, command: media.MediaCommand) -> list[media.WireMessage]:
        if isinstance(command, media.Hangup):
            # Closing the socket would leave the caller on the line: ask the application.
            return [dumps({"event": "hangup", "reason": command.reason})]
        return super().encode(command)


def _strings(obj: Mapping[str, object]) -> dict[str, str]:
    return {str(k): str(v) for k, v in obj.items() if isinstance(v, str | int | float)}
