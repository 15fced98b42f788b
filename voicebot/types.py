"""The value types every layer shares: what was heard, what the state expects, what it meant.

This module sits at the bottom of the package and imports nothing of voicebot's, so the
flow engine, the language helpers (`voicebot.nlu`), the plugins and the call session can
all speak these types without importing one another. Plugin authors may import them from
`voicebot.plugins.base` too (re-exported there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

# What a state's `collect:` gathers; the flow schema and the NLU's slot filling share it.
SlotType = Literal["digits", "number", "yes_no", "choice", "text"]


@dataclass(slots=True)
class Transcript:
    text: str
    confidence: float | None = None
    # Seconds of audio that were transcribed; lets the record show what STT saw.
    audio_seconds: float = 0.0


@dataclass(slots=True)
class IntentSpec:
    name: str
    examples: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)  # regular expressions
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    description: str = ""  # one line of what the caller means; "" when the flow gives none


@dataclass(slots=True)
class SlotSpec:
    """What the current state is collecting, so "yes" or "four five six" means what it asked."""

    name: str
    type: str  # one of SlotType: digits | number | yes_no | choice | text
    choices: list[str] = field(default_factory=list)
    length: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    # Other ways to name a choice: {"line": ["phone line", "dial tone"]}.
    synonyms: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class Expectation:
    intents: list[IntentSpec] = field(default_factory=list)
    slot: SlotSpec | None = None
    # The flow's language (a Whisper code: "en", "fr", ...): which words mean yes, which
    # numbers are said how. Plugins that know one language may ignore it.
    language: str = "en"

    def hint_words(self) -> list[str]:
        """Words worth biasing a recogniser towards in this state."""
        words: list[str] = []
        for intent in self.intents:
            words.extend(intent.examples)
        if self.slot and self.slot.choices:
            words.extend(self.slot.choices)
        return words


@dataclass(slots=True)
class NLUResult:
    text: str
    intent: str | None
    confidence: float = 0.0
    entities: dict[str, Any] = field(default_factory=dict)


# An NLU as the flow tools and the conversation tests take it: a plugin's bound `parse`.
NLUFunction = Callable[[str, Expectation], NLUResult]
