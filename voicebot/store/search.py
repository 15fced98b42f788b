"""Finding calls by number, date and outcome (the console's search).

The SQL is plain enough for every store backend (no JSON functions, whose spelling
differs): it narrows by date and by a coarse text match on the call's meta, then each
candidate is checked exactly here, reading rows lazily until `limit` have matched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OUTCOMES = ("transfer", "hangup", "error")


@dataclass(frozen=True, slots=True)
class CallQuery:
    number: str | None = None  # digits anywhere in the caller's or the called number
    since: float | None = None  # opened at or after (epoch seconds)
    until: float | None = None  # opened before
    outcome: str | None = None  # one of OUTCOMES
    limit: int = 50

    def __post_init__(self) -> None:
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
        if self.number is not None and not digits(self.number):
            raise ValueError("a number to search for needs at least one digit")


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _matches(meta: dict[str, Any], query: CallQuery) -> bool:
    if query.outcome is not None and meta.get("outcome") != query.outcome:
        return False
    if query.number is not None:
        wanted = digits(query.number)
        numbers = (digits(str(meta.get(k) or "")) for k in ("from_number", "to_number"))
        if not any(wanted in n for n in numbers):
            return False
    return True


def search_calls(conn: Any, query: CallQuery,
                 to_row: Callable[[Any], dict[str, Any]]) -> list[dict[str, Any]]:
    where: list[str] = ["1 = 1"]
    params: list[float | str] = []
    if query.since is not None:
        where.append("c.opened_at >= ?")
        params.append(query.since)
    if query.until is not None:
        where.append("c.opened_at < ?")
        params.append(query.until)
    if query.number is not None:
        where.append("c.meta LIKE ?")
        params.append(f"%{digits(query.number)}%")
    if query.outcome is not None:
        where.append("c.meta LIKE ?")
        params.append(f'%"outcome": "{query.outcome}"%')
    cursor = conn.execute(
        f"""SELECT c.*,
                   (SELECT COUNT(*) FROM turns t WHERE t.call_id = c.call_id) AS turns
            FROM calls c WHERE {' AND '.join(where)}
            ORDER BY c.opened_at DESC""",
        tuple(params),
    )
    found: list[dict[str, Any]] = []
    for row in cursor:
        meta = json.loads(row["meta"])
        if _matches(meta, query):
            found.append(to_row(row) | {"turns": row["turns"]})
            if len(found) >= query.limit:
                break
    return found
