"""Text-to-speech through pyttsx3 (espeak-ng underneath on Linux): offline, no model files.

pyttsx3 keeps one engine per driver per process and espeak-ng's voice and rate are global
state in the C library, so every synthesis runs under one process-wide lock and re-applies
its own properties. Audio goes through `save_to_file` (never `say`, which plays on the
host's speakers) into a temporary WAV that is read back and deleted.

pyttsx3's espeak driver runs espeak-ng asynchronously, and its queued `setProperty` races
with that: measured over alternating configurations, about a third of the utterances came
out at another instance's rate and a few percent were empty. So on the espeak driver the
properties are applied to the driver directly and espeak is synchronised before the text
is queued, and the synthesis waits for pyttsx3's `finished-utterance` notification (the
file is written just before it) rather than trusting `runAndWait`'s return. That measured
360 of 360 utterances at the right length, from two threads. The driver's start of an
utterance is replaced too: it gives espeak-ng a wrong text size (see `_start_synthesis`).
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

# An utterance takes milliseconds; this only bounds a wedged engine.
FINISH_TIMEOUT_SECONDS = 30.0


class _Engine:
    """The process's one pyttsx3 engine, with what is needed to drive it reliably."""

    def __init__(self) -> None:
        import pyttsx3

        self.engine = pyttsx3.init()
        # Instances share the engine, so "the default voice" must be remembered before any
        # instance configures another one.
        self.default_voice: str | None = self.engine.getProperty("voice")
        self.finished = threading.Event()
        self.engine.connect("finished-utterance", self._on_finished)
        self.espeak: Any = None
        driver: Any = getattr(getattr(self.engine, "proxy", None), "_driver", None)
        if type(driver).__name__ == "EspeakDriver":
            from pyttsx3.drivers import _espeak

            self.espeak = _espeak
            self.driver = driver
            # The driver's own start hands espeak_Synth a size of ten times the text's bytes,
            # and espeak-ng's asynchronous mode copies that many bytes from the Python
            # buffer: it reads past the end on every utterance (valgrind shows it), and when
            # the buffer ends at a page boundary the server dies of signal 11 (it did, at a
            # start-up). This start passes the text's own size.
            self.driver._start_synthesis = self._start_synthesis

    def _start_synthesis(self, text: str) -> None:
        """The espeak driver's `_start_synthesis`, with the size espeak-ng must copy."""
        driver, espeak = self.driver, self.espeak
        driver._proxy.setBusy(True)
        driver._proxy.notify("started-utterance")
        driver._speaking = True
        driver._data_buffer = b""
        data = str(text).encode("utf-8") + b"\0"
        try:
            espeak.cSynth(data, len(data), 0, espeak.POS_CHARACTER, 0,
                          espeak.ENDPAUSE | espeak.CHARS_UTF8, None, None)
        except Exception as exc:
            driver._proxy.setBusy(False)
            driver._proxy.notify("error", exception=exc)
            raise

    def _on_finished(self, name: str | None = None, completed: bool = True) -> None:
        self.finished.set()

    def configure(self, voice: str | None, rate: int, volume: float) -> None:
        values = {"voice": voice or self.default_voice, "rate": rate, "volume": volume}
        if self.espeak is None:
            for name, value in values.items():
                self.engine.setProperty(name, value)
            return
        driver = self.driver
        if driver is None:
            return
        for name, value in values.items():
            driver.setProperty(name, value)
        self.espeak.Synchronize()

    def render(self, text: str, path: str) -> None:
        self.finished.clear()
        self.engine.save_to_file(text, path)
        # The espeak driver prints "Audio saved to ..." for every file; keep it out of the
        # server's stdout.
        with contextlib.redirect_stdout(io.StringIO()):
            self.engine.runAndWait()
        if not self.finished.wait(FINISH_TIMEOUT_SECONDS):
            raise RuntimeError("pyttsx3 did not finish the utterance")


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _get_engine() -> _Engine:
    """The process's engine; call with _engine_lock held."""
    global _engine
    if _engine is None:
        _engine = _Engine()
    return _engine


class Pyttsx3Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    voice: str | None = Field(
        None,
        description="Voice id or name as pyttsx3 lists it (e.g. 'gmw/en-us'); null for the "
        "engine's default.",
    )
    rate: int = Field(170, ge=80, le=450, description="Speaking rate in words per minute.")
    volume: float = Field(1.0, ge=0.0, le=1.0, description="Output volume, 0 to 1.")


class Pyttsx3TTS:
    kind: ClassVar[str] = "tts"
    name: ClassVar[str] = "pyttsx3"
    Options: ClassVar[type[BaseModel]] = Pyttsx3Options

    @classmethod
    def for_language(cls, options: dict[str, Any], language: str) -> dict[str, Any]:
        """A voice for the flow's language where none was chosen: espeak-ng's voice ids end
        in the language code ("roa/fr"), and load() resolves a bare code to one."""
        if "voice" not in options and language.split("-")[0] != "en":
            options["voice"] = language
        return options

    def __init__(self, options: Pyttsx3Options) -> None:
        self.options = options
        # espeak-ng renders at 22050 Hz; load() replaces this with what the WAV header says.
        self.sample_rate = 22050
        self._loaded = False

    def load(self) -> None:
        with _engine_lock:
            engine = _get_engine().engine
            if self.options.voice is not None:
                voices = engine.getProperty("voices")
                known = {v.id for v in voices} | {v.name for v in voices}
                if self.options.voice not in known:
                    # A language code ("fr", "fr-fr") names the voice whose id ends in it.
                    code = self.options.voice.lower()
                    by_code = [v.id for v in voices if str(v.id).lower().rsplit("/", 1)[-1]
                               in (code, code.split("-")[0])]
                    if not by_code:
                        raise ValueError(f"pyttsx3 voice {self.options.voice!r} is not installed")
                    self.options = self.options.model_copy(update={"voice": sorted(
                        by_code, key=lambda i: (i.rsplit("/", 1)[-1] != code, len(i)))[0]})
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
                engine.configure(self.options.voice, self.options.rate, self.options.volume)
                engine.render(text, path)
            pcm, rate = read_wav(path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        if pcm.size == 0:
            raise RuntimeError(f"pyttsx3 produced no audio for {text[:40]!r}")
        self.sample_rate = rate
        return pcm
