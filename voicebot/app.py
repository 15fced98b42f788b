"""The ASGI app: the media WebSocket, webhooks, call records, health and metrics."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.websockets import WebSocketDisconnect, WebSocketState

from voicebot.audio.frame import AudioFrame
from voicebot.call.cluster import ClusterRegistry
from voicebot.call.flow_catalog import FlowCatalog
from voicebot.call.outbox import Outbox
from voicebot.call.recording import sweep_forever
from voicebot.call.registry import CallRegistry
from voicebot.call.services import Services
from voicebot.call.session import CallSession
from voicebot.config import Config
from voicebot.logs import call_id_var
from voicebot.store.feed import FeedingStore
from voicebot.store.records import CallStore
from voicebot.telephony.control import clean_id
from voicebot.telephony.inbound import InboundDecoder, UnsupportedMedia
from voicebot.telephony.ringover_api import RingoverClient
from voicebot.web.calls_routes import make_calls_router
from voicebot.web.console_routes import console_router
from voicebot.web.debug_routes import make_debug_router
from voicebot.web.health_routes import make_health_router
from voicebot.web.webhooks_routes import make_webhook_router

log = logging.getLogger(__name__)

# Query-string keys a media server may use to tell us about the call (docs/protocol.md).
CALL_KEYS = ("call_id", "from", "to", "from_number", "to_number", "direction", "flow")


def create_app(config: Config, services: Services | None = None) -> FastAPI:
    services = services or Services.build(config)
    _open_records(services)
    services.flows = FlowCatalog(services.engine, config.resolve(config.flow))
    app = FastAPI(title="voicebot")
    webhooks = make_webhook_router(
        services.calls, services.store, config.webhooks.key,
        allow_unsigned=config.webhooks.allow_unsigned,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        await services.calls.start()  # in a cluster: join the directory before any call
        await services.load()
        log.info("voicebot ready: flow %s", config.flow)
        sweeper = None
        if config.recording.enabled:
            sweeper = asyncio.create_task(sweep_forever(
                config.resolve(config.recording.path), config.recording.retention_days),
                name="recording-sweeper")
        yield
        if sweeper is not None:
            sweeper.cancel()
        await webhooks.processor.aclose()
        await services.calls.aclose()
        await services.store.aclose()
        if services.ringover is not None:
            await services.ringover.aclose()
        services.close()

    app.router.lifespan_context = lifespan
    app.state.services = services
    app.include_router(webhooks)
    app.include_router(make_calls_router(services.store, config.records.token))
    if config.console.enabled:
        app.include_router(console_router(services))
    app.include_router(make_debug_router(config.records.token))
    app.include_router(make_health_router(services))

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        body = services.health()
        return JSONResponse(body, status_code=200 if body["ready"] else 503)

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(services.metrics.render(), media_type="text/plain; version=0.0.4")

    @app.websocket(config.server.media_path)
    async def media(ws: WebSocket) -> None:
        await _media(ws, services)

    return app


def _authorised(ws: WebSocket, token: str | None) -> bool:
    if token is None:
        return True
    given = ws.query_params.get("token") or ""
    auth = ws.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        given = auth[7:]
    return hmac.compare_digest(given.encode(), token.encode())


async def _media(ws: WebSocket, services: Services) -> None:
    cfg = services.config
    metrics = services.metrics
    if services.draining:
        metrics.inc("voicebot_errors_total", kind="refused_draining")
        # Accept, then close with 1013 ("try again later"): a refused handshake would be
        # a 403, which a media server reads as an authentication failure.
        await ws.accept()
        await ws.close(code=1013, reason="draining")
        return
    if not _authorised(ws, cfg.server.media_token):
        metrics.inc("voicebot_errors_total", kind="media_unauthorised")
        await ws.close(code=1008, reason="unauthorised")  # before accept: HTTP 403
        return
    await ws.accept()
    q = ws.query_params
    try:
        decoder = InboundDecoder(
            default_encoding=q.get("encoding", cfg.inbound.default_encoding),
            default_rate=q.get("sample_rate", cfg.inbound.default_sample_rate),
            dtmf_payload_type=cfg.inbound.dtmf_payload_type,
            max_frame_bytes=cfg.inbound.max_frame_bytes,
        )
    except UnsupportedMedia as exc:  # 1003: "unsupported data", with the accepted list
        metrics.inc("voicebot_calls_refused_total", reason="unsupported_media")
        await ws.close(code=1003, reason=str(exc)[:120])
        return
    outbox = Outbox(ws.send_text)
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
                drops.sync(decoder)
            data, text = message.get("bytes"), message.get("text")
            size = len(data) if data is not None else len(text or "")
            metrics.inc("voicebot_frames_in_total")
            if size > cfg.inbound.max_frame_bytes:
                metrics.inc("voicebot_frames_dropped_total", reason="oversized")
                continue
            if not bucket.take():
                metrics.inc("voicebot_frames_dropped_total", reason="rate")
                continue
            items: list[Any] = []
            if data is not None:
                items = decoder.feed_binary(data)
            elif text is not None:
                control = decoder.feed_text(text)
                if decoder.refused:
                    metrics.inc("voicebot_calls_refused_total", reason="unsupported_media")
                    reason, close_code = "unsupported_media", 1003
                    break
                kind = type(control).__name__
                if kind == "StartMessage":
                    call.update(_start_fields(control))
                elif kind == "StopMessage":
                    reason = "stop"
                    break
                elif kind == "DtmfMessage":
                    items = [control]
            if session is None and (items or data is None):
                call["call_id"] = str(call.get("call_id") or uuid.uuid4())
                call_id_var.set(call["call_id"])  # every log line of this call carries it
                session = await _start_session(services, call, outbox)
                waiter = asyncio.create_task(
                    _hang_up_when_asked(ws, session, outbox, cfg.inbound.max_call_s)
                )
            if session is None:
                continue
            _route(session, items)
    except WebSocketDisconnect:
        pass
    finally:
        if session is not None and not session.ended:
            # The jitter buffer's tail and a key press whose end packet never came.
            _route(session, decoder.finish())
        drops.sync(decoder)
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
                detail = decoder.refused if close_code == 1003 else reason
                await ws.close(code=close_code, reason=(detail or reason)[:120])
            except Exception:  # the peer may be gone already
                log.debug("close after %s failed", reason)


def _route(session: CallSession, items: list[Any]) -> None:
    for item in items:
        if isinstance(item, AudioFrame):
            session.on_audio(item)
        else:  # DtmfDigit from RTP, or a JSON DtmfMessage
            for digit in getattr(item, "digit", "") or getattr(item, "digits", ""):
                session.on_dtmf(digit)


# The decoder's drop counters reach /metrics this often (in frames: once a second).
DROP_SYNC_EVERY = 50


class _DropCounter:
    """Publishes the decoder's per-reason drop counters as they grow, not only at hang-up."""

    def __init__(self, metrics: Any) -> None:
        self.metrics = metrics
        self.seen: dict[str, int] = {}

    def sync(self, decoder: InboundDecoder) -> None:
        for name, count in decoder.counters.items():
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


