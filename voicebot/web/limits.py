"""Connection limits: what an unauthenticated peer can hold open, and for how long.

Issue 12: 20,200 silent TCP connections filled the process's 20,000 file descriptors;
health checks and a real call's handshake failed for the whole hold, and 50 slow-loris
handshakes were still open after 90 s. Two layers close that:

- `ConnectionGuard`, below the HTTP parser (a uvicorn h11 protocol subclass): at most
  `max_connections` TCP connections. A connection that has not sent a complete request
  head within `handshake_timeout_s` is closed (408); when the cap is reached, the oldest
  connection still in its handshake with nothing sent is dropped to make room, so a
  flood of silent sockets cannot lock out a media server that sends its request at once.
  Only when no such connection is left is the new one refused (503).
- `CallLimits`, an ASGI middleware: at most `max_calls` media WebSockets (beyond: accepted
  and closed with 1013 "try again later", as when draining), and a media WebSocket that
  sends nothing for `idle_timeout_s` is closed (1008). A live call sends 50 frames a second.

Every refusal is counted: `voicebot_connections_closed_total{reason}` and
`voicebot_calls_refused_total{reason}`.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

# File descriptors kept for what is not a client connection: the store, models, logs,
# the executor's pipes, outbound HTTP (Ringover API, Redis, PostgreSQL).
FD_RESERVE = 256

SWEEP_S = 0.5  # how often handshake deadlines are checked
EVICTION_SCAN = 256  # pending connections peeked at most, per connection over the cap

_408 = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_503 = (b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n"
        b"Content-Length: 0\r\n\r\n")


@dataclass(frozen=True)
class Limits:
    max_connections: int = 1000
    max_calls: int = 200
    handshake_timeout_s: float = 10.0
    idle_timeout_s: float = 15.0

    @classmethod
    def from_config(cls, server: Any) -> Limits:
        """From config.yaml's `server` section (voicebot.config.ServerConfig)."""
        return cls(server.max_connections, server.max_calls, server.handshake_timeout_s,
                   server.idle_timeout_s)


