"""Issue 12, finding 3, at the outbox: a break never waits and never fails. With the
peer stalled and the queue full of commands that must not be lost (digits, a transfer),
forty breaks in a row queue one clear, and every queued command still goes out."""

from __future__ import annotations

import asyncio
import json

import numpy as np

from voicebot.call.outbox import Outbox
from voicebot.telephony.media import Audio, SendDigits, Transfer
from voicebot.telephony.ringover.protocol import RingoverProtocol


def test_breaks_on_a_full_queue_are_one_clear_and_lose_nothing() -> None:
    async def scenario() -> list[str]:
        sent: list[str] = []
        stalled = asyncio.Event()

        async def send(message: str | bytes) -> None:
            await stalled.wait()  # the media server reads nothing until released
            sent.append(json.loads(message).get("event") or json.loads(message).get("type"))

        outbox = Outbox(send, RingoverProtocol(output_rate=8000, audio_data_type="raw"),
                        maxsize=32)
        outbox.start()
        for _ in range(8):
            await outbox.send(Audio(np.zeros(800, np.int16), 8000))
        for i in range(24):
            await outbox.send(SendDigits(str(i % 10)))
        await outbox.send(Transfer("+33123456789"))
        await asyncio.sleep(0.05)  # one item is in the stalled send; 32 queued
        blocked = asyncio.create_task(outbox.send(SendDigits("9")))  # waits for room
        await asyncio.sleep(0.05)
        assert not blocked.done()
        for _ in range(40):  # forty keys, forty barge-ins: no QueueFull escapes
            outbox.send_break_now()
        stalled.set()
        await blocked
        await outbox.close(drain_timeout=2.0)
        return sent

    sent = asyncio.run(scenario())
    assert sent.count("break") == 1
    assert sent.count("digits") == 25 and sent.count("transfer") == 1
    assert sent.count("streamAudio") <= 1  # only the chunk already on the wire
