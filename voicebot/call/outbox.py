"""One writer per WebSocket: events leave in order, and a slow peer cannot grow memory.

The queue is bounded, so a stalled media server applies back-pressure to the speaker
(which paces itself anyway) instead of piling up audio. A `break` purges queued audio
first: audio behind a break would be played after the caller has started to talk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from voicebot.telephony.outbound import BreakEvent, OutboundEvent, StreamAudioEvent

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, send_text: Callable[[str], Awaitable[None]], maxsize: int = 32) -> None:
        self._send_text = send_text
        self._queue: asyncio.Queue[tuple[int, OutboundEvent] | None] = asyncio.Queue(maxsize)
        # Audio is stamped with the generation it was queued in; a break starts a new
        # one, so audio queued (or blocked on a full queue) before the break is never sent.
        self.generation = 0
        self._task: asyncio.Task[None] | None = None
        self.sent: dict[str, int] = {}
        self.closed = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox")

    async def send(self, event: OutboundEvent, generation: int | None = None) -> None:
        if self.closed:
            return
        await self._queue.put((self.generation if generation is None else generation, event))

    def send_break_now(self) -> None:
        """Drop queued audio and put `break` at the head of the line, without awaiting."""
        self.generation += 1
        kept = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None or not isinstance(item[1], StreamAudioEvent):
                kept.append(item)
        self._queue.put_nowait((self.generation, BreakEvent()))
        for item in kept:
            self._queue.put_nowait(item)

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            generation, event = item
            if isinstance(event, StreamAudioEvent) and generation != self.generation:
                self.sent["stale_audio_dropped"] = self.sent.get("stale_audio_dropped", 0) + 1
                continue
            kind = getattr(event, "event", None) or getattr(event, "type", "?")
            try:
                await self._send_text(event.to_json())
            except Exception as exc:  # the peer went away; the session notices on receive
                log.info("outbox: send failed (%s); closing", exc)
                self.closed = True
                return
            self.sent[kind] = self.sent.get(kind, 0) + 1

    async def close(self, drain_timeout: float = 2.0) -> None:
        """Send what is queued (a final transfer must not be lost), then stop."""
        if self._task is None:
            return
        if not self.closed:
            try:
                await asyncio.wait_for(self._queue.put(None), drain_timeout)
                await asyncio.wait_for(asyncio.shield(self._task), drain_timeout)
            except (TimeoutError, asyncio.CancelledError):
                pass
        self.closed = True
        if not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
