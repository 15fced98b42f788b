"""/console and /console/phone: the pages, their static files, and the API they read.

Everything the pages need is served from here (voicebot/web/console/, plain ES modules,
no build step, no CDN). The API reads the call store; live updates come from the call
feed as server-sent events (EventSource reconnects by itself, and a plain HTTP stream
passes proxies that refuse WebSocket upgrades).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from voicebot.call.flow_catalog import FlowCatalog
from voicebot.call.services import Services
from voicebot.store.feed import LAGGED, CallFeed
from voicebot.store.search import OUTCOMES, CallQuery
from voicebot.web.console_auth import COOKIE, ConsoleAuth, session_value
from voicebot.web.console_graph import flow_svg

STATIC = Path(__file__).parent / "console"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
KEEPALIVE_S = 15.0
# Open live streams, all consoles together: each is a queue of up to 1000 items.
MAX_STREAMS = 64
MAX_LIST = 500


def _jsonable(value: Any) -> Any:
    # Feed items are what the session recorded: plain data, numpy scalars at worst.
    return value.item() if hasattr(value, "item") else str(value)


def dumps(value: Any) -> str:
    return json.dumps(value, default=_jsonable, ensure_ascii=False)


def _day(text: str, name: str, *, end: bool = False) -> float:
    """`2026-11-30` (UTC; as an upper bound, the whole day) or a full ISO date-time."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(400, f"{name}: expected a date like 2026-11-30, got {text!r}") \
            from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if end and len(text) <= 10:
        when += timedelta(days=1)
    return when.timestamp()


def outcome_of(record: dict[str, Any]) -> str | None:
    """The outcome the session recorded; for older records, worked out from the record."""
    meta = record.get("meta") or {}
    if meta.get("outcome"):
        return str(meta["outcome"])
    if record.get("closed_at") is None:
        return None
    reason = str(record.get("close_reason") or "")
    turns: list[dict[str, Any]] = record["turns"] if isinstance(record.get("turns"), list) else []
    if "error" in reason or any(t.get("error") for t in turns):
        return "error"
    if any(a.get("type") == "transfer" for t in turns for a in t.get("actions") or []):
        return "transfer"
    return "hangup"


