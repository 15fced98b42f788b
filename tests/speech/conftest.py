"""Shared fixtures: real human recordings from Debian's asterisk-core-sounds-en-wav."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soxr

from voicebot.audio.wavio import read_wav

ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds/en")


def _load_prompt(name: str, rate: int = 16000) -> np.ndarray:
    path = ASTERISK_SOUNDS / f"{name}.wav"
    if not path.exists():
        pytest.skip(f"{path} missing: apt-get install asterisk-core-sounds-en-wav")
    pcm, src_rate = read_wav(path)
    if src_rate == rate:
        return pcm
    out = soxr.resample(pcm.astype(np.float32), src_rate, rate)
    return np.clip(out, -32768, 32767).astype(np.int16)


@pytest.fixture(scope="session")
def asterisk_prompt() -> Callable[..., np.ndarray]:
    """Load an asterisk prompt (8 kHz human speech) as int16 at a given rate (16 kHz default)."""
    return _load_prompt


@pytest.fixture(scope="session")
def split_frames() -> Callable[[np.ndarray, int], list[np.ndarray]]:
    """Cut audio into whole frames of `size` samples, dropping the ragged tail."""

    def split(pcm: np.ndarray, size: int) -> list[np.ndarray]:
        return [pcm[i : i + size] for i in range(0, len(pcm) - size + 1, size)]

    return split
