from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from voicebot.store.records import CallStore
from voicebot.store.turn import TurnRecord
from voicebot.web.calls_routes import make_calls_router

TOKEN = "s3cret-token"


def client(token: str | None) -> tuple[TestClient, CallStore]:
    store = CallStore(":memory:")

    async def fill() -> None:
        await store.open_call("c1", {"from_number": "336"})
        await store.add_turn("c1", TurnRecord(transcript="hi", intent="greet"))
        await store.open_call("c2", {})

    asyncio.run(fill())
    app = FastAPI()
    app.include_router(make_calls_router(store, token))
    return TestClient(app), store


@pytest.fixture
def api() -> tuple[TestClient, CallStore]:
    c, store = client(TOKEN)
    yield c, store
    store.close()


def test_bearer_token_lists_and_shows(api: tuple[TestClient, CallStore]) -> None:
    c, _ = api
    auth = {"Authorization": f"Bearer {TOKEN}"}
    listing = c.get("/calls", headers=auth)
    assert listing.status_code == 200
    assert {x["call_id"] for x in listing.json()["calls"]} == {"c1", "c2"}
    one = c.get("/calls/c1", headers=auth)
    assert one.status_code == 200 and one.json()["turns"][0]["intent"] == "greet"
    assert c.get("/calls/zzz", headers=auth).status_code == 404
    assert len(c.get("/calls?limit=1", headers=auth).json()["calls"]) == 1


def test_query_token_is_accepted(api: tuple[TestClient, CallStore]) -> None:
    c, _ = api
    assert c.get(f"/calls?token={TOKEN}").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
     {"Authorization": "Bearer "}],
)
def test_missing_or_wrong_token_is_401(api: tuple[TestClient, CallStore], headers: dict) -> None:
    c, _ = api
    for path in ("/calls", "/calls/c1"):
        response = c.get(path, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert c.get("/calls?token=wrong").status_code == 401


def test_without_a_configured_token_the_api_is_disabled() -> None:
    c, store = client(None)
    response = c.get("/calls", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 403
    assert "disabled until a token is configured" in response.json()["detail"]
    store.close()
