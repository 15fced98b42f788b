"""The live feed across workers: each worker publishes its calls' feed items to one Redis
channel and hands the other workers' items to its own consoles.

Without it a console sees live only the calls of the worker it is connected to. Items
keep their order per worker (one connection publishes them in turn); a worker skips its
own items coming back. A Redis outage costs live updates, never a call: items that cannot
be sent are dropped (counted), the subscriber reconnects, and the store has everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from voicebot.store.feed import CallFeed

log = logging.getLogger(__name__)

PENDING = 1000  # items waiting to be published; beyond, they are dropped
RETRY_S = 1.0


class FeedRelay:
    def __init__(self, url: str, channel: str, feed: CallFeed, origin: str) -> None:
        self.url, self.channel, self.feed, self.origin = url, channel, feed, origin
        self.dropped = 0
        self.relayed_in = 0
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(PENDING)
        self._tasks: list[asyncio.Task[None]] = []
        self._client: aioredis.Redis | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        self._client = aioredis.from_url(self.url)
        self.feed.relay = self.send
        self._tasks = [asyncio.create_task(self._send_loop(), name="feed-relay-out"),
                       asyncio.create_task(self._read_loop(), name="feed-relay-in")]
        with contextlib.suppress(TimeoutError):  # Redis down: start anyway, retry behind
            await asyncio.wait_for(self._subscribed.wait(), 2.0)

    def send(self, item: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _send_loop(self) -> None:
        assert self._client is not None
        while True:
            item = await self._queue.get()
            try:
                body = json.dumps({"origin": self.origin, **item}, default=str)
                await self._client.publish(self.channel, body)
            except RedisError as exc:
                self.dropped += 1
                log.debug("feed relay: publish failed: %s", exc)

    async def _read_loop(self) -> None:
        assert self._client is not None
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    self._deliver(message["data"])
            except RedisError as exc:
                log.info("feed relay: subscription lost (%s); retrying", exc)
            finally:
                with contextlib.suppress(RedisError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis: untyped
            await asyncio.sleep(RETRY_S)

    def _deliver(self, raw: bytes) -> None:
        try:
            item = json.loads(raw)
        except ValueError:
            return
        if not isinstance(item, dict) or item.pop("origin", None) == self.origin:
            return
        self.relayed_in += 1
        self.feed.deliver(item)

    async def aclose(self) -> None:
        self.feed.relay = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()
