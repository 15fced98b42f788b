"""One turn of a call, as the session builds it and the store keeps it: every field is
a column (schema migration 4 added the ones the store used to drop)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class TurnRecord:
    """Built field by field while the turn runs (latencies as they are measured), then
    handed to the store as it is. Exactly one of transcript, dtmf, no_input says what
    started the turn (none for a turn that failed before it was heard)."""

    transcript: str | None = None
    dtmf: str | None = None
    no_input: bool = False
    speech_ms: int | None = None  # how long the caller spoke, for a spoken turn
    intent: str | None = None
    confidence: float | None = None
    entities: dict[str, Any] = field(default_factory=dict)
    state: str | None = None  # the flow state after the turn
    slots: dict[str, Any] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    latencies: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
