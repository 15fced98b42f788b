"""Whisper speech-to-text, the plugin: from a turn's audio to a Transcript.

The models and how they decode live in whisper_backends.py, the options in
whisper_options.py; this module decides what is worth decoding (silence and clicks are
not), what to prompt with (the flow's expected phrases) and how sure the result is.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel

from voicebot.plugins.base import Expectation, Transcript
from voicebot.plugins.whisper_backends import WHISPER_RATE, Backend, Segment, shared_model
from voicebot.plugins.whisper_models import MULTILINGUAL
from voicebot.plugins.whisper_options import WhisperOptions

__all__ = ["WhisperOptions", "WhisperSTT", "hint_prompt", "segment_confidence",
           "shared_model", "to_whisper_audio"]

# Whisper's prompt window is 224 tokens; a few hundred characters of hints stays well inside.
MAX_PROMPT_CHARS = 400
# Below this RMS (int16 units, about -66 dBFS) there is nothing to hear: skipping the model
# avoids Whisper's habit of inventing "Thank you." on digital silence.
SILENCE_RMS = 16.0
# Whisper needs some audio to say anything sensible; shorter clips are clicks, not words.
MIN_AUDIO_SECONDS = 0.1


def hint_prompt(expectation: Expectation | None) -> str | None:
    """Expected phrases as a comma-separated prompt, de-duplicated, within Whisper's window."""
    if expectation is None:
        return None
    seen: set[str] = set()
    phrases: list[str] = []
    words = list(expectation.hint_words())
    if expectation.slot is not None and expectation.slot.type == "yes_no":
        words += ["yes", "no"]
    for phrase in words:
        phrase = phrase.strip()
        if phrase and phrase.lower() not in seen:
            seen.add(phrase.lower())
            phrases.append(phrase)
    prompt = ""
    for phrase in phrases:
        candidate = f"{prompt}, {phrase}" if prompt else phrase
        if len(candidate) > MAX_PROMPT_CHARS:
            break
        prompt = candidate
    return f"{prompt}." if prompt else None


def _is_silence(segment: Segment, opts: WhisperOptions) -> bool:
    """Whisper's own rule: "no speech" only when the model also doubts its words.

    A short, clear "yes" at the end of a turn can score a no-speech probability above
    0.6 while its words are confident (avg log-prob around -0.5); dropping it on the
    probability alone lost one-word answers (seen on a confirmation in account_lookup).
    """
    # Written so that a NaN log-prob (a degenerate decode) counts as doubtful.
    return (segment.no_speech_prob > opts.no_speech_threshold
            and not segment.avg_logprob >= opts.logprob_threshold)


def segment_confidence(segments: list[Segment]) -> float:
    """Mean token probability, discounted by how likely the segment was not speech at all."""
    if not segments:
        return 0.0
    scores = [
        math.exp(min(s.avg_logprob, 0.0)) * (1.0 - s.no_speech_prob)
        if math.isfinite(s.avg_logprob) else 0.0
        for s in segments
    ]
    return float(sum(scores) / len(scores))


def to_whisper_audio(pcm: np.ndarray, sample_rate: int) -> np.ndarray:
    """int16 (or float) mono at any rate -> float32 in [-1, 1] at 16 kHz."""
    audio = np.asarray(pcm)
    if audio.dtype == np.int16:
        audio = audio.astype(np.float32) / 32768.0
    else:
        audio = audio.astype(np.float32)
    audio = audio.reshape(-1)
    if sample_rate != WHISPER_RATE and audio.size:
        import soxr

        audio = soxr.resample(audio, sample_rate, WHISPER_RATE, quality="HQ").astype(np.float32)
    return audio


class WhisperSTT:
    kind: ClassVar[str] = "stt"
    name: ClassVar[str] = "whisper"
    Options: ClassVar[type[BaseModel]] = WhisperOptions

    def __init__(self, options: WhisperOptions) -> None:
        self.options = options
        self._model: Backend | None = None

    @classmethod
    def for_language(cls, options: dict[str, Any], language: str) -> dict[str, Any]:
        """The flow's language for Whisper, and the multilingual model when the language is
        not English and no model was chosen (tiny.en hears only English)."""
        base = language.split("-")[0]
        options.setdefault("language", base)
        if options["language"] not in (None, "en") and "model" not in options:
            options["model"] = MULTILINGUAL
        return options

    def load(self) -> None:
        self._model = shared_model(self.options)
        # The first CTranslate2 call allocates its buffers; pay that at start-up, not on the
        # first caller's first sentence.
        t = np.arange(WHISPER_RATE // 2, dtype=np.float32) / WHISPER_RATE
        self._model.run(0.1 * np.sin(2 * np.pi * 220 * t).astype(np.float32), None, self.options)

    def health(self) -> dict[str, Any]:
        return {
            "loaded": self._model is not None,
            "backend": self.options.backend,
            "model": self.options.model,
        }

    def transcribe(
        self, pcm: np.ndarray, sample_rate: int, expectation: Expectation | None = None
    ) -> Transcript:
        if self._model is None:
            self._model = shared_model(self.options)
        audio = to_whisper_audio(pcm, sample_rate)
        seconds = audio.size / WHISPER_RATE
        rms = float(np.sqrt(np.mean(np.square(audio)))) * 32768.0 if audio.size else 0.0
        if seconds < MIN_AUDIO_SECONDS or rms < SILENCE_RMS:
            return Transcript(text="", confidence=0.0, audio_seconds=seconds)
        prompt = self.options.initial_prompt
        if self.options.use_hints:
            hints = hint_prompt(expectation)
            if hints:
                prompt = f"{prompt} {hints}" if prompt else hints
        segments = [
            s for s in self._model.run(audio, prompt, self.options)
            if s.text.strip() and not _is_silence(s, self.options)
        ]
        text = " ".join(s.text.strip() for s in segments).strip()
        return Transcript(text=text, confidence=segment_confidence(segments), audio_seconds=seconds)
