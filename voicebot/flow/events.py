"""Events fed to the pure flow engine. The call session produces them; so do chat and tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voicebot.types import Expectation, NLUFunction, NLUResult


@dataclass(frozen=True, slots=True)
class CallStart:
    call: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UserInput:
    """What the caller said, as understood by the NLU plugin."""

    nlu: NLUResult


@dataclass(frozen=True, slots=True)
class Dtmf:
    digits: str  # one or more of 0-9 * # A-D


@dataclass(frozen=True, slots=True)
class NoInput:
    """The caller stayed silent for the state's no-input timeout."""


@dataclass(frozen=True, slots=True)
class TurnFailed:
    """A plugin failed this turn; the flow plays its error prompt and carries on."""

    kind: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class Webhook:
    """A Ringover webhook about this call (e.g. name="hangup")."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallEnd:
    reason: str = "hangup"


@dataclass(frozen=True, slots=True)
class HttpResult:
    """The answer to the flow's HttpCall: `data` is the JSON body when `ok`; otherwise
    `error` says what went wrong (a time-out, a refused address, HTTP 404...)."""

    ok: bool
    status: int | None = None
    data: Any = None
    error: str | None = None


Event = CallStart | UserInput | Dtmf | NoInput | TurnFailed | Webhook | CallEnd | HttpResult


def understood(nlu: NLUFunction, text: str, expectation: Expectation) -> UserInput | TurnFailed:
    """What `text` means to `nlu`, or a failed turn when the NLU raises: what the call
    session does with a broken NLU, so chat and conversation tests do it too."""
    try:
        return UserInput(nlu(text, expectation))
    except Exception as exc:  # any plugin fault costs one turn, not the run
        return TurnFailed("nlu", repr(exc))
