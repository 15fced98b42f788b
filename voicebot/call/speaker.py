"""Sends the bot's audio as paced chunks and knows what the caller heard.

The far end is modelled as a play-out queue: a chunk starts playing when the previous
one ends (or when it arrives, if the queue ran dry). From that model and the clock we
know how much has been heard, and we keep only `lead_ms` of audio queued on the far
side, so a clear cuts quickly and little audio is wasted. Where the media protocol
acknowledges playout (Twilio's marks), each chunk is followed by a mark and what was
heard is bounded by the last acknowledged one: a slow network no longer counts as heard.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import numpy as np

from voicebot.call.outbox import Outbox
from voicebot.call.recording import CallRecording
from voicebot.telephony.media import Audio, Mark

# How long past the modelled end of a prompt to wait for the last playout acknowledgement.
ACK_GRACE_S = 1.0


@dataclass(slots=True)
class Playback:
    completed: bool
    heard_s: float
    total_s: float  # audio sent (or, if completed, all of it)
    first_chunk_at: float | None  # clock time the first chunk left


class Speaker:
    def __init__(
        self,
        outbox: Outbox,
        *,
        sample_rate: int = 8000,
        chunk_ms: int = 100,
        lead_ms: int = 120,
        clock: Callable[[], float] = time.monotonic,
        playout_ack: bool = False,
    ) -> None:
        self.outbox = outbox
        self.sample_rate = sample_rate
        self.playout_ack = playout_ack
        self.chunk_samples = sample_rate * chunk_ms // 1000
        self.lead_s = lead_ms / 1000
        self.clock = clock
        self._interrupt = asyncio.Event()
        self.speaking = False
        self._sent_s = 0.0
        self._far_end_done = 0.0  # clock time at which the far side runs out of audio
        # (start, end, rms) of recent chunks on the far side's timeline, for the echo guard.
        self._levels: list[tuple[float, float, float]] = []
        # Playout acknowledgements: mark name -> prompt seconds played once it is acked.
        self._mark_ids = itertools.count(1)
        self._marks: dict[str, float] = {}
        self._acked_s = 0.0
        self._acked_at = 0.0
        self._all_acked = asyncio.Event()
        self.recording: CallRecording | None = None  # hears what the far end plays

    def heard_s(self) -> float:
        """Seconds of the current prompt the caller has heard by now."""
        now = self.clock()
        queued = max(0.0, self._far_end_done - now)
        modelled = max(0.0, self._sent_s - queued)
        if not self.playout_ack:
            return modelled
        # No further than the last acknowledged mark plus the time since it came.
        return min(modelled, self._acked_s + max(0.0, now - self._acked_at))

    def on_played(self, name: str) -> None:
        """The media server played the audio up to mark `name` (marks of an earlier or
        interrupted prompt are unknown here and ignored)."""
        position = self._marks.pop(name, None)
        if position is None:
            return
        if position > self._acked_s:
            self._acked_s, self._acked_at = position, self.clock()
        if not self._marks:
            self._all_acked.set()

    @property
    def interrupted(self) -> bool:
        """The prompt playing now has been interrupted (its break is sent or queued)."""
        return self.speaking and self._interrupt.is_set()

    def interrupt(self) -> float:
        """Stop sending (the caller barged in); returns what was heard. Synchronous on purpose:
        once this returns, no further chunk of this prompt is queued."""
        heard = self.heard_s()
        self._interrupt.set()
        self._marks.clear()  # a cleared server returns its pending marks: not played
        if self.recording is not None:
            self.recording.cut()
        self.outbox.send_break_now()
        return heard

    def recent_output_rms(self, window_s: float = 0.3) -> float:
        """Loudest of our chunks playing in the last `window_s` (echo arrives a little late)."""
        now = self.clock()
        return max(
            (rms for start, end, rms in self._levels if end >= now - window_s and start <= now),
            default=0.0,
        )

    @property
    def queued_s(self) -> float:
        return max(0.0, self._far_end_done - self.clock())

    async def play(self, audio: AsyncIterator[np.ndarray]) -> Playback:
        """Send audio (int16 at `sample_rate`) as it comes, paced to real time plus a lead."""
        self._interrupt = asyncio.Event()
        self.speaking = True
        self._sent_s = 0.0
        self._far_end_done = self.clock()
        self._marks.clear()
        self._acked_s, self._acked_at = 0.0, self.clock()
        self._all_acked = asyncio.Event()
        generation = self.outbox.generation
        first_at: float | None = None
        pending = np.zeros(0, np.int16)
        try:
            async for block in audio:
                if self._interrupt.is_set():
                    break
                pending = np.concatenate([pending, block]) if pending.size else block
                while pending.size >= self.chunk_samples and not self._interrupt.is_set():
                    chunk, pending = pending[: self.chunk_samples], pending[self.chunk_samples :]
                    first_at = await self._send(chunk, generation, first_at)
            if pending.size and not self._interrupt.is_set():
                first_at = await self._send(pending, generation, first_at)
            if not self._interrupt.is_set():
                await self._wait(self.queued_s)  # until the caller has heard it all
            if self.playout_ack and self._marks and not self._interrupt.is_set():
                await self._wait_acked()
            interrupted = self._interrupt.is_set()
            return Playback(not interrupted, self.heard_s(), self._sent_s, first_at)
        finally:
            self.speaking = False

    async def _send(self, chunk: np.ndarray, generation: int, first_at: float | None) -> float:
        # Pace: keep no more than `lead_s` queued on the far side.
        await self._wait(self.queued_s - self.lead_s)
        if self._interrupt.is_set():
            return first_at if first_at is not None else self.clock()
        await self.outbox.send(Audio(chunk, self.sample_rate), generation)
        now = self.clock()
        duration = chunk.size / self.sample_rate
        if self.playout_ack:
            name = f"a{next(self._mark_ids)}"
            self._marks[name] = self._sent_s + duration
            await self.outbox.send(Mark(name), generation)
        start = max(self._far_end_done, now)
        if self.recording is not None:
            self.recording.bot(chunk, self.sample_rate, start)
        self._far_end_done = start + duration
        rms = float(np.sqrt(np.mean(chunk.astype(np.float32) ** 2))) if chunk.size else 0.0
        self._levels = [lv for lv in self._levels if lv[1] >= now - 1.0]
        self._levels.append((start, self._far_end_done, rms))
        self._sent_s += duration
        return first_at if first_at is not None else now

    async def _wait_acked(self) -> None:
        """Until the server says the last chunk played (bounded: an ack may never come)."""
        waiter = asyncio.ensure_future(self._all_acked.wait())
        stop = asyncio.ensure_future(self._interrupt.wait())
        try:
            await asyncio.wait({waiter, stop}, timeout=ACK_GRACE_S,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            stop.cancel()

    async def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(self._interrupt.wait(), seconds)
        except TimeoutError:
            pass


def heard_text(text: str, heard_s: float, total_s: float) -> str:
    """The words of `text` the caller heard, cut at the word nearest the played time.

    Speech rate is close enough to uniform per character for a cut point; it is a
    record of what was heard, not a transcript.
    """
    if total_s <= 0 or heard_s <= 0:
        return ""
    if heard_s >= total_s:
        return text
    target = len(text) * heard_s / total_s
    ends = [i for i, ch in enumerate(text) if ch == " "] + [len(text)]
    cut = min(ends, key=lambda i: abs(i - target))
    return text[:cut].rstrip(" ,;:")
