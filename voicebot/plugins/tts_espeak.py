"""Text-to-speech by running the espeak-ng command line: no Python binding, no shared state.

Each synthesis is its own process, so calls run truly in parallel and a crash cannot
take the server's engine down with it. The WAV comes back on stdout (no temp files);
its header carries placeholder sizes because stdout cannot seek, which wavio tolerates.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from voicebot.audio.wavio import wav_bytes_to_pcm

# Long prompts take well under a second; a hung process must not hold an executor thread.
TIMEOUT_SECONDS = 30.0


def installed_voices(executable: str) -> set[str]:
    """Lower-cased names espeak-ng accepts for -v: language codes, voice names, voice files."""
    listing = subprocess.run(
        [executable, "--voices"], capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
        check=True,
    ).stdout
    names: set[str] = set()
    for line in listing.splitlines()[1:]:
        # Columns: Pty Language Age/Gender VoiceName File (Other Languages)
        cols = line.split()
        if len(cols) >= 5:
            # The listing writes spaces in voice names as "_"; -v wants the real name.
            names.update({cols[1].lower(), cols[3].replace("_", " ").lower(), cols[4].lower()})
            names.add(cols[4].rsplit("/", 1)[-1].lower())
    return names


class EspeakOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    voice: str = Field("en-us", description="espeak-ng voice (see `espeak-ng --voices`).")
    rate: int = Field(170, ge=80, le=450, description="Speaking rate in words per minute.")
    pitch: int = Field(50, ge=0, le=99, description="Pitch adjustment, 0 to 99 (50 is normal).")
    executable: str = Field("espeak-ng", description="espeak-ng command name or path.")


class EspeakTTS:
    kind: ClassVar[str] = "tts"
    name: ClassVar[str] = "espeak"
    Options: ClassVar[type[BaseModel]] = EspeakOptions

    @classmethod
    def for_language(cls, options: dict[str, Any], language: str) -> dict[str, Any]:
        """espeak-ng names its voices by language code ("fr", "es"): use the flow's."""
        if "voice" not in options and language.split("-")[0] != "en":
            options["voice"] = language.lower()
        return options

    def __init__(self, options: EspeakOptions) -> None:
        self.options = options
        self.sample_rate = 22050  # espeak-ng's native rate; load() confirms it from real output
        self._path: str | None = None

    def load(self) -> None:
        self._path = shutil.which(self.options.executable)
        if self._path is None:
            raise RuntimeError(
                f"{self.options.executable!r} not found: install espeak-ng (apt install espeak-ng)"
            )
        base = self.options.voice.split("+", 1)[0]  # "en-us+f3" = voice + variant
        if base.lower() not in installed_voices(self._path):
            # espeak-ng silently falls back to its default voice; say so at start-up instead.
            raise ValueError(f"espeak-ng voice {self.options.voice!r} is not installed")
        self.synthesize("Ready.")

    def health(self) -> dict[str, Any]:
        return {
            "executable": self._path, "voice": self.options.voice, "sample_rate": self.sample_rate
        }

    def synthesize(self, text: str) -> np.ndarray:
        text = " ".join(text.split())
        if not any(ch.isalnum() for ch in text):
            return np.zeros(0, dtype=np.int16)
        command = [
            self._path or self.options.executable, "--stdout",
            "-v", self.options.voice, "-s", str(self.options.rate), "-p", str(self.options.pitch),
            # "--" so a prompt starting with "-" is read as text, not as an option.
            "--", text,
        ]
        done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
        if done.returncode != 0 or not done.stdout:
            detail = done.stderr.decode(errors="replace")[:200]
            raise RuntimeError(f"espeak-ng failed ({done.returncode}): {detail}")
        pcm, rate = wav_bytes_to_pcm(done.stdout)
        self.sample_rate = rate
        return pcm
