"""Playout acknowledgements (Twilio's marks): what the caller heard is bounded by what
the media server says it has played, not only by the clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np

from voicebot.call.outbox import Outbox
from voicebot.call.speaker import Speaker
from voicebot.telephony import media
from voicebot.telephony.twilio import TwilioProtocol


class Recording(TwilioProtocol):
    def __init__(self) -> None:
        super().__init__()
        self.commands: list[media.MediaCommand] = []

    def encode(self, command: media.MediaCommand) -> list[media.WireMessage]:
        self.commands.append(command)
        return super().encode(command)


async def _audio(seconds: float) -> AsyncIterator[np.ndarray]:
    yield np.full(int(seconds * 8000), 1000, np.int16)


async def _nothing(message: media.WireMessage) -> None:
    pass


def _marks(protocol: Recording) -> list[str]:
    return [c.name for c in protocol.commands if isinstance(c, media.Mark)]


def test_every_chunk_is_followed_by_a_mark_and_heard_stops_at_the_last_ack():
    async def scenario() -> tuple[list[type], float, float]:
        protocol = Recording()
        outbox = Outbox(_nothing, protocol)
        outbox.start()
        speaker = Speaker(outbox, sample_rate=8000, chunk_ms=100, lead_ms=0, playout_ack=True)
        play = asyncio.ensure_future(speaker.play(_audio(1.0)))
        while len(_marks(protocol)) < 3:
            await asyncio.sleep(0.01)
        # The server has played only the first chunk (a slow network), whatever the clock.
        speaker.on_played(_marks(protocol)[0])
        heard = speaker.heard_s()
        speaker.on_played("not-ours")  # an unknown mark changes nothing
        heard_again = speaker.heard_s()
        speaker.interrupt()
        await play
        await outbox.close(0.2)
        return [type(c) for c in protocol.commands[:4]], heard, heard_again

    kinds, heard, heard_again = asyncio.run(scenario())
    assert kinds == [media.Audio, media.Mark, media.Audio, media.Mark]
    assert 0.1 <= heard < 0.15, heard  # the acked 100 ms, plus the moments since
    assert heard_again >= heard


def test_a_prompt_whose_acks_never_come_still_ends():
    async def scenario() -> bool:
        protocol = Recording()
        outbox = Outbox(_nothing, protocol)
        outbox.start()
        speaker = Speaker(outbox, sample_rate=8000, chunk_ms=100, lead_ms=0, playout_ack=True)
        playback = await asyncio.wait_for(speaker.play(_audio(0.3)), 10)
        await outbox.close(0.2)
        return playback.completed

    assert asyncio.run(scenario())


def test_a_clear_purges_queued_audio_and_its_marks():
    async def scenario() -> list[media.MediaCommand]:
        protocol = Recording()
        gate = asyncio.Event()

        async def blocked(message: media.WireMessage) -> None:
            await gate.wait()

        outbox = Outbox(blocked, protocol)
        outbox.start()
        await outbox.send(media.Audio(np.zeros(800, np.int16), 8000))
        await asyncio.sleep(0.05)  # the first one is being sent (blocked)
        await outbox.send(media.Audio(np.zeros(800, np.int16), 8000))
        await outbox.send(media.Mark("a2"))
        await outbox.send(media.Transfer("+33123"))
        outbox.send_break_now()
        gate.set()
        await outbox.close(1.0)
        return protocol.commands

    sent = asyncio.run(scenario())
    assert [type(c) for c in sent] == [media.Audio, media.Clear, media.Transfer]
