"""Decoded audio to the pipeline's frames: resampled to 16 kHz, cut into frames of exactly
20 ms, each stamped with its media time (kept exact across rate changes and gaps).
"""

from __future__ import annotations

import numpy as np

from voicebot.audio.frame import FRAME_SAMPLES, PIPELINE_RATE, AudioFrame
from voicebot.telephony.resample import StreamResampler


class FrameMaker:
    """Resample to 16 kHz, cut exact 20 ms frames, and keep their media time."""

    def __init__(self) -> None:
        self._rate = 0
        self._resampler: StreamResampler | None = None
        self._pending = np.zeros(0, dtype=np.int16)
        self._origin = 0.0  # media time of the first sample since the last re-anchoring
        self._out = 0  # 16 kHz samples cut into frames since the origin
        self.input_time = 0.0  # media time of the next input sample

    def push(self, pcm: np.ndarray, rate: int) -> list[AudioFrame]:
        if rate != self._rate:
            tail = self._resampler.flush() if self._resampler is not None else self._pending[:0]
            self._resampler = StreamResampler(rate, PIPELINE_RATE)
            self._rate = rate
            self._pending = np.concatenate([self._pending, tail])
        assert self._resampler is not None
        self.input_time += pcm.size / rate
        self._pending = np.concatenate([self._pending, self._resampler.process(pcm)])
        return self._cut()

    def _cut(self) -> list[AudioFrame]:
        pending = self._pending
        count = pending.size // FRAME_SAMPLES
        if count == 0:
            return []
        frames = []
        for i in range(count):
            start = (self._out + i * FRAME_SAMPLES) / PIPELINE_RATE
            frames.append(AudioFrame(pending[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES],
                                     self._origin + start))
        self._out += count * FRAME_SAMPLES
        self._pending = pending[count * FRAME_SAMPLES :]
        return frames

    def finish(self, resume_at: float | None = None) -> list[AudioFrame]:
        """Drain the resampler, pad the last partial frame with silence, and start the
        next audio at `resume_at` (default: right after the padded frame)."""
        if self._resampler is not None:
            self._pending = np.concatenate([self._pending, self._resampler.flush()])
        short = -self._pending.size % FRAME_SAMPLES
        if short:
            self._pending = np.concatenate([self._pending, np.zeros(short, dtype=np.int16)])
        frames = self._cut()
        end = self._origin + self._out / PIPELINE_RATE
        self._origin = end if resume_at is None else max(resume_at, end)
        self._out = 0
        self.input_time = self._origin
        self._rate = 0
        self._resampler = None
        return frames
