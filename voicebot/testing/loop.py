"""Event-loop behaviour checks: does a plugin call block the loop, and can it be cancelled?

A call session awaits plugins through `call_plugin`; barge-in or a hang-up cancels that
await. A plugin passes when the loop keeps ticking while it works and when, after a
cancelled call, the next call still returns a good answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from voicebot.plugins.base import call_plugin

# A tick every 5 ms; a gap this much longer means something held the loop.
TICK = 0.005
DEFAULT_LAG_BUDGET = 0.2


@dataclass(slots=True)
class LoopReport:
    result: Any
    seconds: float  # how long the call took
    max_lag: float  # the longest the loop was unavailable beyond one tick
    ticks: int


async def measure_loop_lag(awaitable: Awaitable[Any]) -> LoopReport:
    """Await `awaitable` while a ticker measures how late the loop wakes it."""
    done = asyncio.Event()
    lags: list[float] = []

    async def ticker() -> None:
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            lags.append(time.perf_counter() - before - TICK)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # let the ticker start before the call can hog the loop
    start = time.perf_counter()
    try:
        result = await awaitable
    finally:
        seconds = time.perf_counter() - start
        done.set()
        await task
    return LoopReport(result, seconds, max(lags, default=0.0), len(lags))


async def assert_does_not_block(
    label: str, executor: Executor | None, fn: Callable[..., Any], *args: Any,
    budget: float = DEFAULT_LAG_BUDGET,
) -> LoopReport:
    report = await measure_loop_lag(call_plugin(executor, fn, *args))
    assert report.max_lag < budget, (
        f"{label} blocked the event loop for {report.max_lag * 1000:.0f} ms during a "
        f"{report.seconds * 1000:.0f} ms call: an async method must not do blocking work "
        "(make the method plain so it runs in the executor, or await the slow part)"
    )
    return report


async def assert_cancellable(
    label: str, executor: Executor | None, fn: Callable[..., Any], *args: Any,
    after: float = 0.0,
) -> None:
    """Cancel a call shortly after it starts; the plugin must shrug it off."""
    task = asyncio.create_task(call_plugin(executor, fn, *args))
    await asyncio.sleep(after)
    if task.done():
        # Too quick to cancel mid-way; it must still have succeeded.
        task.result()
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError(f"{label} swallowed a cancellation (it must let CancelledError out)")


def run(coro: Awaitable[Any]) -> Any:
    """Run a coroutine from sync test code (pytest without an asyncio plugin)."""
    return asyncio.run(coro)  # type: ignore[arg-type]
