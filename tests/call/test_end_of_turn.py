"""The end-of-turn decision: which transcripts sound unfinished (pure), and a session
that waits for a caller who paused in mid-sentence, without a join."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.call.harness import Call, ScriptedSTT, make_services, recording_16k, until
from voicebot.call.end_of_turn import last_word, looks_unfinished

FLOW = Path(__file__).parents[1] / "e2e" / "flows" / "spine.yaml"


@pytest.mark.parametrize("text", [
    "In the", "in the.", "I would like to", "My order number is on the, um",
    "I called last week and", "I called last week, and...", "Tuesday or", "So, uh.",
    "I moved last month,", "please call me back -", "I'd like", "It is for my",
    "If", "because\u2026",
])
def test_sounds_unfinished(text):
    assert looks_unfinished(text)


@pytest.mark.parametrize("text", [
    # Whisper writes a full stop after most clauses, finished or not: the words decide.
    "In the afternoon.", "in the afternoon if possible", "I would like a refund.",
    "I called last week.", "yes it is", "No.", "Tuesday would suit me.", "2.",
    "Please call me back after 6 in the evening.", "agent", "", "  ", "...?",
    "That's all.", "hold it", "Mm-hmm.", "Uh-huh.",
])
def test_sounds_finished(text):
    assert not looks_unfinished(text)


def test_last_word_normalises_case_and_apostrophes():
    assert last_word("Well, I\u2019D") == "i'd"
    assert last_word("Call 0612!") == "0612"
    assert last_word("?!") is None


def _pause_in_mid_sentence(first: str) -> tuple[list[str], float, dict[str, float]]:
    """The caller says a part, pauses 600 ms (longer than the 400 ms hangover), then the
    rest. The part transcribes as `first`; both parts together as a request for an agent."""
    speech = recording_16k("agent-loginok")
    stt = ScriptedSTT(lambda pcm: "agent" if pcm.size > speech.size * 1.5 else first)

    async def run() -> tuple[list[str], float, dict[str, float]]:
        services = make_services(FLOW, stt)
        async with Call(services) as call:
            assert await until(lambda: "streamAudio" in call.kinds())  # the greeting
            assert await until(lambda: not call.session.speaker.speaking, timeout=20)
            await call.silence(0.5)
            greeting = len(call.sent)
            for _part in range(2):
                await call.feed(speech)
                await call.silence(0.6)
                # Media time stands still until the pause's transcript has been judged.
                assert await until(lambda: call.session._spec is None
                                   or call.session._spec[1].done(), timeout=30)
                await asyncio.sleep(0.05)  # the verdict's callback runs on the loop
            # Both cases end in the transfer: the whole sentence asks for an agent.
            assert await until(lambda: "transfer" in call.kinds(), timeout=30), call.kinds()
            kinds = call.kinds()[greeting:]
        services.close()
        m = services.metrics
        ends = {r: m.value("voicebot_turn_ends_total", reason=r)
                for r in ("finished", "unfinished", "no_transcript", "silence")}
        return kinds, m.value("voicebot_turns_joined_total"), ends

    return asyncio.run(run())


def test_a_pause_after_an_unfinished_part_is_waited_out():
    kinds, joined, ends = _pause_in_mid_sentence("I would like to")
    # No reply to the part, nothing to withdraw: the one answer is the transfer.
    assert kinds[-1] == "transfer" and "break" not in kinds, kinds
    assert joined == 0
    assert ends["finished"] == 1 and ends["unfinished"] == 0


def test_a_pause_after_a_finished_looking_part_is_a_turn_the_join_repairs():
    kinds, joined, ends = _pause_in_mid_sentence("I would like a refund.")
    assert joined == 1, "the part was taken as a turn, and the rest joined it"
    assert kinds[-1] == "transfer", kinds
    assert ends["finished"] == 2
