"""Ringover's REST API (v2) answers as typed models: calls, contacts, users, presences.

They keep unknown fields (Ringover adds fields, and a new field must not break a call),
and read ids and phone numbers, which Ringover sends as JSON numbers, as text.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _text(value: Any) -> Any:
    # Ringover sends phone numbers and call ids as JSON numbers; they are identifiers.
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


Text = Annotated[str | None, BeforeValidator(_text)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class NumberFormat(_Model):
    e164: str | None = None
    international: str | None = None
    national: str | None = None
    country_code: str | None = None


class PhoneNumber(_Model):
    number: Text = None
    type: str | None = None
    label: str | None = None
    format: NumberFormat | None = None


class User(_Model):
    user_id: Text = None
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    numbers: list[PhoneNumber] = Field(default_factory=list)


class Contact(_Model):
    contact_id: Text = None
    firstname: str | None = None
    lastname: str | None = None
    company: str | None = None
    concat_name: str | None = None
    numbers: list[PhoneNumber] = Field(default_factory=list)
    # The contact embedded in a call carries a single number instead of a list.
    number: Text = None

    @property
    def display_name(self) -> str:
        if self.concat_name and self.concat_name.strip():
            return self.concat_name.strip()
        return " ".join(p for p in (self.firstname, self.lastname) if p).strip()

    def matches(self, number: str) -> bool:
        want = digits(number)
        if not want:
            return False
        candidates = [self.number] + [n.number for n in self.numbers] + [
            n.format.e164 for n in self.numbers if n.format is not None
        ]
        return any(same_number(want, digits(c or "")) for c in candidates)


class Call(_Model):
    cdr_id: Text = None
    call_id: Text = None
    type: str | None = None
    direction: str | None = None
    last_state: str | None = None
    start_time: str | None = None
    answered_time: str | None = None
    end_time: str | None = None
    incall_duration: float | None = None
    total_duration: float | None = None
    from_number: Text = None
    to_number: Text = None
    note: str | None = None
    record: str | None = None
    voicemail: str | None = None
    user: User | None = None
    contact: Contact | None = None


class CallList(_Model):
    call_list_count: int = 0
    call_list: list[Call] = Field(default_factory=list)
    total_call_count: int | None = None


class ContactList(_Model):
    contact_list_count: int = 0
    total_contact_count: int | None = None
    contact_list: list[Contact] = Field(default_factory=list)


class Presence(_Model):
    user_id: Text = None
    team_id: Text = None
    in_call: int | bool | None = None
    connected_devices: int | None = None
    is_snooze: bool | None = None
    is_planning: bool | None = None
    snooze_type: str | None = None
    status: str | None = None


def digits(number: str) -> str:
    return re.sub(r"\D", "", number or "")


def same_number(a: str, b: str) -> bool:
    """Same line, whatever the notation: 33612345678, +33 6 12 34 56 78, 0612345678."""
    if not a or not b:
        return False
    if a == b:
        return True
    # National forms drop the country code and add a trunk 0; the last 9 digits are the
    # subscriber number in most numbering plans Ringover serves (FR, ES, UK mobile...).
    return len(a) >= 9 and len(b) >= 9 and a[-9:] == b[-9:]
