"""The four plugin protocols and the values that cross them.

A plugin is a plain class: `kind`, `name`, an `Options` pydantic model, a constructor
taking validated options, `load()` (heavy work once per process, at server start) and
the method of its kind. Methods may be plain (they run in the bounded executor, so they
may block) or `async def` (awaited on the loop; they must not block).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    type: str  # digits | number | yes_no | choice | text
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


@runtime_checkable
class Plugin(Protocol):
    kind: ClassVar[str]
    name: ClassVar[str]
    Options: ClassVar[type[BaseModel]]

    def load(self) -> None: ...


@runtime_checkable
class STT(Plugin, Protocol):
    def transcribe(
        self, pcm: np.ndarray, sample_rate: int, expectation: Expectation | None = None
    ) -> Transcript: ...


@runtime_checkable
class NLU(Plugin, Protocol):
    def parse(self, text: str, expectation: Expectation) -> NLUResult: ...


@runtime_checkable
class TTS(Plugin, Protocol):
    sample_rate: int

    def synthesize(self, text: str) -> np.ndarray:
        """Mono int16 PCM at `self.sample_rate`."""
        ...


@runtime_checkable
class VAD(Plugin, Protocol):
    sample_rate: int
    frame_samples: int

    def speech_probability(self, pcm: np.ndarray) -> float:
        """Probability (0..1) that a frame of `frame_samples` int16 samples holds speech."""
        ...

    def reset(self) -> None: ...


async def call_plugin(executor: Executor | None, fn: Callable[..., Any], *args: Any) -> Any:
    """Await an async plugin method, or run a blocking one in the bounded executor."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    # The executor thread runs in a copy of this context, so its log lines keep the call id.
    run = functools.partial(contextvars.copy_context().run, fn, *args)
    return await asyncio.get_running_loop().run_in_executor(executor, run)