def _start_fields(control: Any) -> dict[str, Any]:
    fields = {
        "call_id": getattr(control, "call_id", None),
        "from_number": getattr(control, "from_number", None),
        "to_number": getattr(control, "to_number", None),
    }
    return {k: v for k, v in fields.items() if v}


async def _start_session(services: Services, call: dict[str, Any], outbox: Outbox) -> CallSession:
    call_id = call["call_id"]  # set by the media handler (start message, query or a uuid)
    call.setdefault("from_number", call.pop("from", None))
    call.setdefault("to_number", call.pop("to", None))
    pending: list[tuple[str, dict[str, Any]]] = []
    if services.calls is not None:
        await services.calls.claim(call_id)  # in a cluster: this worker now holds the call
        call.update({k: v for k, v in services.calls.call_data(call_id).items() if v})
    if services.ringover is not None and call.get("from_number"):
        try:
            call.update(await asyncio.wait_for(
                services.ringover.caller_context(call["from_number"]), 1.0))
        except Exception as exc:  # context is a nicety; the call goes on without it
            log.info("caller context unavailable: %r", exc)
    session = CallSession(services, call_id, call, outbox)
    chosen = services.flows.engine(call.get("flow")) if services.flows is not None else None
    if chosen is not None:
        session.engine = chosen
    elif call.get("flow"):
        log.info("no flow %r beside the served one; serving the served flow", call["flow"])
    session.call["flow"] = session.engine.flow.name  # the record says which flow ran
    if services.calls is not None:
        pending = services.calls.attach(call_id, session)
    await session.start()
    for name, data in pending:
        await session.on_webhook(name, data)
    return session


async def _hang_up_when_asked(ws: WebSocket, session: CallSession, outbox: Outbox,
                              max_call_s: float) -> None:
    try:
        await asyncio.wait_for(session.end_requested.wait(), max_call_s)
    except TimeoutError:
        session.log.warning("call reached max_call_s=%s; hanging up", max_call_s)
        session.end_reason = "max_call_length"
        session.hangup_requested = True
    if not session.hangup_requested:
        return  # a transfer: the media server takes the call from here
    await outbox.close(drain_timeout=2.0)
    if ws.client_state == WebSocketState.CONNECTED:
        await ws.close(code=1000, reason="hangup")


def _open_records(services: Services) -> None:
    cfg = services.config
    target: str | Path = cfg.store.url or cfg.store.path
    if target == cfg.store.path and target != ":memory:":
        target = cfg.resolve(cfg.store.path)
        target.parent.mkdir(parents=True, exist_ok=True)
    # Every record write also goes to the live feed (the console's live view).
    services.store = FeedingStore(CallStore(target), services.feed)
    cluster = cfg.cluster
    services.calls = CallRegistry(services.store) if cluster.redis_url is None else ClusterRegistry(
        services.store, cluster.redis_url, worker_id=cluster.worker_id,
        key_prefix=cluster.key_prefix, heartbeat_s=cluster.heartbeat_s,
        worker_ttl_s=cluster.worker_ttl_s, sweep_s=cluster.sweep_s, metrics=services.metrics)
    if cfg.ringover.api_key:
        services.ringover = RingoverClient(cfg.ringover.api_key, region=cfg.ringover.region)
