"""The live feed across workers, over the real Redis: a call on one worker shows live on
a console connected to another, once, in order; and a worker does not hear itself twice."""

from __future__ import annotations

import asyncio

from voicebot.store.feed import CallFeed
from voicebot.store.feed_relay import FeedRelay
from voicebot.testing.datastores import REDIS_URL, redis_prefix


async def _drain(queue: asyncio.Queue, count: int, timeout: float = 5.0) -> list[dict]:
    items = []
    for _ in range(count):
        items.append(await asyncio.wait_for(queue.get(), timeout))
    return items


def test_a_call_on_one_worker_is_live_on_the_others_console() -> None:
    async def scenario() -> None:
        with redis_prefix() as prefix:
            a, b = CallFeed(), CallFeed()
            relay_a = FeedRelay(REDIS_URL, prefix + "console-feed", a, "worker-a")
            relay_b = FeedRelay(REDIS_URL, prefix + "console-feed", b, "worker-b")
            await relay_a.start()
            await relay_b.start()
            try:
                with a.subscribe() as on_a, b.subscribe("c1") as on_b:
                    a.publish("c1", "meta", {"from_number": "+33612345678"})
                    a.publish("c2", "meta", {})  # another call: not in b's stream
                    for i in range(20):
                        a.publish("c1", "event", {"kind": "say", "data": {"i": i}})
                    a.publish("c1", "closed", {"reason": "stop"})
                    got = await _drain(on_b, 22)
                    assert [g["kind"] for g in got] == ["meta"] + ["event"] * 20 + ["closed"]
                    assert [g["data"]["data"]["i"] for g in got[1:21]] == list(range(20))
                    assert got[0]["data"]["from_number"] == "+33612345678"
                    assert "c2" in b.live and "c1" not in b.live  # c1 closed, c2 still on
                    # Worker a's own console saw each item once, not again via Redis.
                    assert len(await _drain(on_a, 23)) == 23
                    await asyncio.sleep(0.3)
                    assert on_a.empty()
            finally:
                await relay_a.aclose()
                await relay_b.aclose()
            assert a.relay is None and relay_a.dropped == 0

    asyncio.run(scenario())


def test_without_redis_the_feed_still_works_locally() -> None:
    async def scenario() -> None:
        feed = CallFeed()
        relay = FeedRelay("redis://127.0.0.1:1/0", "nowhere", feed, "alone")
        await relay.start()  # cannot subscribe: starts anyway, retries behind
        try:
            with feed.subscribe() as queue:
                feed.publish("c1", "meta", {})
                assert (await _drain(queue, 1))[0]["call_id"] == "c1"
                await asyncio.sleep(0.2)
                assert relay.dropped >= 1  # the publish failed: counted, not raised
        finally:
            await relay.aclose()

    asyncio.run(scenario())
