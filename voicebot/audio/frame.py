"""The unit of audio that flows between the wire and the listening pipeline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Everything after the wire runs at one rate: Whisper wants 16 kHz and webrtcvad accepts it.
PIPELINE_RATE = 16000
FRAME_MS = 20
FRAME_SAMPLES = PIPELINE_RATE * FRAME_MS // 1000


@dataclass(slots=True)
class AudioFrame:
    """20 ms of mono int16 audio at PIPELINE_RATE.

    `time` is media time in seconds since the call's first frame (derived from RTP
    timestamps or frame counts, never from the wall clock), so endpointing is exact
    and replayable.
    """

    pcm: np.ndarray
    time: float
    sample_rate: int = PIPELINE_RATE
