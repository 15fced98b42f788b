"""Mono int16 WAV in and out with the stdlib `wave` module (no extra dependency)."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import BinaryIO

import numpy as np


def _read(handle: wave.Wave_read) -> tuple[np.ndarray, int]:
    if handle.getsampwidth() != 2:
        raise ValueError(f"expected 16-bit PCM WAV, got {8 * handle.getsampwidth()}-bit")
    channels = handle.getnchannels()
    pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").astype(np.int16)
    if channels > 1:
        # Average to mono in a wider type so loud stereo does not wrap around.
        pcm = pcm.reshape(-1, channels).astype(np.int32).mean(axis=1).astype(np.int16)
    return pcm, handle.getframerate()


def read_wav(source: str | Path | BinaryIO) -> tuple[np.ndarray, int]:
    """(mono int16 samples, sample rate) of a 16-bit PCM WAV file or file object."""
    with wave.open(str(source) if isinstance(source, Path) else source, "rb") as handle:
        return _read(handle)


def wav_bytes_to_pcm(data: bytes) -> tuple[np.ndarray, int]:
    """Parse WAV bytes, tolerating the unknown-length header that streaming writers emit.

    espeak-ng --stdout cannot seek back, so its RIFF and data sizes may be 0 or 0xFFFFFFFF;
    the samples then run to the end of the buffer.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE stream")
    pos = 12
    rate = channels = width = 0
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt = int.from_bytes(data[body : body + 2], "little")
            channels = int.from_bytes(data[body + 2 : body + 4], "little")
            rate = int.from_bytes(data[body + 4 : body + 8], "little")
            width = int.from_bytes(data[body + 14 : body + 16], "little") // 8
            if fmt not in (1, 0xFFFE) or width != 2:
                raise ValueError(f"expected 16-bit PCM WAV, got format {fmt} width {width}")
        elif chunk_id == b"data":
            if not rate:
                raise ValueError("WAV data chunk before its fmt chunk")
            end = len(data) if size in (0, 0xFFFFFFFF) else min(len(data), body + size)
            end -= (end - body) % (2 * channels)
            pcm = np.frombuffer(data[body:end], dtype="<i2").astype(np.int16)
            if channels > 1:
                pcm = pcm.reshape(-1, channels).astype(np.int32).mean(axis=1).astype(np.int16)
            return pcm, rate
        pos = body + size + (size & 1)
    raise ValueError("WAV stream holds no data chunk")


def write_wav(target: str | Path | BinaryIO, pcm: np.ndarray, sample_rate: int) -> None:
    """Write mono int16 samples as a 16-bit PCM WAV."""
    samples = np.asarray(pcm)
    if samples.dtype != np.int16:
        raise TypeError(f"write_wav needs int16 samples, got {samples.dtype}")
    with wave.open(str(target) if isinstance(target, Path) else target, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(samples.astype("<i2").tobytes())


def pcm_to_wav_bytes(pcm: np.ndarray, sample_rate: int) -> bytes:
    buf = io.BytesIO()
    write_wav(buf, pcm, sample_rate)
    return buf.getvalue()
