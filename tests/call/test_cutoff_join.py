"""Cut-offs inside a real session: a continuation within the join window undoes the turn
taken for the first part, stops its reply, and the joined audio is answered once. Media
time comes from the frames, so the join window is exact; the wall clock only waits for
the bot."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.call.harness import Call, ScriptedSTT, make_services, recording_16k, until

FLOW = Path(__file__).parents[1] / "e2e" / "flows" / "spine.yaml"
REPROMPT = "Sorry, you can ask for an agent."


def _scenario(join_window_ms: int) -> tuple[list[str], ScriptedSTT, float, dict]:
    speech = recording_16k("agent-loginok")
    # Only the whole sentence (both parts) is a request for an agent; a part alone is a
    # clause that sounds finished (a part ending on "um" would not end the turn at 400 ms:
    # tests/call/test_end_of_turn.py).
    stt = ScriptedSTT(lambda pcm: "agent" if pcm.size > speech.size * 1.5 else "banana.")

    async def run() -> tuple[list[str], float, dict]:
        services = make_services(FLOW, stt, listen={"join_window_ms": join_window_ms})
        async with Call(services) as call:
            assert await until(lambda: "streamAudio" in call.kinds())  # the greeting
            assert await until(lambda: not call.session.speaker.speaking, timeout=20)
            await call.silence(0.5)
            greeting = len(call.sent)
            await call.feed(speech)
            await call.silence(0.5)  # the 400 ms hangover ends the turn: "banana."
            # Media time stands still while the bot answers the first part...
            assert await until(lambda: "streamAudio" in call.kinds()[greeting:])
            await call.feed(speech)  # ...and the caller goes on, 0.5 s after they stopped
            await call.silence(1.0)
            if join_window_ms:  # the joined sentence answered: a transfer
                assert await until(lambda: call.kinds()[-1] == "transfer", timeout=20)
            else:  # both parts answered, one after the other
                assert await until(lambda: call.session.turns >= 2
                                   and not call.session.speaker.speaking, timeout=20)
            retries = call.session.state.retries
            kinds = call.kinds()[greeting:]
        services.close()
        return kinds, services.metrics.value("voicebot_turns_joined_total"), retries

    kinds, joined, retries = asyncio.run(run())
    return kinds, stt, joined, retries


def test_a_continuation_withdraws_the_reply_and_the_whole_sentence_is_answered():
    kinds, stt, joined, retries = _scenario(join_window_ms=1000)
    assert joined == 1
    # The re-prompt to "banana." had begun; it was broken off, then the one answer: transfer.
    assert kinds[0] == "streamAudio" and "break" in kinds and kinds[-1] == "transfer"
    assert kinds.index("break") < len(kinds) - 1
    assert max(stt.calls) > recording_16k("agent-loginok").size * 1.5
    assert not retries, "the no-match of the withdrawn turn does not count"


def test_without_a_join_window_the_first_part_is_a_turn_of_its_own():
    kinds, stt, joined, retries = _scenario(join_window_ms=0)
    assert joined == 0
    # "banana." was answered (a no-match), then the second part alone: no transfer either.
    assert "transfer" not in kinds
