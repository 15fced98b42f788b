"""The five events voicebot sends to Ringover's media server, exactly as the
ringover-streamer README spells them (its `streamAudio` is mod_audio_stream's, which the
audio-stream protocol sends too), and `encode_streamer`, which turns the media seam's
commands into them."""

from __future__ import annotations

import base64
import io
import wave
from typing import Literal, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

from voicebot.telephony import media

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
        cls, audio: bytes, sample_rate: OutputRate, audio_data_type: AudioDataType = "raw"
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


def wav_bytes(pcm: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())
    return buf.getvalue()


def encode_streamer(command: media.MediaCommand, audio_data_type: AudioDataType) -> list[str]:
    """The streamer event for a command; [] for those it has no event for (hangup, mark)."""
    if isinstance(command, media.Audio):
        if audio_data_type == "wav":
            payload = wav_bytes(command.pcm, command.rate)
        else:  # raw = PCM16 little-endian
            payload = command.pcm.astype("<i2").tobytes()
        rate = cast(OutputRate, command.rate)
        return [StreamAudioEvent.from_bytes(payload, rate, audio_data_type).to_json()]
    if isinstance(command, media.Clear):
        return [BreakEvent().to_json()]
    if isinstance(command, media.Transfer):
        return [TransferEvent(data=command.number).to_json()]
    if isinstance(command, media.SendDigits):
        return [DigitsEvent.for_digits(command.digits).to_json()]
    if isinstance(command, media.PlayUrl):
        return [PlayEvent(file=command.url).to_json()]
    return []
