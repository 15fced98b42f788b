"""The ASGI app: the media WebSocket (web/media_socket.py), webhooks, call records, health
and metrics, and the records and call registry they share, opened here."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse, PlainTextResponse

from voicebot.call.cluster import ClusterRegistry
from voicebot.call.flow_catalog import FlowCatalog
from voicebot.call.registry import CallRegistry
from voicebot.call.services import Services
from voicebot.config import Config
from voicebot.store.feed import FeedingStore
from voicebot.store.resilient import ResilientStore, open_store
from voicebot.telephony.protocols import PROTOCOLS
from voicebot.telephony.ringover_api import RingoverClient
from voicebot.web.calls_routes import make_calls_router
from voicebot.web.console_background import console_background
from voicebot.web.console_routes import console_router
from voicebot.web.debug_routes import make_debug_router
from voicebot.web.health_routes import make_health_router
from voicebot.web.limits import CallLimits, Limits
from voicebot.web.media_socket import media_route, serve_media
from voicebot.web.twilio_routes import make_twilio_router
from voicebot.web.webhooks_routes import make_webhook_router

log = logging.getLogger(__name__)

def create_app(config: Config, services: Services | None = None) -> FastAPI:
    services = services or Services.build(config)
    store, calls = _open_records(services)
    flows = services.flows = FlowCatalog(services.engine, config.resolve(config.flow))
    app = FastAPI(title="voicebot")
    webhooks = make_webhook_router(
        calls, store, config.webhooks.key,
        allow_unsigned=config.webhooks.allow_unsigned,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        await calls.start()  # in a cluster: join the directory before any call
        await services.load()
        # The flows a call may name (flow=...), loaded now rather than on a caller's time.
        await asyncio.to_thread(flows.names)
        log.info("voicebot ready: flow %s", config.flow)
        async with console_background(services):  # recordings' retention, live relay
            yield
        await webhooks.processor.aclose()
        await calls.aclose()
        await store.aclose()
        if services.ringover is not None:
            await services.ringover.aclose()
        services.close()

    app.router.lifespan_context = lifespan
    app.add_middleware(CallLimits, media_path=config.server.media_path,
                       limits=Limits.from_config(config.server), metrics=services.metrics)
    app.state.services = services
    app.include_router(webhooks)
    app.include_router(make_calls_router(store, config.records.token))
    if config.console.enabled:
        app.include_router(console_router(services))
    app.include_router(make_debug_router(config.records.token))
    app.include_router(make_health_router(services))
    app.include_router(make_twilio_router(
        services.store, config.server.media_path, config.twilio.auth_token,
        config.twilio.public_url, config.server.media_token,
    ))

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        body = services.health()
        return JSONResponse(body, status_code=200 if body["ready"] else 503)

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(services.metrics.render(), media_type="text/plain; version=0.0.4")

    # The configured protocol at the media path, and each protocol at its own path
    # below it (/media/twilio, /media/audio-stream, /media/ringover).
    @app.websocket(config.server.media_path)
    async def media(ws: WebSocket) -> None:
        await serve_media(ws, services, config.server.media_protocol)

    for name in PROTOCOLS:
        app.add_api_websocket_route(
            config.server.media_path.rstrip("/") + "/" + name, media_route(services, name)
        )

    return app


def _open_records(services: Services) -> tuple[FeedingStore, CallRegistry]:
    cfg = services.config
    target: str | Path = cfg.store.url or cfg.store.path
    if target == cfg.store.path and target != ":memory:":
        target = cfg.resolve(cfg.store.path)
        target.parent.mkdir(parents=True, exist_ok=True)
    # Every record write also goes to the live feed (the console's live view).
    # Resilient: a write that fails is kept in memory and retried (store/resilient.py).
    records = open_store(target)
    store = FeedingStore(ResilientStore(records, services.metrics), services.feed)
    services.store = store
    cluster = cfg.cluster
    calls: CallRegistry
    if cluster.redis_url is None:
        calls = services.calls = CallRegistry(store)
    else:
        calls = services.calls = ClusterRegistry(
            store, cluster.redis_url, worker_id=cluster.worker_id,
            key_prefix=cluster.key_prefix, heartbeat_s=cluster.heartbeat_s,
            worker_ttl_s=cluster.worker_ttl_s, sweep_s=cluster.sweep_s,
            metrics=services.metrics)
        # Deliveries this worker acknowledges carry its name, for the others to finish
        # (set on the records themselves: the wrappers forward reads, not settings).
        records.worker = calls.worker
    if cfg.ringover.api_key:
        services.ringover = RingoverClient(cfg.ringover.api_key, region=cfg.ringover.region)
    return store, calls
