"""Opening hours: when a business answers, in the flow's own time zone.

    timezone: Europe/Paris
    open_hours:
      mon-fri: ["09:00-12:30", "14:00-18:00"]
      saturday: "10:00-12:00"
      holidays: ["2026-12-25", "01-01"]        # a date, or MM-DD for every year
      exceptions:
        "2026-12-24": ["09:00-12:00"]          # replaces that day's hours; [] = closed

A day not listed is closed. An exception beats a holiday, which beats the weekday. Ranges
never cross midnight (give "22:00-24:00" on one day and "00:00-02:00" on the next): a range
is a wall-clock reading, so on a DST change day "09:00-18:00" still means 09:00 to 18:00 on
the clocks of the office, whatever the UTC offset.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SHORT = {day[:3]: day for day in WEEKDAYS}
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")

Range = tuple[time, time | None]  # None as the end is midnight at the end of the day


def check_timezone(name: str) -> str:
    """`name` if it is an IANA time zone this machine knows, else a ValueError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone '{name}' (an IANA name such as "
                         "'Europe/Paris' or 'America/New_York')") from exc
    return name


def _day(key: str) -> str:
    word = key.strip().lower()
    day = _SHORT.get(word[:3]) if word in WEEKDAYS or word in _SHORT else None
    if day is None:
        raise ValueError(f"unknown day '{key}' (monday..sunday, mon..sun, or a range "
                         "such as 'mon-fri')")
    return day


def _days(key: str) -> list[str]:
    """`monday`, `mon`, or a range `mon-fri` (wrapping: `sat-mon`)."""
    if "-" not in key:
        return [_day(key)]
    first, last = (WEEKDAYS.index(_day(part)) for part in key.split("-", 1))
    span = (last - first) % 7
    return [WEEKDAYS[(first + i) % 7] for i in range(span + 1)]


def _parse_range(text: str) -> Range:
    match = _RANGE.match(text)
    if not match:
        raise ValueError(f"bad time range '{text}' (write 'HH:MM-HH:MM', e.g. '09:00-18:00')")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"bad time in '{text}' (hours 00-23, or 24:00 as an end)")
    start, end = time(h1, m1), (None if h2 == 24 else time(h2, m2))
    if end is not None and end <= start:
        raise ValueError(f"range '{text}' ends before it starts (a range cannot cross "
                         "midnight: split it across two days)")
    return start, end


def _ranges(value: Any) -> list[Range]:
    if value is None or value is False:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError("hours are a range 'HH:MM-HH:MM' or a list of them")
    return [_parse_range(item) for item in items]


def _date_key(value: Any) -> str:
    """A holiday or exception key, as 'YYYY-MM-DD' or 'MM-DD' (every year)."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if _MONTH_DAY.match(text):
        try:
            date(2000, int(text[:2]), int(text[3:]))  # a leap year: 02-29 is a day
        except ValueError as exc:
            raise ValueError(f"bad day '{text}' (MM-DD)") from exc
        return text
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise ValueError(f"bad date '{text}' (YYYY-MM-DD, or MM-DD for every year)") from exc


class OpenHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    week: dict[str, list[Range]] = Field(default_factory=dict)
    holidays: set[str] = Field(default_factory=set)
    exceptions: dict[str, list[Range]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any) -> Any:
        """The YAML block is flat (days beside `holidays` and `exceptions`); gather it."""
        if not isinstance(data, dict):
            raise ValueError("'open_hours' is a mapping of days to hours, with optional "
                             "'holidays' and 'exceptions'")
        if "week" in data and not set(data) - {"week", "holidays", "exceptions"}:
            return data  # already in model form (e.g. a copy)
        week: dict[str, list[Range]] = {}
        for key, value in data.items():
            if key in ("holidays", "exceptions"):
                continue
            for day in _days(str(key)):
                if day in week:
                    raise ValueError(f"'{day}' is given twice (check '{key}')")
                week[day] = _ranges(value)
        holidays = data.get("holidays") or []
        if not isinstance(holidays, list):
            raise ValueError("'holidays' is a list of dates")
        exceptions = data.get("exceptions") or {}
        if not isinstance(exceptions, dict):
            raise ValueError("'exceptions' maps a date to that day's hours ([] = closed)")
        return {"week": week, "holidays": {_date_key(d) for d in holidays},
                "exceptions": {_date_key(d): _ranges(v) for d, v in exceptions.items()}}

    def hours_on(self, day: date) -> list[Range]:
        """The ranges that apply on `day` (a local date)."""
        full, yearly = day.isoformat(), day.isoformat()[5:]
        for key in (full, yearly):
            if key in self.exceptions:
                return self.exceptions[key]
        if full in self.holidays or yearly in self.holidays:
            return []
        return self.week.get(WEEKDAYS[day.weekday()], [])

    def is_open(self, local: datetime) -> bool:
        """Whether `local` (a wall-clock time in the flow's zone) falls in an open range."""
        moment = local.time().replace(tzinfo=None)
        return any(start <= moment and (end is None or moment < end)
                   for start, end in self.hours_on(local.date()))
