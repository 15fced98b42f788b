"""A flow's http step on a live call: send the request off the brain's path, say the
state's filler if the answer is slow, and hand the answer back as an event.

The caller can hang up meanwhile: the session cancels this task with its others, and the
request with it. The request itself obeys voicebot/flow/http_client.py (addresses, size,
the call's budget); a failure comes back as an HttpResult that takes `on_error`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from voicebot.flow.actions import HttpCall
from voicebot.flow.events import HttpResult
from voicebot.flow.http_client import HttpBudget, HttpLimits, execute


async def run(call: HttpCall, limits: HttpLimits, budget: HttpBudget,
              say: Callable[[str], Awaitable[object]],
              answer: Callable[[HttpResult], None]) -> None:
    request = asyncio.ensure_future(execute(call, limits, budget))
    try:
        if call.filler:
            done, _pending = await asyncio.wait({request}, timeout=call.filler_after)
            if not done:
                await say(call.filler)
        answer(await request)
    finally:
        request.cancel()  # a hangup cancels us: the request goes with us