def make_console_router(
    *,
    store: Any,
    feed: CallFeed,
    flows: FlowCatalog,
    auth: ConsoleAuth,
    recordings: Path | None,
    media_path: str,
    media_token: str | None,
    stopping: Callable[[], bool] = lambda: False,
) -> APIRouter:
    router = APIRouter()
    api = APIRouter(prefix="/console/api", dependencies=[Depends(auth.require)])

    def page(name: str, request: Request) -> Response:
        if not auth.allows(request):
            if auth.token is None:
                return Response("The console answers only this machine until records.token "
                                "is set.\n", 403, media_type="text/plain")
            return RedirectResponse(f"/console/login?next={request.url.path}", 303)
        return FileResponse(STATIC / name, media_type=TYPES[".html"],
                            headers={"Cache-Control": "no-store"})

    @router.get("/console", include_in_schema=False)
    async def console_page(request: Request) -> Response:
        return page("console.html", request)

    @router.get("/console/phone", include_in_schema=False)
    async def phone_page(request: Request) -> Response:
        return page("phone.html", request)

    @router.get("/console/login", include_in_schema=False)
    async def login_page() -> Response:
        return FileResponse(STATIC / "login.html", media_type=TYPES[".html"])

    @router.post("/console/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        # The sign-in form, parsed here: one urlencoded field is not worth a dependency.
        body = await request.body()
        form = parse_qs(body[:4096].decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0]
        next = (form.get("next") or ["/console"])[0]
        if not auth.check_token(token):
            return RedirectResponse("/console/login?failed=1", 303)
        target = next if next in ("/console", "/console/phone") else "/console"
        response = RedirectResponse(target, 303)
        response.set_cookie(COOKIE, session_value(token), httponly=True, samesite="strict",
                            path="/console")
        return response

    @router.post("/console/logout", include_in_schema=False)
    async def logout() -> Response:
        response = RedirectResponse("/console/login", 303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    @router.get("/console/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        path = STATIC / name
        if "/" in name or name.startswith(".") or path.suffix not in TYPES or not path.is_file():
            raise HTTPException(404, f"no console file {name!r}")
        return FileResponse(path, media_type=TYPES[path.suffix])

    @api.get("/calls")
    async def list_calls(
        number: str | None = None, since: str | None = None, until: str | None = None,
        outcome: str | None = None, limit: int = Query(100, ge=1, le=MAX_LIST),
    ) -> dict[str, Any]:
        if outcome is not None and outcome not in OUTCOMES:
            raise HTTPException(400, f"outcome: one of {', '.join(OUTCOMES)}")
        try:
            query = CallQuery(
                number=number or None, outcome=outcome or None, limit=limit,
                since=_day(since, "since") if since else None,
                until=_day(until, "until", end=True) if until else None,
            )
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        calls = await store.asearch_calls(query)
        for call in calls:
            call["live"] = call["call_id"] in feed.live
            call["outcome"] = outcome_of(call)
        return {"calls": calls, "count": len(calls), "live": sorted(feed.live)}

    @api.get("/calls/{call_id}")
    async def get_call(call_id: str) -> dict[str, Any]:
        record: dict[str, Any] | None = await store.aget_call(call_id)
        if record is None:
            raise HTTPException(404, f"no call {call_id!r}")
        record["live"] = call_id in feed.live
        record["outcome"] = outcome_of(record)
        file = _recording_file(record)
        record["recording_url"] = (
            f"/console/api/calls/{call_id}/recording" if file is not None else None)
        record["flow"] = (record.get("meta") or {}).get("flow") or flows.served
        return record

    def _recording_file(record: dict[str, Any]) -> Path | None:
        info = (record.get("meta") or {}).get("recording") or {}
        name = str(info.get("file") or "")
        if recordings is None or not name or Path(name).name != name:
            return None
        path = recordings / name
        return path if path.is_file() else None

    @api.get("/calls/{call_id}/recording")
    async def recording(call_id: str) -> Response:
        record = await store.aget_call(call_id)
        file = _recording_file(record) if record is not None else None
        if file is None:
            raise HTTPException(404, f"no recording for call {call_id!r}")
        return FileResponse(file, media_type="audio/wav", filename=f"{call_id}.wav",
                            content_disposition_type="inline")

    @api.get("/flows")
    async def list_flows() -> dict[str, Any]:
        return {"served": flows.served, "flows": flows.names()}

    drawn: dict[str, str] = {}

    @api.get("/flows/{name}.svg")
    async def flow_graph(name: str) -> Response:
        if name not in drawn:
            flow = flows.flow(name)
            if flow is None:
                raise HTTPException(404, f"no flow {name!r}")
            drawn[name] = flow_svg(flow)
        return Response(drawn[name], media_type=TYPES[".svg"])

    @api.get("/phone")
    async def phone_settings() -> dict[str, Any]:
        # The phone is a media server in the browser: it needs what a media server is
        # given. A console user holds the records token, a stronger secret than this one.
        return {"media_path": media_path, "media_token": media_token,
                "served": flows.served, "flows": flows.names()}

    @api.get("/events")
    async def events(call_id: str | None = None) -> StreamingResponse:
        if feed.subscribers >= MAX_STREAMS:
            raise HTTPException(503, f"too many live console streams (at most {MAX_STREAMS})",
                                headers={"Retry-After": "10"})
        return StreamingResponse(_stream(feed, call_id, stopping), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    router.include_router(api)
    return router


async def _stream(feed: CallFeed, call_id: str | None,
                  stopping: Callable[[], bool]) -> AsyncIterator[str]:
    with feed.subscribe(call_id) as queue:
        yield "retry: 2000\n\n"
        quiet_since = time.monotonic()
        while not stopping():
            try:
                item = await asyncio.wait_for(queue.get(), 1.0)
            except TimeoutError:
                if time.monotonic() - quiet_since > KEEPALIVE_S:
                    quiet_since = time.monotonic()
                    yield ": keepalive\n\n"
                continue
            if item is LAGGED:
                yield "event: lagged\ndata: {}\n\n"
                return
            quiet_since = time.monotonic()
            yield f"data: {dumps(item)}\n\n"


def console_router(services: Services) -> APIRouter:
    cfg = services.config
    return make_console_router(
        store=services.store,
        feed=services.feed,
        flows=services.flows or FlowCatalog(services.engine, cfg.resolve(cfg.flow)),
        auth=ConsoleAuth(cfg.records.token),
        recordings=cfg.resolve(cfg.recording.path),
        # The phone speaks Ringover's wire, served at <media_path>/ringover whatever
        # protocol the media path itself is configured for.
        media_path=cfg.server.media_path.rstrip("/") + "/ringover",
        media_token=cfg.server.media_token,
        stopping=lambda: services.draining,
    )
