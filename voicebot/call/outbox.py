"""One writer per WebSocket: commands leave in order, and a slow peer cannot grow memory.

The outbox holds abstract media commands (telephony/media.py); the call's media protocol
turns each into its wire messages as it leaves. The queue is bounded, so a stalled media
server applies back-pressure to the speaker (which paces itself anyway) instead of piling
up audio. A clear purges queued audio first: audio behind it would be played after the
caller has started to talk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from voicebot.telephony.media import (
    Audio,
    Clear,
    Mark,
    MediaCommand,
    MediaProtocol,
    WireMessage,
)

log = logging.getLogger(__name__)


def _audio_bound(command: MediaCommand) -> bool:
    # A mark belongs to the audio before it: both go when a clear purges the queue.
    return isinstance(command, Audio | Mark)


# The clear that send_break_now queues: one object, so it is told apart from a clear a
# flow sends through `send` (which holds a place like any other command).
_BREAK = Clear()


def _is_break(item: tuple[int, MediaCommand] | None) -> bool:
    return item is not None and item[1] is _BREAK


class Outbox:
    def __init__(
        self, send: Callable[[WireMessage], Awaitable[None]], protocol: MediaProtocol,
        maxsize: int = 32,
    ) -> None:
        self._send = send
        self.protocol = protocol
        # Unbounded itself; `send` holds one of `maxsize` places per command, a clear
        # from send_break_now holds none: it never waits and never finds the queue full,
        # so a caller's key presses cannot overflow it and end the call (issue 12).
        self._queue: asyncio.Queue[tuple[int, MediaCommand] | None] = asyncio.Queue()
        self._room = asyncio.Semaphore(maxsize)
        # Audio is stamped with the generation it was queued in; a break starts a new
        # one, so audio queued (or blocked on a full queue) before the break is never sent.
        self.generation = 0
        self._task: asyncio.Task[None] | None = None
        self.sent: dict[str, int] = {}
        self.closed = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox")

    async def send(self, command: MediaCommand, generation: int | None = None) -> None:
        if self.closed:
            return
        await self._room.acquire()
        self._queue.put_nowait((self.generation if generation is None else generation, command))

    def send_break_now(self) -> None:
        """Drop queued audio and put a clear at the head of the line, without awaiting."""
        self.generation += 1
        kept = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None or (not _audio_bound(item[1]) and not _is_break(item)):
                kept.append(item)
            elif not _is_break(item):
                self._room.release()  # purged audio gives its place back
        # A clear not yet sent is replaced, not repeated: with the audio between them
        # gone, two clears in a row are one.
        self._queue.put_nowait((self.generation, _BREAK))
        for item in kept:
            self._queue.put_nowait(item)

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if not _is_break(item):
                self._room.release()
            generation, command = item
            if _audio_bound(command) and generation != self.generation:
                self.sent["stale_audio_dropped"] = self.sent.get("stale_audio_dropped", 0) + 1
                continue
            kind = type(command).__name__.lower()
            try:
                for message in self.protocol.encode(command):
                    await self._send(message)
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
                self._queue.put_nowait(None)
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
