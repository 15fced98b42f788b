"""What the console and recording keep running beside the calls: the recordings' retention
sweep, and (with several workers) the relay that brings other workers' live calls."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from voicebot.call.cluster import default_worker_id
from voicebot.call.recording import sweep_forever
from voicebot.call.services import Services
from voicebot.store.feed_relay import FeedRelay


@contextlib.asynccontextmanager
async def console_background(services: Services) -> AsyncIterator[None]:
    cfg = services.config
    sweeper: asyncio.Task[None] | None = None
    relay: FeedRelay | None = None
    if cfg.recording.enabled:
        sweeper = asyncio.create_task(sweep_forever(
            cfg.resolve(cfg.recording.path), cfg.recording.retention_days),
            name="recording-sweeper")
    if cfg.console.enabled and cfg.cluster.redis_url is not None:
        origin = getattr(services.calls, "worker", None) or default_worker_id()
        relay = FeedRelay(cfg.cluster.redis_url, cfg.cluster.key_prefix + "console-feed",
                          services.feed, origin)
        await relay.start()
    try:
        yield
    finally:
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        if relay is not None:
            await relay.aclose()
