"""A small typed client for Ringover's public REST API (v2): what a voicebot needs.

`caller_context(from_number)` is the reason it exists: at call start the session asks
who is calling, so a flow can say "Hello {{ call.contact_name }}". Everything else
(a call, calls, contacts, presences) serves the same purpose: context for the bot.

The API allows a couple of requests a second per key; the client paces itself with a
token bucket and retries 429 / 5xx / network errors with exponential backoff and jitter,
honouring `Retry-After`. The response models are in ringover_models.py.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Self

import httpx

from voicebot.telephony.ringover_models import (
    Call,
    CallList,
    Contact,
    ContactList,
    Presence,
    digits,
)

log = logging.getLogger(__name__)

BASE_URLS = {
    "eu": "https://public-api.ringover.com/v2",
    "us": "https://public-api-us.ringover.com/v2",
}
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class RingoverAPIError(Exception):
    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"Ringover API {status}: {message}")
        self.status = status
        self.body = body


class TokenBucket:
    """At most `rate_per_s` acquisitions a second on average, bursts up to `burst`.

    The clock and the sleep are injected so tests count, not wait.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self.rate = rate_per_s
        self.burst = max(1.0, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._last = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        # The lock makes waiters queue in order instead of all waking for one token.
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await self._sleep((1.0 - self._tokens) / self.rate)


class RingoverClient:
    def __init__(
        self,
        api_key: str,
        region: Literal["eu", "us"] = "eu",
        base_url: str | None = None,
        rate_per_s: float = 2.0,
        max_retries: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        timeout_s: float = 10.0,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if region not in BASE_URLS and base_url is None:
            raise ValueError(f"region must be one of {sorted(BASE_URLS)}, not {region!r}")
        self.base_url = (base_url or BASE_URLS[region]).rstrip("/")
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.limiter = TokenBucket(rate_per_s, clock=clock, sleep=sleep)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.requests_sent = 0
        # The API takes the raw key, no "Bearer" scheme.
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": api_key, "Accept": "application/json",
                     "User-Agent": "voicebot"},
            timeout=timeout_s,
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- typed calls -------------------------------------------------------------------

    async def get_call(self, call_id: str) -> Call | None:
        """The call's first log entry (a forwarded call has several), or None if unknown."""
        data = await self._get(f"/calls/{call_id}", not_found_ok=True)
        if not data:
            return None
        calls = CallList.model_validate(data).call_list
        return calls[0] if calls else None

    async def list_calls(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        start_date: str | None = None,
        end_date: str | None = None,
        call_type: str | None = None,
    ) -> CallList:
        params: dict[str, Any] = {"limit_count": limit, "limit_offset": offset}
        for name, value in (("start_date", start_date), ("end_date", end_date),
                            ("call_type", call_type)):
            if value is not None:
                params[name] = value
        return CallList.model_validate(await self._get("/calls", params=params) or {})

    async def search_contacts(
        self, query: str | None = None, *, number: str | None = None, limit: int = 20
    ) -> list[Contact]:
        """Contacts whose name, company or number match; with `number`, only exact lines."""
        if (query is None) == (number is None):
            raise ValueError("give either a query or a number")
        # A number is searched by its last 9 digits, the part every notation shares
        # (+33 6.., 0033 6.., 06..); the exact-line filter below removes near misses.
        term = query if query is not None else digits(number or "")[-9:]
        if not term:
            return []
        data = await self._get("/contacts", params={"search": term, "limit_count": limit})
        contacts = ContactList.model_validate(data or {}).contact_list
        if number is not None:
            # The search is fuzzy; a greeting by name must be for this exact line.
            contacts = [c for c in contacts if c.matches(number)]
        return contacts

    async def presences(self) -> list[Presence]:
        data = await self._get("/presences")
        if isinstance(data, dict):
            items = data.get("presences") or data.get("list") or []
        else:
            items = data or []
        return [Presence.model_validate(p) for p in items if isinstance(p, dict)]

    async def user_presence(self, user_id: str) -> Presence | None:
        data = await self._get(f"/users/{user_id}/presences", not_found_ok=True)
        return Presence.model_validate(data) if isinstance(data, dict) else None

    async def caller_context(self, from_number: str | None, *,
                             timeout_s: float = 2.0) -> dict[str, Any]:
        """Who is calling, for the flow's `call` variables; {} if unknown or unreachable.

        Bounded by `timeout_s`: the caller hears nothing while the bot waits, so a slow
        API costs a missing name, never a late greeting, and never fails the call.
        """
        if not from_number or digits(from_number) in ("", "0") or "anonymous" in str(
            from_number
        ).lower():
            return {}
        try:
            contacts = await asyncio.wait_for(
                self.search_contacts(number=from_number, limit=5), timeout_s
            )
        except (TimeoutError, RingoverAPIError, httpx.HTTPError) as exc:
            log.warning("caller lookup for %s failed: %s", _mask(from_number), exc)
            return {}
        if not contacts:
            return {}
        contact = contacts[0]
        context: dict[str, Any] = {"contact_id": contact.contact_id}
        if contact.display_name:
            context["contact_name"] = contact.display_name
        for field, value in (("contact_firstname", contact.firstname),
                             ("contact_lastname", contact.lastname),
                             ("contact_company", contact.company)):
            if value:
                context[field] = value
        return context

    # -- transport ---------------------------------------------------------------------

    async def _get(self, path: str, *, params: dict[str, Any] | None = None,
                   not_found_ok: bool = False) -> Any:
        attempt = 0
        while True:
            await self.limiter.acquire()
            self.requests_sent += 1
            try:
                response = await self._http.get(path, params=params)
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise
                delay = self._backoff(attempt)
                log.info("Ringover GET %s: %s, retry in %.2fs", path, exc, delay)
            else:
                status = response.status_code
                if status == 204:  # Ringover answers an empty result with No Content
                    return None
                if status == 404 and not_found_ok:
                    return None
                if 200 <= status < 300:
                    return response.json()
                if status not in RETRY_STATUSES or attempt >= self.max_retries:
                    raise RingoverAPIError(status, _reason(response), _body(response))
                delay = self._backoff(attempt, response.headers.get("Retry-After"))
                log.info("Ringover GET %s: %d, retry in %.2fs", path, status, delay)
            attempt += 1
            await self._sleep(delay)

    def _backoff(self, attempt: int, retry_after: str | None = None) -> float:
        hinted = _retry_after_s(retry_after)
        if hinted is not None:
            return min(hinted, self.backoff_max_s)
        # Full jitter: clients that failed together do not retry together.
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2**attempt))
        return self._rng.uniform(0, ceiling)


def _retry_after_s(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


def _reason(response: httpx.Response) -> str:
    body = _body(response)
    if isinstance(body, dict):
        for key in ("message", "error", "title"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return response.reason_phrase or "error"


def _mask(number: str) -> str:
    d = digits(number)
    return f"…{d[-4:]}" if len(d) > 4 else "…"
