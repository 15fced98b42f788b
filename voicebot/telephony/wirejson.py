"""JSON text frames for the protocols whose every message is JSON (Twilio, audio-stream):
parsed once, with the same limits and drop reasons as Ringover's control messages."""

from __future__ import annotations

import json
from typing import Any

from voicebot.telephony.control import load_object

__all__ = ["DTMF_KEYS", "dumps", "field", "load_object", "text_or_none"]

DTMF_KEYS = frozenset("0123456789*#ABCD")


def field(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """A nested object (`{"media": {...}}`); a missing or non-object field is {}."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def text_or_none(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))
