"""The media WebSocket: one handler for every protocol. It refuses what it must (draining,
a wrong token, media it cannot decode, a flood of frames), decodes each message with the
call's protocol, starts the call's session on the first audio, key or start message, and
routes what follows to it until a stop, a hang-up or the peer goes.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from voicebot.audio.frame import AudioFrame
from voicebot.call.outbox import Outbox
from voicebot.call.services import Services
from voicebot.call.session import CallSession
from voicebot.config import Config
from voicebot.logs import call_id_var
from voicebot.telephony import media as md
from voicebot.telephony.control import clean_id
from voicebot.telephony.protocols import MediaParams, make_protocol
from voicebot.telephony.rates import UnsupportedMedia
from voicebot.web.media_session import hang_up_when_asked, start_session

log = logging.getLogger(__name__)

# Query-string keys a media server may use to tell us about the call (docs/protocol.md).
CALL_KEYS = ("call_id", "from", "to", "from_number", "to_number", "direction", "flow")


def media_route(services: Services, protocol: str) -> Any:
    async def media(ws: WebSocket) -> None:
        await serve_media(ws, services, protocol)

    return media


def _media_params(cfg: Config) -> MediaParams:
    return MediaParams(
        default_encoding=cfg.inbound.default_encoding,
        default_sample_rate=cfg.inbound.default_sample_rate,
        dtmf_payload_type=cfg.inbound.dtmf_payload_type,
        max_frame_bytes=cfg.inbound.max_frame_bytes,
        output_rate=cfg.speak.sample_rate,
        audio_data_type=cfg.speak.audio_data_type,
    )


async def _send_wire(ws: WebSocket, message: md.WireMessage) -> None:
    if isinstance(message, bytes):
        await ws.send_bytes(message)
    else:
        await ws.send_text(message)


def _authorised(ws: WebSocket, token: str | None) -> bool:
    if token is None:
        return True
    given = ws.query_params.get("token") or ""
    auth = ws.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        given = auth[7:]
    return hmac.compare_digest(given.encode(), token.encode())


async def serve_media(ws: WebSocket, services: Services, protocol_name: str) -> None:
    cfg = services.config
    metrics = services.metrics
    if services.draining:
        metrics.inc("voicebot_errors_total", kind="refused_draining")
        # Accept, then close with 1013 ("try again later"): a refused handshake would be
        # a 403, which a media server reads as an authentication failure.
        await ws.accept()
        await ws.close(code=1013, reason="draining")
        return
    q = ws.query_params
    try:
        protocol: md.MediaProtocol | None = make_protocol(protocol_name, _media_params(cfg), q)
        unsupported = ""
    except UnsupportedMedia as exc:  # e.g. ?sample_rate=1: refused after the handshake
        protocol, unsupported = None, str(exc)
    # The token that a start message must still show (platforms without URL or headers).
    token_due: str | None = None
    if not _authorised(ws, cfg.server.media_token):
        if protocol is None or not protocol.token_in_start:
            metrics.inc("voicebot_errors_total", kind="media_unauthorised")
            await ws.close(code=1008, reason="unauthorised")  # before accept: HTTP 403
            return
        token_due = cfg.server.media_token
    await ws.accept()
    if protocol is None:  # 1003: "unsupported data", with the accepted list
        metrics.inc("voicebot_calls_refused_total", reason="unsupported_media")
        await ws.close(code=1003, reason=unsupported[:120])
        return
    outbox = Outbox(lambda message: _send_wire(ws, message), protocol)
    outbox.start()
    call: dict[str, Any] = {k: clean_id(q[k]) for k in CALL_KEYS if k in q}
    # Provisional until a start message names the call; logs carry it from the first frame.
    call_id_var.set(call.get("call_id") or "pending")
    session: CallSession | None = None
    reason = "disconnect"
    close_code = 1000
    waiter: asyncio.Task[None] | None = None
    bucket = _TokenBucket(cfg.inbound.max_messages_per_s, burst_s=2.0)
    drops = _DropCounter(metrics)
    received = 0
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            received += 1
            if received % DROP_SYNC_EVERY == 0:
                drops.sync(protocol)
            data, text = message.get("bytes"), message.get("text")
            size = len(data) if data is not None else len(text or "")
            metrics.inc("voicebot_frames_in_total")
            if size > cfg.inbound.max_frame_bytes:
                metrics.inc("voicebot_frames_dropped_total", reason="oversized")
                continue
            if not bucket.take():
                metrics.inc("voicebot_frames_dropped_total", reason="rate")
                continue
            wire: md.WireMessage | None = data if data is not None else text
            if wire is None:
                continue
            events = protocol.decode(wire)
            if protocol.refused:
                metrics.inc("voicebot_calls_refused_total", reason="unsupported_media")
                reason, close_code = "unsupported_media", 1003
                break
            stop = next((e for e in events if isinstance(e, md.CallStop)), None)
            for event in events:
                if isinstance(event, md.CallStart):
                    if token_due is not None and _token_shown(event, token_due):
                        token_due = None
                    call.update(_start_fields(event))
            if token_due is not None and (stop is not None or any(
                    isinstance(e, md.CallStart) for e in events)):
                metrics.inc("voicebot_errors_total", kind="media_unauthorised")
                reason, close_code = "unauthorised", 1008
                break
            if stop is not None:
                reason = "stop"
                break
            if token_due is not None:
                continue  # nothing counts before the start message shows the token
            if session is None and any(_starts_call(e) for e in events):
                call["call_id"] = str(call.get("call_id") or uuid.uuid4())
                call_id_var.set(call["call_id"])  # every log line of this call carries it
                session = await start_session(services, call, outbox)
                waiter = asyncio.create_task(
                    hang_up_when_asked(ws, session, outbox, cfg.inbound.max_call_s)
                )
            if session is None:
                continue
            _route(session, events)
    except WebSocketDisconnect:
        pass
    finally:
        if session is not None and not session.ended:
            # The jitter buffer's tail and a key press whose end packet never came.
            _route(session, protocol.finish())
        drops.sync(protocol)
        if waiter is not None:
            waiter.cancel()
        if session is not None:
            if session.end_reason:
                reason = session.end_reason
            await session.close(reason)
            if services.calls is not None:
                services.calls.detach(session.call_id)
        await outbox.close(drain_timeout=0.5)
        # Every way out of a call ends with a clean close (1000, or 1003 for media we
        # cannot decode), not a dropped connection.
        if (ws.application_state == WebSocketState.CONNECTED
                and ws.client_state == WebSocketState.CONNECTED):
            try:
                detail = protocol.refused if close_code == 1003 else reason
                await ws.close(code=close_code, reason=(detail or reason)[:120])
            except Exception:  # the peer may be gone already
                log.debug("close after %s failed", reason)


def _token_shown(start: md.CallStart, token: str) -> bool:
    return hmac.compare_digest(start.extra.get("token", "").encode(), token.encode())


def _starts_call(event: md.MediaEvent) -> bool:
    return isinstance(event, AudioFrame | md.KeyPress | md.CallStart)


def _route(session: CallSession, events: list[md.MediaEvent]) -> None:
    for event in events:
        if isinstance(event, AudioFrame):
            session.on_audio(event)
        elif isinstance(event, md.KeyPress):
            session.on_dtmf(event.digit)
        elif isinstance(event, md.PlayedOut):
            session.on_played(event.name)


# The decoder's drop counters reach /metrics this often (in frames: once a second).
DROP_SYNC_EVERY = 50


class _DropCounter:
    """Publishes the decoder's per-reason drop counters as they grow, not only at hang-up."""

    def __init__(self, metrics: Any) -> None:
        self.metrics = metrics
        self.seen: dict[str, int] = {}

    def sync(self, protocol: md.MediaProtocol) -> None:
        for name, count in protocol.counters.items():
            if name.startswith("frames_dropped_") and count > self.seen.get(name, 0):
                self.metrics.inc("voicebot_frames_dropped_total", count - self.seen.get(name, 0),
                                 reason=name.removeprefix("frames_dropped_"))
                self.seen[name] = count


class _TokenBucket:
    """Frames per second a media server may send; a flood is dropped, not queued."""

    def __init__(self, rate: float, burst_s: float) -> None:
        self.rate, self.capacity = rate, rate * burst_s
        self.tokens, self.at = self.capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _start_fields(start: md.CallStart) -> dict[str, Any]:
    fields = {"call_id": start.call_id, "from_number": start.from_number,
              "to_number": start.to_number}
    # Every protocol's ids come from the wire: made safe to log, store and show.
    return {k: clean_id(v) for k, v in fields.items() if v}
