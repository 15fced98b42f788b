"""JSON control messages on the media WebSocket: start, stop, dtmf.

Media servers spell the same things differently (`call_id`, `callId`; a flat start
message or one nested under `"start"`; an encoding name or a `mediaFormat` object), so
parsing is lenient about spelling and strict about meaning: a message whose fields are
present but wrong (an unknown codec, a sample rate of 7) is refused with a reason.
The accepted spellings are listed in docs/protocol.md.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from voicebot.telephony.rates import UnsupportedMedia, check_rate

MAX_TEXT_CHARS = 65536

# Canonical encodings: "l16" means the framing's native byte order (big-endian in RTP as
# RFC 3551 says, little-endian for raw frames as media servers send them); "l16le" and
# "l16be" force one.
ENCODINGS = ("pcmu", "pcma", "l16", "l16le", "l16be")
_ENCODING_ALIASES = {
    "pcmu": "pcmu", "ulaw": "pcmu", "mulaw": "pcmu", "mu-law": "pcmu", "g711u": "pcmu",
    "g711_ulaw": "pcmu", "g711ulaw": "pcmu", "audio/x-mulaw": "pcmu", "audio/pcmu": "pcmu",
    "pcma": "pcma", "alaw": "pcma", "a-law": "pcma", "g711a": "pcma", "g711_alaw": "pcma",
    "g711alaw": "pcma", "audio/x-alaw": "pcma", "audio/pcma": "pcma",
    "l16": "l16", "linear16": "l16", "slin": "l16", "pcm16": "l16", "pcm": "l16",
    "audio/l16": "l16", "l16le": "l16le", "s16le": "l16le", "pcm_s16le": "l16le",
    "l16be": "l16be", "s16be": "l16be", "pcm_s16be": "l16be",
}
_DTMF_KEYS = set("0123456789*#ABCD")
_RATE_KEYS = ("sample_rate", "sampleRate", "rate")
_ENCODING_KEYS = ("encoding", "media_format", "mediaFormat", "codec")
# A start message that names a format we cannot decode ends the call (close 1003): the
# audio that follows would be noise to every stage after this one.
_MEDIA_KEYS = frozenset(_RATE_KEYS + _ENCODING_KEYS)


MAX_ID_CHARS = 128


def clean_id(value: str) -> str:
    """An identifier from the wire, made safe to log, store and show: at most
    MAX_ID_CHARS, unprintable characters written as escapes. A call id of "\\ud800"
    (valid JSON, no UTF-8) was never recorded and made /debug/tasks answer 500."""
    text = value[:MAX_ID_CHARS]
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


class ControlError(ValueError):
    """A text frame that is not a usable control message. `reason` names the counter."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def normalise_encoding(name: str) -> str:
    key = name.strip().lower()
    if key.startswith("slin") and key[4:].isdigit():  # Asterisk's slin16, slin24 ...
        key = "slin"
    try:
        return _ENCODING_ALIASES[key]
    except KeyError:
        raise UnsupportedMedia(
            f"unsupported encoding {name[:24]!a}; use one of {', '.join(ENCODINGS)}"
        ) from None


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="allow")


