"""Streamed speech: synthesise sentence by sentence, so the first one plays while the
rest is synthesised, and remember which text each stretch of audio carries."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import time
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np

from voicebot.audio.sentences import reply_pieces
from voicebot.call.speaker import heard_text
from voicebot.call.tts_scheduler import TTSScheduler
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


async def _synth(
    tts: TTS, text: str, rate: int, executor: Executor | None, needed_at: float
) -> np.ndarray:
    lookup = getattr(tts, "lookup", None)
    pcm = lookup(text) if lookup is not None else None
    if pcm is None and isinstance(executor, TTSScheduler) and not inspect.iscoroutinefunction(
        tts.synthesize
    ):
        # The scheduler runs the most urgent piece of all calls first (tts_scheduler.py).
        run = functools.partial(contextvars.copy_context().run, tts.synthesize, text)
        pcm = await asyncio.wrap_future(executor.submit_by(needed_at, run))
    elif pcm is None:
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
    (a hung plugin then costs one prompt, not the call; its thread is not reclaimable).

    Each piece is synthesised while the one before it plays. Its deadline (for the TTS
    scheduler) is when the audio before it runs out; the first piece's is now."""
    sentences = reply_pieces(text)
    spoken.all_text = " ".join(sentences)

    def synth(sentence: str, needed_at: float) -> asyncio.Future[np.ndarray]:
        return asyncio.ensure_future(
            asyncio.wait_for(_synth(tts, sentence, rate, executor, needed_at), timeout_s)
        )

    runs_out = time.monotonic()
    pending = synth(sentences[0], runs_out)
    try:
        for i, sentence in enumerate(sentences):
            pcm = await pending
            runs_out = max(runs_out, time.monotonic()) + pcm.size / rate
            if i + 1 < len(sentences):
                pending = synth(sentences[i + 1], runs_out)
            if spoken.first_audio_at is None:
                spoken.first_audio_at = time.monotonic()
            spoken.sentences.append((sentence, pcm.size / rate))
            yield pcm
    finally:
        if not pending.done():
            pending.cancel()
