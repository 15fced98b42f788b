"""Which media protocol a WebSocket speaks: one name per dialect, chosen by path or config.

`MediaParams` carries what the server's configuration says about media (telephony knows
nothing of config.yaml); `make_protocol` builds one protocol instance for one call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from voicebot.telephony.audio_stream import AudioStreamProtocol
from voicebot.telephony.inbound import InboundDecoder
from voicebot.telephony.media import MediaProtocol
from voicebot.telephony.outbound import AudioDataType
from voicebot.telephony.rates import UnsupportedMedia
from voicebot.telephony.ringover import RingoverProtocol
from voicebot.telephony.twilio import TwilioProtocol


@dataclass(frozen=True, slots=True)
class MediaParams:
    default_encoding: str = "pcmu"
    default_sample_rate: int = 8000
    dtmf_payload_type: int = 101
    max_frame_bytes: int = 16384
    output_rate: int = 8000  # speak.sample_rate, where the protocol lets us choose
    audio_data_type: AudioDataType = "raw"


def _ringover(params: MediaParams, query: Mapping[str, str]) -> MediaProtocol:
    decoder = InboundDecoder(
        default_encoding=query.get("encoding", params.default_encoding),
        default_rate=query.get("sample_rate", params.default_sample_rate),  # type: ignore[arg-type]
        dtmf_payload_type=params.dtmf_payload_type,
        max_frame_bytes=params.max_frame_bytes,
    )
    return RingoverProtocol(decoder, output_rate=params.output_rate,
                            audio_data_type=params.audio_data_type)


def _twilio(params: MediaParams, query: Mapping[str, str]) -> MediaProtocol:
    return TwilioProtocol(max_frame_bytes=params.max_frame_bytes)


def _audio_stream(params: MediaParams, query: Mapping[str, str]) -> MediaProtocol:
    rate = query.get("sample_rate", "8000")
    if rate not in ("8000", "16000"):  # what `uuid_audio_stream ... 8k|16k` can send
        raise UnsupportedMedia(
            f"sample rate {ascii(rate)[:24]} not accepted; audio-stream sends 8000 or 16000")
    return AudioStreamProtocol(sample_rate=int(rate), output_rate=params.output_rate,
                               audio_data_type=params.audio_data_type,
                               max_frame_bytes=params.max_frame_bytes)


PROTOCOLS: dict[str, Callable[[MediaParams, Mapping[str, str]], MediaProtocol]] = {
    "ringover": _ringover,
    "twilio": _twilio,
    "audio-stream": _audio_stream,
}


def make_protocol(name: str, params: MediaParams, query: Mapping[str, str]) -> MediaProtocol:
    """One call's protocol; `query` is the WebSocket URL's query string. Raises
    UnsupportedMedia (with what is wrong) on an unusable query value, ValueError on an
    unknown name."""
    try:
        factory = PROTOCOLS[name]
    except KeyError:
        raise ValueError(
            f"unknown media protocol {name!r}; use one of {', '.join(PROTOCOLS)}"
        ) from None
    return factory(params, query)
