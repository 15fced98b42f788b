"""Plugins that fail on purpose, for the fault tests. Registered by import path in the
test server's config (`stt: {use: "tests.faults.fault_plugins:FaultySTT"}`), exactly as a
user's own plugin would be, so the server under test is the real one.

Each wraps the real default plugin and breaks only on a chosen input, so everything else
in the call (the greeting, the next turn) is the normal pipeline.
"""

from __future__ import annotations

import re
import time
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from voicebot.plugins.base import Expectation, Transcript
from voicebot.plugins.stt_whisper import WhisperOptions, WhisperSTT
from voicebot.plugins.tts_pyttsx3 import Pyttsx3Options, Pyttsx3TTS


class FaultySTTOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    raise_on: str = Field(description="Regex: a transcript matching it raises instead.")
    whisper: dict[str, Any] = Field(default_factory=dict, description="Whisper's options.")


class FaultySTT:
    """Whisper, except that an utterance whose transcript matches `raise_on` raises, as a
    cloud STT does on a 500 or a model on a bad input."""

    kind: ClassVar[str] = "stt"
    name: ClassVar[str] = "faulty_stt"
    Options: ClassVar[type[BaseModel]] = FaultySTTOptions

    def __init__(self, options: FaultySTTOptions) -> None:
        self.options = options
        self.pattern = re.compile(options.raise_on, re.I)
        self.inner = WhisperSTT(WhisperOptions.model_validate(options.whisper))
        self.raised = 0

    def load(self) -> None:
        self.inner.load()

    def transcribe(
        self, pcm: np.ndarray, sample_rate: int, expectation: Expectation | None = None
    ) -> Transcript:
        transcript = self.inner.transcribe(pcm, sample_rate, expectation)
        if self.pattern.search(transcript.text):
            self.raised += 1
            raise RuntimeError(f"injected STT failure on {transcript.text!r}")
        return transcript


class HangingTTSOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hang_on: str = Field(description="Regex: synthesising a matching text blocks.")
    hang_s: float = Field(default=8.0, gt=0, description="How long it blocks.")
    pyttsx3: dict[str, Any] = Field(default_factory=dict)


class HangingTTS:
    """pyttsx3, except that a matching text blocks its thread for `hang_s`: a TTS server
    that accepted the request and never answers."""

    kind: ClassVar[str] = "tts"
    name: ClassVar[str] = "hanging_tts"
    Options: ClassVar[type[BaseModel]] = HangingTTSOptions

    def __init__(self, options: HangingTTSOptions) -> None:
        self.options = options
        self.pattern = re.compile(options.hang_on, re.I)
        self.inner = Pyttsx3TTS(Pyttsx3Options.model_validate(options.pyttsx3))

    @property
    def sample_rate(self) -> int:
        return int(self.inner.sample_rate)

    def load(self) -> None:
        self.inner.load()

    def synthesize(self, text: str) -> np.ndarray:
        if self.pattern.search(text):
            time.sleep(self.options.hang_s)
        return self.inner.synthesize(text)
