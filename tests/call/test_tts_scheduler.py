"""The TTS scheduler serves the most urgent piece first; replies are cut for a fast first
piece; the flow's fixed prompts are synthesised at start-up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from tests.call.harness import occupy_thread
from voicebot.audio.sentences import reply_pieces
from voicebot.call.prompt_cache import prompt_pieces, static_prompts, synthesise_prompts
from voicebot.call.tts_scheduler import TTSScheduler
from voicebot.call.tts_stream import SpokenText, stream_speech
from voicebot.flow.loader import load_flow
from voicebot.plugins.base import NoOptions
from voicebot.plugins.tts_cache import CachedTTS

ROOT = Path(__file__).parents[2]


def test_the_earliest_deadline_runs_first_and_a_cancelled_job_never_runs():
    scheduler = TTSScheduler(workers=1)
    ran: list[str] = []
    release = occupy_thread(scheduler)
    # Call A's second sentence (needed in 2 s, when its first runs out) was filed before
    # call B's first words (needed now): B's go first.
    later = scheduler.submit_by(102.0, ran.append, "A: second sentence")
    gone = scheduler.submit_by(100.5, ran.append, "C: interrupted")
    first = scheduler.submit_by(100.0, ran.append, "B: first words")
    same = scheduler.submit_by(100.0, ran.append, "D: first words, filed after B")
    assert gone.cancel()
    release.set()
    for future in (later, first, same):
        future.result(10)
    assert ran == ["B: first words", "D: first words, filed after B", "A: second sentence"]
    scheduler.shutdown()


def test_errors_reach_the_caller_and_shutdown_refuses_new_work():
    scheduler = TTSScheduler(workers=2)
    with pytest.raises(ZeroDivisionError):
        scheduler.submit(lambda: 1 / 0).result(10)
    assert scheduler.submit(sum, [1, 2]).result(10) == 3
    scheduler.shutdown()
    with pytest.raises(RuntimeError):
        scheduler.submit(sum, [1])


class _Voice:
    """A TTS that remembers what it was asked, in order; 10 ms of audio per character."""

    name = "fake"
    sample_rate = 8000
    Options = NoOptions

    def __init__(self) -> None:
        self.texts: list[str] = []

    def synthesize(self, text: str) -> np.ndarray:
        self.texts.append(text)
        return np.ones(80 * len(text), np.int16)


def test_a_stream_files_its_later_pieces_by_when_they_are_needed():
    voice = _Voice()
    scheduler = TTSScheduler(workers=1)

    async def run() -> list[int]:
        spoken = SpokenText()
        text = "I see, that is point three for your call today. Tell me more about it."
        return [pcm.size async for pcm in stream_speech(voice, text, 8000, scheduler, spoken)]

    sizes = asyncio.run(run())
    scheduler.shutdown()
    # The long first sentence is cut after its first clause: the caller waits for 6
    # characters' synthesis, not 50.
    assert voice.texts == ["I see,", "that is point three for your call today.",
                           "Tell me more about it."]
    assert sizes == [80 * len(t) for t in voice.texts]


def test_reply_pieces_cut_only_a_long_first_sentence():
    assert reply_pieces("Sure, transferring you now.") == ["Sure, transferring you now."]
    assert reply_pieces("Noted, caller 0612345678, this is turn 3. Please go on.") == [
        "Noted,", "caller 0612345678, this is turn 3.", "Please go on."]
    assert reply_pieces("One two three four five six seven eight nine ten eleven.") == [
        "One two three four five six seven eight nine ten eleven."]  # no clause to cut at


def test_the_flows_fixed_prompts_are_synthesised_once_at_start():
    flow = load_flow(ROOT / "flows" / "account_lookup.yaml")
    prompts = static_prompts(flow)
    assert "Sorry, I didn't hear anything." in prompts
    assert not any("{{" in p for p in prompts), "a prompt with a placeholder is made per call"
    voice = _Voice()
    tts = CachedTTS(voice)
    pieces = prompt_pieces(flow, limit=100)
    assert synthesise_prompts(tts, pieces) == len(pieces)
    # Every piece a call would ask for is now a cache hit: no synthesis while it waits.
    asked = len(voice.texts)
    for prompt in prompts:
        for piece in reply_pieces(prompt):
            assert tts.lookup(piece) is not None, piece
    assert len(voice.texts) == asked
