"""What waits in a call's brain queue: one frozen item per kind of turn event, so the
brain matches on types (and mypy checks that it handles each), not on string tags."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voicebot.audio.endpointer import SpeechEnded
from voicebot.call.joining import OpenTurn
from voicebot.flow.events import HttpResult
from voicebot.types import Transcript


@dataclass(frozen=True, slots=True)
class HeardUtterance:
    utterance: SpeechEnded
    stt: asyncio.Future[Transcript]  # running (or speculated) transcription
    speech_end: float  # clock time of the caller's last sample: replies are timed from it
    open_turn: OpenTurn  # void if the caller's continuation joined it (joining.py)


@dataclass(frozen=True, slots=True)
class PressedKey:
    digit: str


@dataclass(frozen=True, slots=True)
class NoInputElapsed:
    """The state's no-input timeout passed in silence."""


@dataclass(frozen=True, slots=True)
class WebhookArrived:
    name: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class HttpAnswered:
    """The flow's http step came back (voicebot/call/http_step.py)."""

    result: HttpResult


BrainItem = HeardUtterance | PressedKey | NoInputElapsed | WebhookArrived | HttpAnswered
