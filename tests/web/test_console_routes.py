"""The console's routes: who gets in, search, a call's detail, its recording, the graph,
and the live feed."""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from voicebot.call.flow_catalog import FlowCatalog
from voicebot.flow.engine import FlowEngine
from voicebot.flow.loader import load_flow
from voicebot.store.feed import CallFeed, FeedingStore
from voicebot.store.records import CallStore
from voicebot.store.turn import TurnRecord
from voicebot.web.console_auth import ConsoleAuth
from voicebot.web.console_routes import MAX_STREAMS, _stream, make_console_router

ROOT = Path(__file__).parents[2]
FLOW = ROOT / "flows" / "support_router.yaml"
TOKEN = "s3cret-records-token"
LOCAL = ("127.0.0.1", 40000)
REMOTE = ("203.0.113.7", 40000)


def _app(tmp_path: Path, token: str | None) -> tuple[FastAPI, CallStore, CallFeed]:
    feed = CallFeed()
    store = CallStore(tmp_path / "calls.sqlite3")
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    (recordings / "c1.wav").write_bytes(b"RIFF" + b"\0" * 60)
    app = FastAPI()
    app.include_router(make_console_router(
        store=FeedingStore(store, feed), feed=feed,
        flows=FlowCatalog(FlowEngine(load_flow(FLOW)), FLOW), auth=ConsoleAuth(token),
        recordings=recordings, media_path="/media", media_token="media-secret"))

    async def fill() -> None:
        await store.open_call("c1", {"from_number": "+33612345678", "to_number": "+33100000001",
                                     "recording": {"file": "c1.wav", "started_at": 1.0}})
        await store.add_turn("c1", TurnRecord(**{"transcript": "I'd like to speak to an agent",
                                    "intent": "agent", "confidence": 0.91, "state": "greeting",
                                    "actions": [{"type": "transfer", "number": "+33123456789"}]}))
        await store.open_call("c1", {"outcome": "transfer"})
        await store.close_call("c1", "flow")
        await store.open_call("c2", {"from_number": "+44770090", "to_number": "+33100000001",
                                     "recording": {"file": "../calls.sqlite3"}})
        await store.close_call("c2", "stop")

    asyncio.run(fill())
    return app, store, feed


@pytest.fixture
def open_console(tmp_path: Path) -> Iterator[tuple[FastAPI, CallFeed]]:
    app, store, feed = _app(tmp_path, None)
    yield app, feed
    store.close()


@pytest.fixture
def locked_console(tmp_path: Path) -> Iterator[FastAPI]:
    app, store, _ = _app(tmp_path, TOKEN)
    yield app
    store.close()


def test_without_a_token_only_this_machine_gets_in(open_console) -> None:
    app, _ = open_console
    assert TestClient(app, client=LOCAL).get("/console").status_code == 200
    assert TestClient(app, client=LOCAL).get("/console/api/calls").status_code == 200
    remote = TestClient(app, client=REMOTE)
    assert remote.get("/console").status_code == 403
    assert "records.token" in remote.get("/console/api/calls").json()["detail"]
    # Through a reverse proxy on the same host every visitor would look local: refused.
    proxied = TestClient(app, client=LOCAL, headers={"X-Forwarded-For": "203.0.113.7"})
    assert proxied.get("/console/api/calls").status_code == 403


