"""WebRTC voice activity detection: a tiny GMM classifier, microseconds per frame.

It answers speech / not speech per 10, 20 or 30 ms frame, so the probability it reports is
0.0 or 1.0; the endpointer smooths over frames. An instance is cheap and holds per-call
state, so each call gets its own.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import webrtcvad
from pydantic import BaseModel, ConfigDict, Field


class WebrtcVADOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aggressiveness: int = Field(
        2, ge=0, le=3,
        description="0 keeps the most audio as speech, 3 filters non-speech the hardest.",
    )
    sample_rate: Literal[8000, 16000, 32000, 48000] = Field(
        16000, description="Rate of the frames given to speech_probability."
    )
    frame_ms: Literal[10, 20, 30] = Field(
        20, description="Frame length in milliseconds; webrtcvad accepts only 10, 20 or 30."
    )


class WebrtcVAD:
    kind: ClassVar[str] = "vad"
    name: ClassVar[str] = "webrtc"
    Options: ClassVar[type[BaseModel]] = WebrtcVADOptions

    def __init__(self, options: WebrtcVADOptions) -> None:
        self.options = options
        self.sample_rate = options.sample_rate
        self.frame_samples = options.sample_rate * options.frame_ms // 1000
        self._vad = webrtcvad.Vad(options.aggressiveness)

    def load(self) -> None:
        # Nothing heavy: the classifier is compiled into the extension.
        self.speech_probability(np.zeros(self.frame_samples, dtype=np.int16))
        self.reset()

    def health(self) -> dict[str, Any]:
        return {"aggressiveness": self.options.aggressiveness, "frame_ms": self.options.frame_ms}

    def speech_probability(self, pcm: np.ndarray) -> float:
        frame = np.asarray(pcm)
        if frame.dtype != np.int16:
            raise TypeError(f"webrtc VAD needs int16 samples, got {frame.dtype}")
        if frame.size != self.frame_samples:
            raise ValueError(
                f"webrtc VAD needs frames of {self.frame_samples} samples, got {frame.size}"
            )
        return 1.0 if self._vad.is_speech(frame.tobytes(), self.sample_rate) else 0.0

    def reset(self) -> None:
        # The classifier adapts its noise model over time; a new call starts from scratch.
        self._vad = webrtcvad.Vad(self.options.aggressiveness)
