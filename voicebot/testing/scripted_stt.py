"""An STT plugin that hears, for each call, the lines of a script: the recogniser left out.

End-to-end tests of understanding (the NLU, the flow, the call session, the wire) should
not ride on what a speech model makes of synthetic audio. With this plugin the caller
still sends real speech over the real WebSocket, the VAD and the endpointer still cut it
into utterances, and each utterance is "recognised" as the next line scripted for that
call (by call id: give it in the media URL's `?call_id=`).

    stt: {use: "voicebot.testing.scripted_stt:ScriptedSTT",
          options: {lines: {call-1: ["I want an agent", "yes"]}}}

A line equal to `fail_line` raises instead, as a broken recogniser would; an utterance
beyond the script is heard as nothing. Turn off `listen.speculative`: a speculative
transcription would take a line of its own.
"""

from __future__ import annotations

import threading
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from voicebot.logs import call_id_var
from voicebot.types import Expectation, Transcript


class ScriptedRecognitionError(RuntimeError):
    """The script asked for this utterance to fail."""


class ScriptedSTT:
    kind: ClassVar[str] = "stt"
    name: ClassVar[str] = "scripted"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        lines: dict[str, list[str]] = Field(
            default_factory=dict, description="Per call id, what its caller says, in order."
        )
        fail_line: str = Field(
            default="!fail", description="A line that makes the recogniser raise instead."
        )

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or self.Options()
        self._heard: dict[str, int] = {}
        self._lock = threading.Lock()  # plain methods run in the executor's threads

    def load(self) -> None:
        pass

    def transcribe(
        self, pcm: np.ndarray, sample_rate: int, expectation: Expectation | None = None
    ) -> Transcript:
        call = call_id_var.get()
        with self._lock:
            index = self._heard.get(call, 0)
            self._heard[call] = index + 1
        lines = self.options.lines.get(call, [])
        seconds = pcm.size / sample_rate
        if index >= len(lines):
            return Transcript("", 0.0, seconds)
        if lines[index] == self.options.fail_line:
            raise ScriptedRecognitionError(f"call {call}: utterance {index + 1} fails")
        return Transcript(lines[index], 1.0, seconds)
