"""The REST client against a real HTTP server on loopback serving Ringover's shapes."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from voicebot.telephony.ringover_api import (
    BASE_URLS,
    RingoverAPIError,
    RingoverClient,
    TokenBucket,
)
from voicebot.telephony.ringover_models import same_number

API_KEY = "ro-test-key-123"

CALL = {
    "cdr_id": 19479175, "call_id": 9058220947198958001, "type": "PHONE", "direction": "in",
    "last_state": "ANSWERED", "start_time": "2017-04-13T13:27:36.000Z",
    "answered_time": "2017-04-13T13:27:46.000Z", "end_time": "2017-04-13T13:27:56.000Z",
    "incall_duration": 10, "total_duration": 20, "from_number": 33600000000,
    "to_number": 33184800000, "note": None, "record": None, "brand_new_field": {"x": 1},
    "user": {"user_id": 123456, "firstname": "Pauline", "lastname": "Martin",
             "email": "pauline.martin@example.com", "numbers": []},
    "contact": {"number": 600000000, "contact_id": 654321, "firstname": "John",
                "lastname": "Doe", "concat_name": "John Doe"},
}
ADA = {
    "contact_id": 42, "firstname": "Ada", "lastname": "Lovelace", "company": "Engines Ltd",
    "concat_name": "Ada Lovelace", "is_shared": True,
    "numbers": [{"number": 33612345678, "type": "MOBILE",
                 "format": {"e164": "+33612345678", "national": "06 12 34 56 78"}}],
}
NEAR_MISS = {  # a fuzzy search hit on another line: must not be greeted as the caller
    "contact_id": 43, "firstname": "Bob", "lastname": "Near", "concat_name": "Bob Near",
    "numbers": [{"number": 33612345600, "type": "PHONE"}],
}


class Api:
    """Scripted responses per path; every request is logged with its headers and query."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: dict[str, list[tuple[int, Any, dict[str, str]]]] = {}
        self.routes: dict[str, Callable[[dict[str, list[str]]], tuple[int, Any]]] = {}
        self.lock = threading.Lock()

    def handle(self, path: str, query: dict[str, list[str]], headers: dict[str, str]
               ) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            self.requests.append({"path": path, "query": query, "headers": headers})
            queued = self.script.get(path)
            if queued:
                return queued.pop(0)
        if path in self.routes:
            status, body = self.routes[path](query)
            return status, body, {}
        return 404, {"message": "not found"}, {}


@pytest.fixture
def api() -> Iterator[tuple[Api, str]]:
    state = Api()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            status, body, headers = state.handle(
                url.path.removeprefix("/v2"), parse_qs(url.query), dict(self.headers))
            if body == "SLOW":
                time.sleep(0.5)
                body = {}
            payload = b"" if status == 204 else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            try:
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/v2"
    finally:
        server.shutdown()
        server.server_close()