class StartMessage(_Message):
    event: Literal["start"] = "start"
    call_id: str | None = Field(
        None, validation_alias=AliasChoices("call_id", "callId", "call_uuid", "callUuid", "uuid")
    )
    from_number: str | None = Field(
        None, validation_alias=AliasChoices("from_number", "from", "fromNumber", "caller")
    )
    to_number: str | None = Field(
        None, validation_alias=AliasChoices("to_number", "to", "toNumber", "callee")
    )
    encoding: str | None = Field(
        None, validation_alias=AliasChoices(*_ENCODING_KEYS)
    )
    sample_rate: int | None = Field(
        None, validation_alias=AliasChoices(*_RATE_KEYS)
    )
    # The RTP payload type that carries audio in `encoding`, when it is a dynamic one.
    payload_type: int | None = Field(
        None, ge=96, le=127, validation_alias=AliasChoices("payload_type", "payloadType")
    )
    dtmf_payload_type: int | None = Field(
        None, ge=96, le=127, validation_alias=AliasChoices("dtmf_payload_type", "dtmfPayloadType")
    )

    @field_validator("call_id", "from_number", "to_number", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        value = str(value) if isinstance(value, int | float) else value
        return clean_id(value) if isinstance(value, str) else value

    @field_validator("encoding", mode="before")
    @classmethod
    def _encoding(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise UnsupportedMedia(f"encoding must be a name, got {type(value).__name__}")
        return normalise_encoding(value)

    @field_validator("sample_rate", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> Any:
        return None if value is None else check_rate(value)


class StopMessage(_Message):
    event: Literal["stop"] = "stop"
    reason: str | None = None


class DtmfMessage(_Message):
    event: Literal["dtmf"] = "dtmf"
    digits: str = Field(validation_alias=AliasChoices("digits", "digit"))

    @field_validator("digits", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            value = str(value)
        if not isinstance(value, str) or not value:
            raise ValueError("digits must be a non-empty string of 0-9 * # A-D")
        value = value.upper()
        if not set(value) <= _DTMF_KEYS:
            raise ValueError(f"not DTMF keys: {value!r}")
        return value


ControlMessage = StartMessage | StopMessage | DtmfMessage
_KINDS: dict[str, type[StartMessage] | type[StopMessage] | type[DtmfMessage]] = {
    "start": StartMessage, "stop": StopMessage, "dtmf": DtmfMessage,
}


def _flatten_start(obj: dict[str, Any]) -> dict[str, Any]:
    fields = dict(obj)
    nested = fields.pop("start", None)
    if isinstance(nested, dict):
        fields.update(nested)
    media = next((fields[k] for k in ("media_format", "mediaFormat") if k in fields), None)
    if isinstance(media, dict):  # {"mediaFormat": {"encoding": ..., "sampleRate": ...}}
        fields.pop("media_format", None)
        fields.pop("mediaFormat", None)
        for key in ("encoding", "sample_rate", "sampleRate", "payload_type", "payloadType"):
            if key in media and key not in fields:
                fields[key] = media[key]
    return fields


def load_object(text: str) -> dict[str, Any]:
    """One JSON object from a text frame, or ControlError with a counter-friendly reason
    (every protocol's JSON goes through here: Ringover's control, Twilio, audio-stream)."""
    if len(text) > MAX_TEXT_CHARS:
        raise ControlError("oversized", f"{len(text)} characters, limit {MAX_TEXT_CHARS}")
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ControlError("bad_json", str(exc)) from None
    if not isinstance(obj, dict):
        raise ControlError("bad_json", f"expected a JSON object, got {type(obj).__name__}")
    return obj


def parse_control(text: str) -> ControlMessage:
    """Parse one text frame; raise ControlError with a counter-friendly reason."""
    obj = load_object(text)
    kind = obj.get("event", obj.get("type"))
    model = _KINDS.get(kind.lower()) if isinstance(kind, str) else None
    if model is None:
        raise ControlError("unknown_event", f"event {kind!r}")
    fields = {k: v for k, v in obj.items() if k not in ("event", "type")}
    if model is StartMessage:
        fields = _flatten_start(fields)
    elif model is DtmfMessage and isinstance(fields.get("dtmf"), dict):
        fields.update(fields.pop("dtmf"))  # {"event": "dtmf", "dtmf": {"digit": "5"}}
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        errors = exc.errors()
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or kind}: {err['msg']}" for err in errors
        )
        media = any(err["loc"] and err["loc"][0] in _MEDIA_KEYS for err in errors)
        reason = "unsupported_media" if model is StartMessage and media else "invalid_control"
        raise ControlError(reason, f"{kind}: {problems}") from None
