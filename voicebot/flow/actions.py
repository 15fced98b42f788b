"""Actions the pure flow engine returns. The call session executes them on the wire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BargeIn = Literal["true", "false", "dtmf"]


@dataclass(frozen=True, slots=True)
class Say:
    text: str
    barge_in: BargeIn = "true"


@dataclass(frozen=True, slots=True)
class Play:
    url: str
    barge_in: BargeIn = "true"


@dataclass(frozen=True, slots=True)
class Transfer:
    number: str  # a number, or a target name that the call session resolves from config
    summary: str | None = None  # what the bot learned, for the call record


@dataclass(frozen=True, slots=True)
class SendDigits:
    digits: str


@dataclass(frozen=True, slots=True)
class Hangup:
    reason: str = "flow"


@dataclass(frozen=True, slots=True)
class Break:
    """Stop whatever the bot is saying now."""


Action = Say | Play | Transfer | SendDigits | Hangup | Break

# After one of these the call leaves the bot: the session stops listening.
TERMINAL = (Transfer, Hangup)
