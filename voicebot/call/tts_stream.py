"""Streamed speech: synthesise sentence by sentence, so the first one plays while the
rest is synthesised, and remember which text each stretch of audio carries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np

from voicebot.audio.sentences import split_sentences
from voicebot.call.speaker import heard_text
from voicebot.plugins.base import TTS, call_plugin
from voicebot.telephony.resample import resample


@dataclass
class SpokenText:
    """The sentences sent so far with their durations, to say what the caller heard."""

    sentences: list[tuple[str, float]] = field(default_factory=list)
    first_audio_at: float | None = None
    all_text: str = ""

    def heard(self, heard_s: float) -> str:
        words: list[str] = []
        start = 0.0
        for text, duration in self.sentences:
            if heard_s >= start + duration:
                words.append(text)
            elif heard_s > start:
                words.append(heard_text(text, heard_s - start, duration))
                break
            start += duration
        return " ".join(w for w in words if w)

    def rest(self, heard_s: float) -> str:
        """The text not yet heard: what to say again after a backchannel."""
        heard = self.heard(heard_s)
        if not self.all_text.startswith(heard):
            return self.all_text
        return self.all_text[len(heard) :].strip()


async def _synth(tts: TTS, text: str, rate: int, executor: Executor | None) -> np.ndarray:
    lookup = getattr(tts, "lookup", None)
    pcm = lookup(text) if lookup is not None else None
    if pcm is None:
        pcm = await call_plugin(executor, tts.synthesize, text)
    pcm = np.asarray(pcm, dtype=np.int16)
    if tts.sample_rate != rate:
        pcm = resample(pcm, tts.sample_rate, rate)
    return pcm


async def stream_speech(
    tts: TTS, text: str, rate: int, executor: Executor | None, spoken: SpokenText,
    timeout_s: float = 10.0,
) -> AsyncIterator[np.ndarray]:
    """Yields each sentence's audio at `rate`; raises TimeoutError if one takes too long
    (a hung plugin then costs one prompt, not the call; its thread is not reclaimable)."""
    sentences = split_sentences(text) or [text]
    spoken.all_text = " ".join(sentences)

    def synth(sentence: str) -> asyncio.Future[np.ndarray]:
        return asyncio.ensure_future(
            asyncio.wait_for(_synth(tts, sentence, rate, executor), timeout_s)
        )

    pending = synth(sentences[0])
    try:
        for i, sentence in enumerate(sentences):
            pcm = await pending
            if i + 1 < len(sentences):
                pending = synth(sentences[i + 1])
            if spoken.first_audio_at is None:
                spoken.first_audio_at = time.monotonic()
            spoken.sentences.append((sentence, pcm.size / rate))
            yield pcm
    finally:
        if not pending.done():
            pending.cancel()
