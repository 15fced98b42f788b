"""The clock the flow engine reads, injected so a conversation test can fix the time.

The engine stays pure: it reads "now" once per step from the clock it was given and hands
the moment to expressions (`now()`, `hour()`, `is_open()`...), which never read the wall
clock themselves. `voicebot serve` and `voicebot chat` give the system clock; conversation
tests give a `FixedClock` set from `now: 2026-12-24T18:30` (a wall-clock time in the flow's
zone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from voicebot.flow.open_hours import WEEKDAYS, OpenHours

Clock = Callable[[], datetime]  # returns an aware datetime


def system_clock() -> datetime:
    return datetime.now(UTC)


class FixedClock:
    """A clock that reads what it was set to, until set again."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def parse_moment(value: Any, zone: str) -> datetime:
    """`2026-12-24T18:30` (wall clock in `zone`) or an ISO time with an offset, as an
    aware datetime; a ValueError says what is wrong."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise ValueError(f"bad time '{value}' (write e.g. 2026-12-24T18:30)") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment


@dataclass(frozen=True, slots=True)
class Moment:
    """One step's "now", in the flow's zone, with the opening hours to judge it by."""

    local: datetime
    open_hours: OpenHours | None

    def is_open(self) -> bool:
        return self.open_hours is not None and self.open_hours.is_open(self.local)


# The expression functions of time, each reading the step's Moment (never the wall clock).
TIME_FUNCTIONS: dict[str, Callable[[Moment], Any]] = {
    "now": lambda m: m.local.replace(tzinfo=None).isoformat(timespec="minutes"),
    "date": lambda m: m.local.date().isoformat(),
    "weekday": lambda m: WEEKDAYS[m.local.weekday()],
    "hour": lambda m: m.local.hour,
    "minute": lambda m: m.local.minute,
    "is_open": Moment.is_open,
}
