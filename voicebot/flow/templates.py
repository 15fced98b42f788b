"""`{{ path }}` templates in prompts and transfer numbers, without a template engine.

A placeholder is a dotted name under `slots`, `vars` or `call`, optionally followed by
filters: `{{ slots.account | spell }}` reads digits one by one ("1 2 3"), which is what a
caller wants to hear back. Anything else is a validation error, never code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voicebot.flow.expressions import ROOTS, resolve

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")

FILTERS: dict[str, Callable[[str], str]] = {
    "spell": lambda text: " ".join(ch for ch in text if not ch.isspace()),
    "upper": str.upper,
    "lower": str.lower,
}


class TemplateError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Placeholder:
    path: tuple[str, ...]
    filters: tuple[str, ...]
    offset: int


def placeholders(text: str) -> list[Placeholder]:
    """Parse every placeholder of `text`; raises TemplateError on the first bad one."""
    found: list[Placeholder] = []
    for match in _PLACEHOLDER.finditer(text):
        parts = [part.strip() for part in match.group(1).split("|")]
        name, filters = parts[0], tuple(parts[1:])
        offset = match.start()
        if not _NAME.match(name) or name.split(".")[0] not in ROOTS:
            raise TemplateError(
                f"bad placeholder '{{{{{match.group(1)}}}}}': use slots.NAME, vars.NAME "
                "or call.NAME",
                offset,
            )
        for item in filters:
            if item not in FILTERS:
                raise TemplateError(
                    f"unknown filter '{item}' (known: {', '.join(sorted(FILTERS))})", offset
                )
        found.append(Placeholder(tuple(name.split(".")), filters, offset))
    stray = _PLACEHOLDER.sub("", text)
    if "{{" in stray or "}}" in stray:
        raise TemplateError("unbalanced '{{' or '}}'", stray.find("{{") if "{{" in stray else 0)
    return found


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render(text: str, scope: dict[str, Any]) -> str:
    """Fill placeholders from `scope` ({"slots": ..., "vars": ..., "call": ...}).

    Unknown names render empty: the validator has already refused undefined slots and
    variables, and call data varies by provider, so a missing caller id is not an error.
    """

    def fill(match: re.Match[str]) -> str:
        parts = [part.strip() for part in match.group(1).split("|")]
        value = to_text(resolve(scope, tuple(parts[0].split("."))))
        for item in parts[1:]:
            value = FILTERS.get(item, str)(value)
        return value

    return _PLACEHOLDER.sub(fill, text)
