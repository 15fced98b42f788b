"""Caller voices at 8 kHz, as the media-server simulator sends them: espeak-ng (robotic)
and Piper's joe (natural, deterministic). Shared by end-to-end tests and bench/."""

from __future__ import annotations

import subprocess
import tempfile

import numpy as np

from voicebot.plugins.tts_piper import PiperOptions, PiperTTS
from voicebot.simulator import load_wav_8k
from voicebot.telephony.resample import resample


def espeak_8k(text: str, voice: str = "en-us", rate: int = 160) -> np.ndarray:
    """Speech synthesised by espeak-ng, at 8 kHz as the simulator sends it."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", f.name, text],
                       check=True, capture_output=True)
        return load_wav_8k(f.name)


_PIPER: PiperTTS | None = None


def piper_8k(text: str) -> np.ndarray:
    """A natural voice (Piper's joe, shipped in a wheel), at 8 kHz. espeak-ng's robotic
    fricatives do not survive G.711 well ("sales" comes back as "fail"), which would
    test the recogniser's limits rather than the flow."""
    global _PIPER
    if _PIPER is None:
        # Without its noise terms Piper is deterministic: the same caller audio every run.
        _PIPER = PiperTTS(PiperOptions.model_validate({"noise_scale": 0.0, "noise_w": 0.0}))
        _PIPER.load()
    return resample(_PIPER.synthesize(text), _PIPER.sample_rate, 8000)
