"""The five events voicebot sends to Ringover's media server, exactly as the
ringover-streamer README spells them. Nothing else in voicebot writes wire JSON."""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

AudioDataType = Literal["raw", "mp3", "wav", "ogg"]
OutputRate = Literal[8000, 16000, 24000]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


class PlayEvent(_Event):
    event: Literal["play"] = "play"
    file: str


class StreamAudioData(_Event):
    audioDataType: AudioDataType = "raw"
    sampleRate: OutputRate = 8000
    audioData: str

    @field_validator("audioData")
    @classmethod
    def _is_base64(cls, value: str) -> str:
        base64.b64decode(value, validate=True)
        return value


class StreamAudioEvent(_Event):
    type: Literal["streamAudio"] = "streamAudio"
    data: StreamAudioData

    @classmethod
    def from_bytes(
        cls, audio: bytes, sample_rate: int, audio_data_type: AudioDataType = "raw"
    ) -> StreamAudioEvent:
        encoded = base64.b64encode(audio).decode("ascii")
        return cls(
            data=StreamAudioData(
                audioDataType=audio_data_type, sampleRate=sample_rate, audioData=encoded
            )
        )


class BreakEvent(_Event):
    event: Literal["break"] = "break"


class DigitsEvent(_Event):
    event: Literal["digits"] = "digits"
    # The README shows a JSON number (`"data": 123`). A number cannot carry '*', '#'
    # or a leading zero, so those are sent as a string; see docs/protocol.md.
    data: int | str

    @classmethod
    def for_digits(cls, digits: str) -> DigitsEvent:
        if digits.isdigit() and not (len(digits) > 1 and digits.startswith("0")):
            return cls(data=int(digits))
        return cls(data=digits)


class TransferEvent(_Event):
    event: Literal["transfer"] = "transfer"
    data: str


OutboundEvent = PlayEvent | StreamAudioEvent | BreakEvent | DigitsEvent | TransferEvent