def test_with_a_token_the_browser_signs_in_once(locked_console) -> None:
    client = TestClient(locked_console, client=LOCAL, follow_redirects=False)
    page = client.get("/console/phone")
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=/console/phone"
    assert client.get("/console/api/calls").status_code == 401
    wrong = client.post("/console/login", data={"token": "guess", "next": "/console"})
    assert wrong.headers["location"] == "/console/login?failed=1"
    ok = client.post("/console/login", data={"token": TOKEN, "next": "/console/phone"})
    assert ok.status_code == 303 and ok.headers["location"] == "/console/phone"
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
    assert client.get("/console/phone").status_code == 200
    assert client.get("/console/api/calls").json()["count"] == 2
    # Somewhere else after sign-in is not a redirect target.
    evil = client.post("/console/login", data={"token": TOKEN, "next": "https://evil.example/"})
    assert evil.headers["location"] == "/console"
    # Scripts: the token as a bearer header or in the query, like the records API.
    fresh = TestClient(locked_console, client=REMOTE)
    assert fresh.get("/console/api/calls",
                     headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert fresh.get(f"/console/api/calls?token={TOKEN}").status_code == 200


def test_search_and_a_calls_detail(open_console) -> None:
    client = TestClient(open_console[0], client=LOCAL)
    assert [c["call_id"] for c in client.get("/console/api/calls?number=612345").json()["calls"]] \
        == ["c1"]
    listed = client.get("/console/api/calls?outcome=transfer").json()["calls"]
    assert [(c["call_id"], c["outcome"], c["live"]) for c in listed] == [("c1", "transfer", False)]
    assert client.get("/console/api/calls?since=2999-01-01").json()["count"] == 0
    assert client.get("/console/api/calls?until=1970-01-01").json()["count"] == 0
    for bad in ("since=yesterday", "outcome=dropped", "number=abc", "limit=0"):
        response = client.get(f"/console/api/calls?{bad}")
        assert response.status_code in (400, 422), bad
        assert response.json()["detail"]
    call = client.get("/console/api/calls/c1").json()
    assert call["outcome"] == "transfer" and call["flow"] == "support_router"
    assert call["turns"][0]["transcript"] == "I'd like to speak to an agent"
    assert call["recording_url"] == "/console/api/calls/c1/recording"
    assert client.get("/console/api/calls/nope").status_code == 404


def test_recordings_are_served_and_cannot_name_another_file(open_console) -> None:
    client = TestClient(open_console[0], client=LOCAL)
    response = client.get("/console/api/calls/c1/recording", headers={"Range": "bytes=0-3"})
    assert response.status_code == 206 and response.content == b"RIFF"  # seekable in a player
    assert response.headers["content-type"] == "audio/wav"
    assert client.get("/console/api/calls/c2").json()["recording_url"] is None
    assert client.get("/console/api/calls/c2/recording").status_code == 404


def test_the_flow_graph_and_the_pages_static_files(open_console) -> None:
    client = TestClient(open_console[0], client=LOCAL)
    flows = client.get("/console/api/flows").json()
    assert flows["served"] == "support_router" and "ivr_navigator" in flows["flows"]
    svg = client.get("/console/api/flows/support_router.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert 'data-node="greeting"' in svg.text and 'data-to="billing"' in svg.text
    assert client.get("/console/api/flows/nope.svg").status_code == 404
    assert client.get("/console/static/phone.js").headers["content-type"].startswith(
        "text/javascript")
    for bad in ("..%2Fconsole_routes.py", ".hidden.js", "nope.js", "console_routes.py"):
        assert client.get(f"/console/static/{bad}").status_code == 404, bad
    phone = client.get("/console/api/phone").json()
    assert phone["media_path"] == "/media" and phone["media_token"] == "media-secret"


def test_the_live_feed_streams_record_writes_as_they_happen(tmp_path: Path) -> None:
    feed = CallFeed()

    async def scenario() -> list[dict]:
        store = FeedingStore(CallStore(tmp_path / "feed.sqlite3"), feed)
        stop = False
        stream = _stream(feed, "live-1", lambda: stop)
        assert await anext(stream) == "retry: 2000\n\n"
        got: list[dict] = []

        async def read() -> None:
            async for chunk in stream:
                got.append(json.loads(chunk.removeprefix("data: ")))

        reader = asyncio.create_task(read())
        await asyncio.sleep(0)
        await store.open_call("live-1", {"from_number": "+331"})
        await store.open_call("other", {})  # another call: not in this stream
        assert "live-1" in feed.live
        await store.add_turn("live-1", TurnRecord(**{"transcript": "hello"}))
        await store.close_call("live-1", "stop")
        assert "live-1" not in feed.live
        await asyncio.sleep(0.05)
        stop = True
        await asyncio.wait_for(reader, 3)
        await store.aclose()
        return got

    got = asyncio.run(scenario())
    assert [(g["call_id"], g["kind"]) for g in got] == [
        ("live-1", "meta"), ("live-1", "turn"), ("live-1", "closed")]
    assert got[1]["data"]["transcript"] == "hello"


def test_a_subscriber_that_cannot_keep_up_is_dropped_not_buffered() -> None:
    feed = CallFeed()

    async def scenario() -> tuple[list[dict], int]:
        with feed.subscribe() as queue:
            for i in range(5000):
                feed.publish("c", "event", {"i": i})
            items = []
            while not queue.empty():
                items.append(queue.get_nowait())
            return items, feed.subscribers

    items, subscribers = asyncio.run(scenario())
    assert items[-1]["kind"] == "lagged" and len(items) < 1100
    assert subscribers == 0


def test_live_streams_are_capped(open_console) -> None:
    app, feed = open_console
    held = [feed.subscribe() for _ in range(MAX_STREAMS)]
    for ctx in held:
        ctx.__enter__()
    try:
        response = TestClient(app, client=LOCAL).get("/console/api/events")
        assert response.status_code == 503 and response.headers["retry-after"] == "10"
    finally:
        for ctx in held:
            ctx.__exit__(None, None, None)
    assert feed.subscribers == 0


def test_the_pages_need_nothing_from_elsewhere_and_ship_in_the_package() -> None:
    """No CDN: every script, style and module the pages load is served by voicebot, and
    every file of the folder is package data (pyproject.toml), so a wheel has them."""
    folder = ROOT / "voicebot" / "web" / "console"
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["voicebot.web"]
    for path in folder.iterdir():
        assert any(path.match(p.removeprefix("console/")) for p in patterns), path.name
        text = path.read_text()
        # Loads are by absolute path on this server, or relative module imports.
        assert not re.search(r"""(src|href)=["'](https?:)?//""", text), path.name
        assert not re.search(r"""(import|from)\s*\(?\s*["']https?:""", text), path.name
        for ref in re.findall(r"""(?:src|href)=["'](/console/static/[^"']+)""", text):
            assert (folder / ref.removeprefix("/console/static/")).is_file(), ref
        for module in re.findall(r"""from ["']\./([^"']+)["']""", text):
            assert (folder / module).is_file(), module


def test_the_feeding_wrapper_passes_settings_through_to_the_store(tmp_path: Path) -> None:
    inner = CallStore(tmp_path / "w.sqlite3")
    wrapped = FeedingStore(inner, CallFeed())
    wrapped.worker = "worker-7"  # as the cluster sets it
    assert inner.worker == "worker-7" and wrapped.worker == "worker-7"
    inner.close()
