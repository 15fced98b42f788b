"""Speech and silence for plugin tests, made on the machine (no download, no fixtures).

Speech comes from the espeak-ng command line when it is installed, otherwise from the
Asterisk English prompts (Debian: asterisk-core-sounds-en-wav). Both are real recorded
or synthesised speech, which is what an STT or VAD must react to.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np

SPEECH_TEXT = "Hello, I would like to speak to an agent about my account, please."
ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds/en")
# (file, what it says) — prompts that are clear, full sentences.
ASTERISK_SPEECH = [
    ("hello-world.wav", "hello world"),
    ("agent-pass.wav", "please enter your agent password followed by the pound key"),
]


class NoSpeechSource(RuntimeError):
    """Neither espeak-ng nor the Asterisk prompts are installed."""


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono int16 samples and the rate of a PCM16 WAV file (the first channel if stereo)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is supported")
        frames = wav.readframes(wav.getnframes())
        channels = wav.getnchannels()
        rate = wav.getframerate()
    pcm = np.frombuffer(frames, dtype="<i2").astype(np.int16)
    return (pcm[::channels].copy() if channels > 1 else pcm), rate


def resample(pcm: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return pcm
    import soxr

    out = np.asarray(soxr.resample(pcm.astype(np.float32), rate, target), dtype=np.float32)
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


@lru_cache(maxsize=8)
def _espeak(text: str) -> tuple[bytes, int]:
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if exe is None:
        raise NoSpeechSource("espeak-ng is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run([exe, "-v", "en-us", "-s", "150", "-w", str(out), text],
                       check=True, capture_output=True, timeout=30)
        pcm, rate = read_wav(out)
    return pcm.tobytes(), rate


def speech(sample_rate: int = 16000, text: str = SPEECH_TEXT) -> tuple[np.ndarray, str]:
    """About three seconds of English speech at `sample_rate`, and the words it says."""
    try:
        raw, rate = _espeak(text)
        pcm = np.frombuffer(raw, dtype=np.int16)
    except (NoSpeechSource, subprocess.SubprocessError, OSError):
        for name, said in ASTERISK_SPEECH:
            path = ASTERISK_SOUNDS / name
            if path.is_file():
                pcm, rate = read_wav(path)
                text = said
                break
        else:
            raise NoSpeechSource(
                "no speech source: install espeak-ng or asterisk-core-sounds-en-wav"
            ) from None
    # Half a second of silence either side, as an endpointer would hand it over.
    pad = np.zeros(rate // 2, dtype=np.int16)
    return resample(np.concatenate([pad, pcm, pad]), rate, sample_rate), text


def silence(sample_rate: int = 16000, seconds: float = 1.5, noise_rms: float = 0.0) -> np.ndarray:
    """Digital silence, or a faint deterministic hiss when `noise_rms` > 0 (line noise)."""
    n = int(sample_rate * seconds)
    if noise_rms <= 0:
        return np.zeros(n, dtype=np.int16)
    rng = np.random.default_rng(1234)
    return np.clip(rng.normal(0, noise_rms, n), -32768, 32767).astype(np.int16)


def frames(pcm: np.ndarray, frame_samples: int) -> list[np.ndarray]:
    """Whole frames of `frame_samples`; a partial tail is dropped, as the pipeline does."""
    count = len(pcm) // frame_samples
    return [pcm[i * frame_samples:(i + 1) * frame_samples] for i in range(count)]
