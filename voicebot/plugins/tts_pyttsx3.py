"""Text-to-speech through pyttsx3 (espeak-ng underneath on Linux): offline, no model files.

pyttsx3 keeps one engine per driver per process, and espeak-ng's voice and rate are global
state in the C library, so every synthesis runs under one process-wide lock and re-applies
its own properties. Audio goes through `save_to_file` (never `say`, which plays on the
host's speakers) into a temporary WAV that is read back and deleted.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from voicebot.audio.wavio import read_wav

_engine: Any = None
_engine_lock = threading.Lock()


class Pyttsx3Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    voice: str | None = Field(
        None,
        description="Voice id or name as pyttsx3 lists it (e.g. 'gmw/en-us'); null for the "
        "engine's default.",
    )
    rate: int = Field(170, ge=80, le=450, description="Speaking rate in words per minute.")
    volume: float = Field(1.0, ge=0.0, le=1.0, description="Output volume, 0 to 1.")


def _get_engine() -> Any:
    """The process's pyttsx3 engine; call with _engine_lock held."""
    global _engine
    if _engine is None:
        import pyttsx3

        _engine = pyttsx3.init()
    return _engine


class Pyttsx3TTS:
    kind: ClassVar[str] = "tts"
    name: ClassVar[str] = "pyttsx3"
    Options: ClassVar[type[BaseModel]] = Pyttsx3Options

    def __init__(self, options: Pyttsx3Options) -> None:
        self.options = options
        # espeak-ng renders at 22050 Hz; load() replaces this with what the WAV header says.
        self.sample_rate = 22050
        self._loaded = False

    def load(self) -> None:
        with _engine_lock:
            engine = _get_engine()
            if self.options.voice is not None:
                known = {v.id for v in engine.getProperty("voices")}
                known |= {v.name for v in engine.getProperty("voices")}
                if self.options.voice not in known:
                    raise ValueError(f"pyttsx3 voice {self.options.voice!r} is not installed")
        # A warm-up line sets sample_rate from real output and pays espeak's first-use cost.
        self.synthesize("Ready.")
        self._loaded = True

    def health(self) -> dict[str, Any]:
        return {
            "loaded": self._loaded, "sample_rate": self.sample_rate, "voice": self.options.voice
        }

    def synthesize(self, text: str) -> np.ndarray:
        text = " ".join(text.split())
        # espeak never signals the end of an empty utterance, which would leave runAndWait
        # spinning forever; there is nothing to say anyway.
        if not any(ch.isalnum() for ch in text):
            return np.zeros(0, dtype=np.int16)
        fd, path = tempfile.mkstemp(prefix="voicebot-tts-", suffix=".wav")
        os.close(fd)
        try:
            with _engine_lock:
                engine = _get_engine()
                if self.options.voice is not None:
                    engine.setProperty("voice", self.options.voice)
                engine.setProperty("rate", self.options.rate)
                engine.setProperty("volume", self.options.volume)
                engine.save_to_file(text, path)
                # The espeak driver prints "Audio saved to ..." for every file; keep it out of
                # the server's stdout.
                with contextlib.redirect_stdout(io.StringIO()):
                    engine.runAndWait()
            pcm, rate = read_wav(path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self.sample_rate = rate
        return pcm
