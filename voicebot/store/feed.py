"""The live feed: every record write, as it happens, to whoever watches (the console).

`FeedingStore` wraps the call store and publishes each write after it succeeded, so
what the console shows live is exactly what the record will hold; a session can also
publish what is not recorded (a transcript the moment it is known). Subscribers get a
bounded queue: one that cannot keep up is told it lagged and dropped (the console then
reloads from the store), so a stalled browser never holds memory or slows a call.

The feed is per process. With several workers, a console sees live updates for the
calls of the worker it is connected to; every call is in the shared store either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from voicebot.store.turn import TurnRecord

SUBSCRIBER_QUEUE = 1000
LAGGED: dict[str, Any] = {"kind": "lagged"}


class CallFeed:
    def __init__(self) -> None:
        self._subscribers: dict[asyncio.Queue[dict[str, Any]], str | None] = {}
        self.live: dict[str, dict[str, Any]] = {}  # call id -> meta, for calls not yet closed
        # Set by a FeedRelay: this worker's items also go to the other workers' consoles.
        self.relay: Callable[[dict[str, Any]], None] | None = None

    def publish(self, call_id: str, kind: str, data: Any) -> None:
        """Never blocks and never raises: it runs on the call's own path."""
        item = {"call_id": call_id, "kind": kind, "at": time.time(), "data": data}
        self.deliver(item)
        if self.relay is not None:
            self.relay(item)

    def deliver(self, item: dict[str, Any]) -> None:
        """Hand an item to this process's subscribers (a relayed one arrives here too)."""
        call_id, kind, data = item.get("call_id"), item.get("kind"), item.get("data")
        if not isinstance(call_id, str):
            return
        if kind == "meta" and isinstance(data, dict):
            self.live.setdefault(call_id, {}).update(
                {k: v for k, v in data.items() if v is not None})
        elif kind == "closed":
            self.live.pop(call_id, None)
        for queue, only in list(self._subscribers.items()):
            if only is not None and only != call_id:
                continue
            if queue.qsize() >= SUBSCRIBER_QUEUE - 1:
                self._subscribers.pop(queue, None)
                queue.put_nowait(LAGGED)
                continue
            queue.put_nowait(item)

    @contextlib.contextmanager
    def subscribe(self, call_id: str | None = None) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of feed items (of one call, or of all); LAGGED ends it."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subscribers[queue] = call_id
        try:
            yield queue
        finally:
            self._subscribers.pop(queue, None)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)


class FeedingStore:
    """The call store, publishing each successful write to a feed. Reads pass through."""

    _OWN = frozenset({"_store", "feed"})

    def __init__(self, store: Any, feed: CallFeed) -> None:
        object.__setattr__(self, "_store", store)
        object.__setattr__(self, "feed", feed)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def __setattr__(self, name: str, value: Any) -> None:
        # A setting meant for the store (e.g. its worker id) must reach the store, not
        # stop at the wrapper where no store method would ever read it.
        if name in self._OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(self._store, name, value)

    async def open_call(self, call_id: str, meta: dict[str, Any]) -> None:
        await self._store.open_call(call_id, meta)
        self.feed.publish(call_id, "meta", meta)

    async def add_event(self, call_id: str, kind: str, data: dict[str, Any]) -> None:
        await self._store.add_event(call_id, kind, data)
        self.feed.publish(call_id, "event", {"kind": kind, "data": data})

    async def add_turn(self, call_id: str, turn: TurnRecord) -> None:
        await self._store.add_turn(call_id, turn)
        self.feed.publish(call_id, "turn", turn.as_dict())

    async def close_call(self, call_id: str, reason: str) -> None:
        await self._store.close_call(call_id, reason)
        self.feed.publish(call_id, "closed", {"reason": reason})
