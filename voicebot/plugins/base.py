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
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict

# The values that cross the protocols live at the bottom of the package (voicebot.types);
# they are re-exported here so plugins written against this module keep working.
from voicebot.types import Expectation, IntentSpec, NLUResult, SlotSpec, Transcript

__all__ = [
    "NLU", "STT", "TTS", "VAD", "Expectation", "IntentSpec", "NLUResult", "NoOptions", "Plugin",
    "SlotSpec", "Transcript", "call_plugin",
]


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
