"""Sending a flow's HttpCall, safely: the one place a flow reaches the network.

`voicebot serve` (through voicebot/call/http_step.py), `voicebot chat` and `voicebot test`
all send requests here, so they obey the same rules:

- only http:// and https://; redirects are not followed (a 3xx is an error);
- the host's addresses are resolved first, and private, loopback, link-local, reserved
  and multicast ones are refused unless `http.allow_private` or the host is listed in
  `http.allow_hosts` (a template cannot aim the bot at the machine's own network);
- an answer over `http.max_response_bytes` is refused, read no further;
- each call has a budget: `max_requests_per_call` requests and `max_seconds_per_call`
  seconds in all (retries count), so a slow endpoint cannot hold a call;
- `{{ env.NAME }}` in the url or a header is filled from the environment, and only for
  names listed in `http.env`; the filled value is never returned or logged.

Every failure is an HttpResult with ok=False and a reason: it costs the flow its
`on_error` branch, never the call.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from voicebot.flow.actions import HttpCall
from voicebot.flow.events import HttpResult
from voicebot.flow.http_spec import ENV

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class HttpLimits(BaseModel):
    """config.yaml's `http:` section."""

    model_config = ConfigDict(extra="forbid")

    allow_private: bool = Field(default=False, description="Allow private and loopback "
                                "addresses (never in production: it opens the bot's network).")
    allow_hosts: list[str] = Field(default_factory=list, description="Hosts allowed even "
                                   "when they resolve to private addresses.")
    env: list[str] = Field(default_factory=list, description="Environment variables a flow "
                           "may use as {{ env.NAME }} in an http url or header.")
    max_requests_per_call: int = Field(default=10, ge=1)
    max_seconds_per_call: float = Field(default=20.0, gt=0)
    max_response_bytes: int = Field(default=256 * 1024, ge=1024)


@dataclass
class HttpBudget:
    """What one call has spent so far."""

    requests: int = 0
    seconds: float = 0.0


class Refused(Exception):
    pass


def fill_env(text: str, limits: HttpLimits, environ: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in limits.env:
            raise Refused(f"env.{name} is not listed in config http.env")
        if name not in environ:
            raise Refused(f"env.{name} is not set")
        return environ[name]

    return ENV.sub(one, text)


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
            or ip.is_multicast or ip.is_unspecified)


async def check_url(url: str, limits: HttpLimits) -> None:
    """Raise Refused unless `url` is http(s) to a host the limits allow."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise Refused(f"scheme '{parts.scheme}' refused (http and https only)")
    host = parts.hostname
    if not host:
        raise Refused("the url has no host")
    if limits.allow_private or host.lower() in (h.lower() for h in limits.allow_hosts):
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError as exc:
        raise Refused(f"cannot resolve {host}: {exc.strerror or exc}") from None
    for info in infos:
        address = str(info[4][0])
        if _blocked(address):
            raise Refused(f"{host} is a private or loopback address ({address}); allow it "
                          "in config http.allow_hosts")


async def _attempt(client: httpx.AsyncClient, call: HttpCall, url: str,
                   headers: dict[str, str], timeout: float, limit: int) -> HttpResult:
    async with client.stream(call.method, url, headers=headers, json=call.json,
                             timeout=timeout) as response:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                return HttpResult(False, response.status_code,
                                  error=f"answer over {limit} bytes refused")
    status = response.status_code
    if not 200 <= status < 300:
        return HttpResult(False, status, error=f"HTTP {status}")
    if not body.strip():
        return HttpResult(True, status, None)
    try:
        return HttpResult(True, status, json.loads(body))
    except ValueError:
        return HttpResult(False, status, error="the answer is not JSON")


async def execute(call: HttpCall, limits: HttpLimits, budget: HttpBudget,
                  environ: Mapping[str, str] | None = None) -> HttpResult:
    """Send `call` within the limits and the call's budget; never raises."""
    environ = os.environ if environ is None else environ
    try:
        url = fill_env(call.url, limits, environ)
        headers = {k: fill_env(v, limits, environ) for k, v in call.headers.items()}
        await check_url(url, limits)
    except Refused as exc:
        return HttpResult(False, error=f"refused: {exc}")
    result = HttpResult(False, error="not sent")
    async with httpx.AsyncClient(follow_redirects=False) as client:
        for _attempt_no in range(call.retries + 1):
            left = limits.max_seconds_per_call - budget.seconds
            if budget.requests >= limits.max_requests_per_call or left <= 0:
                return HttpResult(False, error="refused: this call's http budget is spent")
            budget.requests += 1
            started = time.monotonic()
            try:
                result = await _attempt(client, call, url, headers, min(call.timeout, left),
                                        limits.max_response_bytes)
            except httpx.TimeoutException:
                result = HttpResult(False, error="timed out")
            except httpx.HTTPError as exc:
                result = HttpResult(False, error=f"network error: {type(exc).__name__}")
            finally:
                budget.seconds += time.monotonic() - started
            retry = result.error == "timed out" or (result.error or "").startswith(
                "network") or result.status in RETRY_STATUS
            if result.ok or not retry:
                break
    if result.status is not None and 300 <= result.status < 400:
        return HttpResult(False, result.status, error="redirect refused")
    return result
