"""Run the app under uvicorn, draining calls on SIGTERM.

uvicorn's own shutdown fails every open WebSocket at once (close 1012); for a phone bot
that is hanging up on callers mid-sentence. So the first SIGTERM (or Ctrl-C) only starts
draining: new media connections are refused, /healthz says 503 so a load balancer moves
on, and active calls may finish for up to `shutdown_grace_s`. Then uvicorn stops, and
any call still open is closed (its record closed with reason "shutdown"). A second
signal stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import FrameType

import uvicorn
from fastapi import FastAPI

from voicebot.call.services import Services
from voicebot.web.limits import ConnectionGuard, Limits

log = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, services: Services, grace_s: float) -> None:
        super().__init__(config)
        self.services = services
        self.grace_s = grace_s
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets=None) -> None:  # type: ignore[no-untyped-def]
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.services.draining or self._loop is None:
            self.services.stopping = True
            super().handle_exit(sig, frame)
            return
        self.services.draining = True
        log.info("draining: refusing new calls; %d active", self.services.active_calls)
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(lambda: loop.create_task(self._drain(sig)))

    async def _drain(self, sig: int) -> None:
        deadline = time.monotonic() + self.grace_s
        while self.services.active_calls > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if self.services.active_calls:
            log.warning("drain deadline: closing %d active calls", self.services.active_calls)
        else:
            log.info("drained: no active calls")
        self.services.stopping = True
        super().handle_exit(sig, None)


def serve(app: FastAPI, services: Services, host: str, port: int, log_level: str) -> None:
    guard = ConnectionGuard(Limits.from_config(services.config.server), services.metrics)
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, ws_max_size=2**20,
        timeout_graceful_shutdown=5,
        # uvicorn's own logging config would give its loggers handlers of their own; with
        # none, their lines (the access log with its ?token=) go through ours: escaped,
        # redacted, and rate-limited (voicebot/logs.py).
        log_config=None,
        # At most max_connections sockets, handshakes timed out: see voicebot/web/limits.py.
        http=guard.protocol(),
    )
    DrainingServer(config, services, services.config.server.shutdown_grace_s).run()