def effective_max_connections(wanted: int) -> int:
    """`wanted`, lowered to fit under the process's file descriptor limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    room = max(16, soft - FD_RESERVE)
    if wanted > room:
        log.warning("server.max_connections=%d lowered to %d: ulimit -n is %d", wanted, room, soft)
    return min(wanted, room)


def _has_data(transport: asyncio.Transport) -> bool:
    """Bytes are waiting in the socket (peeked, not read), or it cannot be told."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return True
    raw = socket.socket(fileno=sock.fileno())  # a view of the same fd, detached after
    try:
        return bool(raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except BlockingIOError:
        return False
    except OSError:
        return False  # reset or gone: nothing worth keeping
    finally:
        raw.detach()


class ConnectionGuard:
    """Shared by every connection of one server: counts, evicts, times out handshakes."""

    def __init__(self, limits: Limits, metrics: Any) -> None:
        self.limits = limits
        self.max_connections = effective_max_connections(limits.max_connections)
        self.metrics = metrics
        self.open = 0
        # Connections still in their handshake -> their deadline, oldest first (dicts keep
        # insertion order, and every deadline is the same time-out after its connect).
        self._pending: dict[GuardedH11Protocol, float] = {}
        self._sweeper: asyncio.TimerHandle | None = None

    def protocol(self) -> type[GuardedH11Protocol]:
        """The protocol class to give uvicorn (`http=`), bound to this guard."""
        return type("GuardedH11Protocol", (GuardedH11Protocol,), {"guard": self})

    def _closed(self, reason: str) -> None:
        self.metrics.inc("voicebot_connections_closed_total", reason=reason)

    def opened(self, conn: GuardedH11Protocol) -> bool:
        """A new connection; False if it was refused (and closed)."""
        if self.open >= self.max_connections:
            victim = self._silent_pending()
            if victim is not None:
                self.lost(victim)  # counted out now: its connection_lost comes later
                victim.transport.abort()  # it has said nothing: nothing to answer
                self._closed("evicted")
            else:
                conn.transport.write(_503)
                conn.transport.close()
                self._closed("max_connections")
                return False
        self.open += 1
        conn.counted = True
        loop = asyncio.get_running_loop()
        self._pending[conn] = loop.time() + self.limits.handshake_timeout_s
        if self._sweeper is None:
            self._sweeper = loop.call_later(SWEEP_S, self._sweep)
        return True

    def _silent_pending(self) -> GuardedH11Protocol | None:
        """The oldest connection in its handshake with no byte waiting to be read.

        Under a flood the event loop reads late: a media server's request head may be in
        its socket buffer, unread, behind a thousand newer silent sockets. Peeking tells
        the two apart, so the flood evicts itself, not the call."""
        for scanned, conn in enumerate(self._pending):
            if scanned >= EVICTION_SCAN:
                break
            if not _has_data(conn.transport):
                return conn
        return None

    def _sweep(self) -> None:
        # One timer for all handshakes, not one per connection: a flood costs less.
        loop = asyncio.get_running_loop()
        now = loop.time()
        expired = []
        for conn, deadline in self._pending.items():
            if deadline > now:
                break
            expired.append(conn)
        for conn in expired:
            del self._pending[conn]
            conn.transport.write(_408)
            conn.transport.close()
            self._closed("handshake_timeout")
        self._sweeper = loop.call_later(SWEEP_S, self._sweep) if self._pending else None

    def handshaken(self, conn: GuardedH11Protocol) -> None:
        self._pending.pop(conn, None)

    def lost(self, conn: GuardedH11Protocol) -> None:
        self._pending.pop(conn, None)
        if conn.counted:
            conn.counted = False
            self.open -= 1


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, reporting to a ConnectionGuard.

    The HTTP machinery (an h11 parser, flow control, the peer's addresses) is only built
    when the first byte arrives: a connection of a silent flood costs the guard's book-
    keeping and nothing more. A WebSocket upgrade hands the transport to another
    protocol, which never calls our connection_lost: the guard learns of the end from
    the transport itself (see `_watch`)."""

    guard: ConnectionGuard
    counted = False
    _http = False  # the h11 side is built (first byte received)

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._args = (config, server_state, app_state, _loop)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.transport = transport
        self.guard.opened(self)

    def data_received(self, data: bytes) -> None:
        if not self._http:
            self._http = True
            transport = self.transport  # H11Protocol.__init__ resets it
            super().__init__(*self._args)
            super().connection_made(transport)
        super().data_received(data)
        if self.scope is not None:  # a complete request head (or an upgrade) came in
            self.guard.handshaken(self)
            if self.transport.get_protocol() is not self:
                self._watch()

    def _watch(self) -> None:
        # Upgraded: the WebSocket protocol owns the transport now. Wrap its
        # connection_lost so the guard's count goes down when the socket closes.
        ws = self.transport.get_protocol()
        inner = ws.connection_lost
        guard, conn = self.guard, self

        def connection_lost(exc: Exception | None) -> None:
            guard.lost(conn)
            inner(exc)

        ws.connection_lost = connection_lost  # type: ignore[method-assign]

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.lost(self)
        if self._http:
            super().connection_lost(exc)

    def eof_received(self) -> None:
        if self._http:
            super().eof_received()

    def pause_writing(self) -> None:
        if self._http:
            super().pause_writing()

    def resume_writing(self) -> None:
        if self._http:
            super().resume_writing()


class CallLimits:
    """ASGI middleware: caps concurrent media WebSockets and closes silent ones."""

    def __init__(self, app: Any, *, media_path: str, limits: Limits, metrics: Any) -> None:
        self.app = app
        self.media_path = media_path
        self.limits = limits
        self.metrics = metrics
        self.active = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = str(scope.get("path", ""))
        # Every media protocol's path counts: /media and /media/<protocol> (app.py).
        is_media = path == self.media_path or path.startswith(self.media_path.rstrip("/") + "/")
        if scope["type"] != "websocket" or not is_media:
            await self.app(scope, receive, send)
            return
        if self.active >= self.limits.max_calls:
            self.metrics.inc("voicebot_calls_refused_total", reason="max_calls")
            await receive()  # websocket.connect
            # Accept, then 1013 "try again later": a refused handshake (403) would read
            # as bad credentials to a media server.
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 1013,
                        "reason": f"busy: {self.limits.max_calls} calls"})
            return
        self.active += 1
        try:
            await self.app(scope, self._idle_limited(receive, send), send)
        finally:
            self.active -= 1

    def _idle_limited(self, receive: Any, send: Any) -> Any:
        timeout = self.limits.idle_timeout_s

        async def receive_or_idle() -> dict[str, Any]:
            try:
                return await asyncio.wait_for(receive(), timeout)
            except TimeoutError:
                self.metrics.inc("voicebot_connections_closed_total", reason="idle")
                try:
                    await send({"type": "websocket.close", "code": 1008,
                                "reason": f"idle: no frame for {timeout:g} s"})
                except Exception:  # not accepted yet, or already gone
                    pass
                return {"type": "websocket.disconnect", "code": 1008}

        return receive_or_idle