class VirtualTime:
    """Clock and sleep for the client: backoffs and pacing are counted, not waited."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def make_client(base: str, vt: VirtualTime, **kw: Any) -> RingoverClient:
    return RingoverClient(API_KEY, base_url=base, clock=vt.clock, sleep=vt.sleep, **kw)


def contacts_route(query: dict[str, list[str]]) -> tuple[int, Any]:
    # Substring search over names and number digits, as a fuzzy directory search does.
    term = query.get("search", [""])[0].lower()

    def hit(c: dict) -> bool:
        numbers = [str(n["number"]) for n in c["numbers"]]
        return bool(term) and (term in c["concat_name"].lower() or any(
            term in n for n in numbers))

    hits = [c for c in (ADA, NEAR_MISS) if hit(c)]
    if not hits:
        return 204, None
    return 200, {"list_count": len(hits), "total_contact_count": len(hits),
                 "contact_list_count": len(hits), "contact_list": hits}


def test_regions_pick_the_documented_base_urls() -> None:
    async def run() -> tuple[str, str]:
        eu, us = RingoverClient("k"), RingoverClient("k", region="us")
        await eu.aclose()
        await us.aclose()
        return eu.base_url, us.base_url

    assert asyncio.run(run()) == (BASE_URLS["eu"], BASE_URLS["us"])
    assert BASE_URLS["eu"] == "https://public-api.ringover.com/v2"
    assert BASE_URLS["us"] == "https://public-api-us.ringover.com/v2"


def test_get_call_is_typed_and_sends_the_raw_key(api: tuple[Api, str]) -> None:
    state, base = api
    state.routes["/calls/9058220947198958001"] = lambda q: (
        200, {"call_list_count": 1, "call_list": [CALL], "total_call_count": 1})

    async def run() -> Any:
        async with make_client(base, VirtualTime()) as client:
            return await client.get_call("9058220947198958001"), await client.get_call("nope")

    call, missing = asyncio.run(run())
    assert missing is None
    assert call.call_id == "9058220947198958001" and call.from_number == "33600000000"
    assert call.user.firstname == "Pauline" and call.contact.display_name == "John Doe"
    assert call.incall_duration == 10
    assert call.model_extra["brand_new_field"] == {"x": 1}  # unknown fields survive
    assert state.requests[0]["headers"]["Authorization"] == API_KEY  # no "Bearer"


def test_list_calls_passes_filters_and_reads_the_list(api: tuple[Api, str]) -> None:
    state, base = api
    state.routes["/calls"] = lambda q: (
        200, {"call_list_count": 2, "call_list": [CALL, CALL], "total_call_count": 1337})

    async def run() -> Any:
        async with make_client(base, VirtualTime()) as client:
            return await client.list_calls(limit=2, offset=10, call_type="MISSED")

    result = asyncio.run(run())
    assert result.total_call_count == 1337 and len(result.call_list) == 2
    assert state.requests[0]["query"] == {
        "limit_count": ["2"], "limit_offset": ["10"], "call_type": ["MISSED"]}


def test_no_content_means_empty(api: tuple[Api, str]) -> None:
    state, base = api
    state.routes["/calls"] = lambda q: (204, None)

    async def run() -> Any:
        async with make_client(base, VirtualTime()) as client:
            return await client.list_calls()

    assert asyncio.run(run()).call_list == []


def test_429_then_success_honours_retry_after(api: tuple[Api, str]) -> None:
    state, base = api
    state.script["/presences"] = [(429, {"message": "slow down"}, {"Retry-After": "3"})]
    state.routes["/presences"] = lambda q: (200, {"presences": [
        {"user_id": 1, "in_call": 1, "is_snooze": False, "connected_devices": 2}]})
    vt = VirtualTime()

    async def run() -> Any:
        async with make_client(base, vt) as client:
            return await client.presences()

    presences = asyncio.run(run())
    assert len(state.requests) == 2
    assert presences[0].user_id == "1" and presences[0].connected_devices == 2
    assert 3.0 in vt.sleeps  # waited what the server asked


def test_5xx_backs_off_exponentially_with_jitter(api: tuple[Api, str]) -> None:
    state, base = api
    state.script["/calls"] = [(503, {}, {}), (502, {}, {}), (500, {}, {})]
    state.routes["/calls"] = lambda q: (200, {"call_list_count": 0, "call_list": []})
    vt = VirtualTime()

    async def run() -> Any:
        async with make_client(base, vt, rate_per_s=1000, backoff_base_s=0.5) as client:
            return await client.list_calls()

    asyncio.run(run())
    assert len(state.requests) == 4
    backoffs = [s for s in vt.sleeps if s > 0.01]  # pacing sleeps are tiny at 1000/s
    assert len(backoffs) <= 3
    for attempt, delay in enumerate(vt.sleeps[-3:]):
        assert 0 <= delay <= 0.5 * 2**attempt


def test_retries_give_up_with_a_typed_error(api: tuple[Api, str]) -> None:
    state, base = api
    state.routes["/calls"] = lambda q: (503, {"message": "maintenance"})

    async def run() -> None:
        async with make_client(base, VirtualTime(), max_retries=2) as client:
            await client.list_calls()

    with pytest.raises(RingoverAPIError) as info:
        asyncio.run(run())
    assert info.value.status == 503 and "maintenance" in str(info.value)
    assert len(state.requests) == 3


def test_client_errors_are_not_retried(api: tuple[Api, str]) -> None:
    state, base = api
    state.routes["/calls"] = lambda q: (401, {"message": "bad key"})

    async def run() -> None:
        async with make_client(base, VirtualTime()) as client:
            await client.list_calls()

    with pytest.raises(RingoverAPIError, match="bad key"):
        asyncio.run(run())
    assert len(state.requests) == 1


def test_the_client_paces_itself(api: tuple[Api, str]) -> None:
    state, base = api
    state.routes["/presences"] = lambda q: (200, {"presences": []})
    vt = VirtualTime()
    sent_at: list[float] = []

    async def run() -> None:
        async with make_client(base, vt, rate_per_s=2.0) as client:
            original = client._http.get

            async def timed_get(*args: Any, **kw: Any) -> Any:
                sent_at.append(vt.now)
                return await original(*args, **kw)

            client._http.get = timed_get  # type: ignore[method-assign]
            await asyncio.gather(*(client.presences() for _ in range(9)))

    asyncio.run(run())
    assert len(sent_at) == 9
    # Count per one-second window of virtual time: never more than the rate (+1 burst).
    for t in sent_at:
        assert sum(1 for u in sent_at if t <= u < t + 1.0) <= 2
    assert sent_at[-1] - sent_at[0] == pytest.approx(4.0)


def test_token_bucket_counts_exactly() -> None:
    vt = VirtualTime()
    bucket = TokenBucket(2.0, burst=3, clock=vt.clock, sleep=vt.sleep)

    async def run() -> list[float]:
        times = []
        for _ in range(11):
            await bucket.acquire()
            times.append(vt.now)
        return times

    times = asyncio.run(run())
    assert times[:3] == [0.0, 0.0, 0.0]  # the burst
    assert times[-1] == pytest.approx(4.0)  # then 2 a second: 8 more in 4 s
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_caller_context_greets_the_exact_line_only(api: tuple[Api, str]) -> None:
    state, base = api
    state.routes["/contacts"] = contacts_route

    async def run() -> tuple[dict, dict, dict, dict]:
        async with make_client(base, VirtualTime()) as client:
            return (await client.caller_context("+33 6 12 34 56 78"),
                    await client.caller_context("0612345678"),
                    await client.caller_context("33612345601"),
                    await client.caller_context("anonymous"))

    known, national, unknown, anonymous = asyncio.run(run())
    assert known == {"contact_id": "42", "contact_name": "Ada Lovelace",
                     "contact_firstname": "Ada", "contact_lastname": "Lovelace",
                     "contact_company": "Engines Ltd"}
    assert national["contact_name"] == "Ada Lovelace"
    assert unknown == {} and anonymous == {}
    # Searched by the subscriber digits, so national and international forms both hit.
    assert state.requests[0]["query"]["search"] == ["612345678"]


def test_search_contacts_by_name(api: tuple[Api, str]) -> None:
    state, base = api
    state.routes["/contacts"] = contacts_route

    async def run() -> list:
        async with make_client(base, VirtualTime()) as client:
            return await client.search_contacts("Ada Lovelace")

    assert [c.contact_id for c in asyncio.run(run())] == ["42"]


def test_caller_context_never_fails_the_call(api: tuple[Api, str]) -> None:
    state, base = api
    state.routes["/contacts"] = lambda q: (500, {"message": "boom"})
    state.script["/users/7/presences"] = []

    async def run() -> tuple[dict, dict]:
        async with make_client(base, VirtualTime(), max_retries=1) as client:
            broken = await client.caller_context("+33612345678")
        state.routes["/contacts"] = lambda q: (200, "SLOW")
        async with RingoverClient(API_KEY, base_url=base) as client:
            slow = await client.caller_context("+33612345678", timeout_s=0.05)
        return broken, slow

    assert asyncio.run(run()) == ({}, {})


def test_same_number_across_notations() -> None:
    assert same_number("33612345678", "612345678")
    assert same_number("33612345678", "0612345678")
    assert not same_number("33612345678", "33612345600")
    assert not same_number("", "")
