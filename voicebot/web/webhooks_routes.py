"""POST /webhooks/ringover: verify, deduplicate, acknowledge, then process in order.

The request path does only what must happen before saying yes: check the signature,
parse, and persist the delivery (its key makes a redelivery a no-op, and a delivery
stored before the 2xx is not lost if processing fails later). Correlation with the
media session and the record writes happen in one background worker, in arrival order.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from voicebot.call.registry import CallRegistry
from voicebot.store.kinds import RecordStore
from voicebot.telephony.webhooks import (
    SIGNATURE_HEADER,
    SignatureError,
    WebhookEvent,
    WebhookFormatError,
    parse_webhook,
    verify_signature,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20  # a webhook is a few hundred bytes; a megabyte is not one
MAX_DEPTH = 32  # Ringover's envelope is 3 deep; 300 deep made GET /calls recurse out (500)
BODY_TIMEOUT_S = 10.0  # the whole body, once the headers are in: no slow-loris uploads


class BodyRefused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


async def read_body(request: Request, limit: int = MAX_BODY_BYTES,
                    timeout_s: float = BODY_TIMEOUT_S) -> bytes:
    """The request body, refused before it is read when it says it is too big
    (Content-Length), and as soon as it turns out to be (chunked, or a lying length):
    a 300 MB POST used to be read whole, before any authentication (issue 12)."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise BodyRefused(400, "bad Content-Length")
        if int(length) > limit:
            raise BodyRefused(413, f"webhook body too large ({length} bytes, limit {limit})")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BodyRefused(413, f"webhook body too large (over {limit} bytes)")
                chunks.append(chunk)
    except TimeoutError:
        raise BodyRefused(408, f"webhook body not received within {timeout_s:g} s") from None
    return b"".join(chunks)


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep lists and objects nest in `value`, counting no further than `limit` + 1."""
    depth, level = 0, [value]
    while level and depth <= limit:
        children: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                children.extend(item.values())
            elif isinstance(item, list):
                children.extend(item)
        if not children and not any(isinstance(i, dict | list) for i in level):
            break
        depth += 1
        level = children
    return depth


class WebhookProcessor:
    """Runs accepted webhooks through the registry, one at a time, in arrival order."""

    def __init__(self, registry: CallRegistry, *, max_backlog: int = 10_000) -> None:
        self.registry = registry
        self.max_backlog = max_backlog
        self.backlog = 0  # accepted and not yet processed (includes ones being stored)
        self.processed = 0
        self._queue: asyncio.Queue[WebhookEvent] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def reserve(self) -> bool:
        """Claim a place before storing, so a full backlog refuses (503, Ringover retries)
        rather than acknowledging a delivery it then has no room for."""
        if self.backlog >= self.max_backlog:
            return False
        self.backlog += 1
        self._idle.clear()
        return True

    def release(self) -> None:
        self.backlog -= 1
        if self.backlog == 0:
            self._idle.set()

    def submit(self, event: WebhookEvent) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        self._queue.put_nowait(event)

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                if event.call_id is not None:
                    await self.registry.on_webhook(event.name, event.call_id, event.data,
                                                   key=event.delivery_key)
            except Exception:
                log.exception("webhook %s for call %s failed", event.name, event.call_id)
            finally:
                self.processed += 1
                self.release()

    async def drain(self) -> None:
        """Wait until everything accepted so far has been processed."""
        await self._idle.wait()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


class WebhookRouter(APIRouter):
    """The webhook routes, with the processor the app drains and closes."""

    def __init__(self, processor: WebhookProcessor) -> None:
        super().__init__()
        self.processor = processor


def make_webhook_router(
    registry: CallRegistry,
    store: RecordStore,
    key: str | None,
    leeway_s: float = 30,
    *,
    allow_unsigned: bool = False,
    max_backlog: int = 10_000,
) -> WebhookRouter:
    """Without a key, webhooks are refused (503) unless `allow_unsigned` says otherwise:
    an unauthenticated endpoint that can end calls must be a deliberate choice."""
    processor = WebhookProcessor(registry, max_backlog=max_backlog)
    router = WebhookRouter(processor)
    if key is None and allow_unsigned:
        log.warning("Ringover webhooks are accepted WITHOUT signature (allow_unsigned)")

    @router.post("/webhooks/ringover", status_code=202)
    async def ringover_webhook(request: Request) -> JSONResponse:
        if key is None and not allow_unsigned:
            return _error(503, "webhook key not configured: set webhooks.key or "
                               "VOICEBOT_WEBHOOKS__KEY (or webhooks.allow_unsigned: true "
                               "for a test bench)")
        try:
            raw = await read_body(request)
        except BodyRefused as exc:
            log.warning("webhook refused: %s", exc.detail)
            return _error(exc.status, exc.detail)
        try:
            body: Any = json.loads(raw) if raw else None
        except (ValueError, RecursionError):
            body = None
        if key is not None:
            try:
                trusted = verify_signature(
                    request.headers.get(SIGNATURE_HEADER),
                    key,
                    body=body if isinstance(body, dict) else None,
                    path=request.url.path,
                    leeway_s=leeway_s,
                )
            except SignatureError as exc:
                log.warning("webhook refused: %s", exc.reason)
                return _error(401, exc.reason)
            body = trusted
        if nesting_depth(body) > MAX_DEPTH:
            return _error(400, f"webhook body nested deeper than {MAX_DEPTH} levels")
        try:
            # "\ud800" is valid JSON but no UTF-8 can store it: refuse it, do not 500.
            json.dumps(body, ensure_ascii=False).encode()
        except (UnicodeEncodeError, RecursionError):
            return _error(400, "webhook body is not storable text (lone surrogate?)")
        try:
            event = parse_webhook(body)
        except WebhookFormatError as exc:
            return _error(400, str(exc))

        if not processor.reserve():
            return _error(503, "webhook backlog full, retry later")
        try:
            is_new = await store.record_webhook(
                event.delivery_key,
                resource=event.resource,
                event=event.name,
                call_id=event.call_id,
                attempt=event.attempt,
                known=event.known,
                body=event.raw,
            )
        except Exception:
            processor.release()
            log.exception("could not store webhook %s", event.name)
            return _error(500, "could not store webhook")
        if not is_new:
            processor.release()
            return JSONResponse({"status": "duplicate"}, status_code=200)
        if not event.known:
            log.info("unknown webhook %s/%s stored", event.resource, event.name)
        processor.submit(event)
        return JSONResponse({"status": "accepted"}, status_code=202)

    return router


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)
