"""Actions the pure flow engine returns. The call session executes them on the wire."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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


@dataclass(frozen=True, slots=True)
class HttpCall:
    """Make this request and answer with an HttpResult event. `{{ env.NAME }}` in the url
    and headers is left for the executor to fill from the environment."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    timeout: float = 5.0
    retries: int = 0
    filler: str | None = None  # said if the answer takes longer than filler_after seconds
    filler_after: float = 1.5


Action = Say | Play | Transfer | SendDigits | Hangup | Break | HttpCall

# After one of these the call leaves the bot: the session stops listening.
TERMINAL = (Transfer, Hangup)
