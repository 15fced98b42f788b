"""The STT scheduler: a caller whose turn has ended comes before other calls' guesses.

No wall clock: the scheduler's clock is a fixed number, threads are held and released
with events, and each check waits on a future or an event (bounds of seconds that hold
with both cores busy)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.call.harness import Call, ScriptedSTT, make_services, occupy_thread, recording_16k, until
from voicebot.call.stt_scheduler import STTScheduler
from voicebot.call.tts_scheduler import TTSScheduler

FLOW = Path(__file__).parents[1] / "e2e" / "flows" / "spine.yaml"


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_final_transcription_outranks_a_waiting_guess():
    clock = Clock()
    scheduler = STTScheduler(workers=1, speculative_lead_s=0.2, clock=clock)
    ran: list[str] = []
    release = occupy_thread(scheduler)
    guess = scheduler.submit_speculative(ran.append, "B: guess, filed first")
    final = scheduler.submit(ran.append, "A: final")
    nlu = scheduler.submit(ran.append, "A: nlu")  # urgent too, after A's final
    release.set()
    for future in (guess, final, nlu):
        future.result(10)
    assert ran == ["A: final", "A: nlu", "B: guess, filed first"]
    scheduler.shutdown()


def test_a_guess_whose_turn_has_ended_is_not_overtaken_by_later_turns():
    # B's guess was filed at 100.0; its turn ended at 100.2 (the lead). A's turn ended at
    # 100.5: B's caller has waited longer, and the guess is B's final transcript now.
    clock = Clock()
    scheduler = STTScheduler(workers=1, speculative_lead_s=0.2, clock=clock)
    ran: list[str] = []
    release = occupy_thread(scheduler)
    guess = scheduler.submit_speculative(ran.append, "B")
    clock.now = 100.5
    final = scheduler.submit(ran.append, "A")
    release.set()
    guess.result(10)
    final.result(10)
    assert ran == ["B", "A"]
    scheduler.shutdown()


def test_a_guess_that_became_its_turns_transcript_is_due_now():
    clock = Clock()
    scheduler = STTScheduler(workers=1, speculative_lead_s=5.0, clock=clock)
    ran: list[str] = []
    release = occupy_thread(scheduler)
    other = scheduler.submit_speculative(ran.append, "B: guess, turn not ended")
    clock.now = 100.1
    mine = scheduler.submit_speculative(ran.append, "A: guess, turn ended")
    scheduler.promote(mine)
    release.set()
    other.result(10)
    mine.result(10)
    assert ran == ["A: guess, turn ended", "B: guess, turn not ended"]
    scheduler.shutdown()


def test_a_guess_whose_caller_resumed_is_dropped_before_it_starts():
    scheduler = STTScheduler(workers=1, clock=Clock())
    ran: list[str] = []
    release = occupy_thread(scheduler)
    guess = scheduler.submit_speculative(ran.append, "guess")
    assert scheduler.busy() == 2
    assert guess.cancel()  # the session cancels it when the caller speaks again
    assert scheduler.busy() == 1, "a dropped guess takes no place in the queue"
    after = scheduler.submit(ran.append, "final")
    release.set()
    after.result(10)
    assert ran == ["final"]
    scheduler.shutdown()


def test_guesses_can_be_kept_to_free_threads():
    always = STTScheduler(workers=1, clock=Clock())
    release = occupy_thread(always)
    assert always.may_speculate(), "by default every guess is filed, behind due finals"
    release.set()
    always.shutdown()
    scheduler = STTScheduler(workers=2, idle_workers=1, clock=Clock())
    assert scheduler.may_speculate()
    first = occupy_thread(scheduler)
    assert scheduler.may_speculate(), "one thread is still free"
    second = occupy_thread(scheduler)
    assert not scheduler.may_speculate(), "both threads busy: a guess would delay a final"
    first.set()
    second.set()
    # Once a job's result is out, its thread counts as free again.
    scheduler.submit(int).result(10)
    assert scheduler.may_speculate()
    scheduler.shutdown()

    strict = STTScheduler(workers=2, idle_workers=2, clock=Clock())
    release = occupy_thread(strict)
    assert not strict.may_speculate(), "idle_workers=2: guesses only on an idle server"
    release.set()
    strict.shutdown()
    with pytest.raises(ValueError):
        STTScheduler(workers=1, idle_workers=2)
    with pytest.raises(ValueError):
        STTScheduler(workers=1, idle_workers=-1)


def test_each_job_reports_its_wait_and_run():
    scheduler = STTScheduler(workers=1, clock=Clock())
    seen: list[tuple[float, float]] = []
    scheduler.on_run = lambda waited, ran: seen.append((waited, ran))
    scheduler.submit(sum, [1, 2]).result(10)
    assert len(seen) == 1 and min(seen[0]) >= 0
    scheduler.on_run = lambda waited, ran: 1 / 0  # a broken observer loses no result
    assert scheduler.submit(sum, [3]).result(10) == 3
    scheduler.shutdown()


def _two_calls(scheduler: STTScheduler) -> tuple[list[int], float, int]:
    """Call B pauses mid-sentence while the one STT thread is held by a third call's
    transcription, then call A's turn ends; then the thread is freed. Returns what reached
    STT in order, the guesses skipped, and the size of A's recording."""
    speech = recording_16k("agent-loginok")  # "Agent logged in."
    other = recording_16k("auth-thankyou")  # B's words: "Thank you."
    stt = ScriptedSTT("agent")

    async def scenario() -> float:
        services = make_services(FLOW, stt, listen={"speculative_after_ms": 100,
                                                    "hangover_ms": 600})
        services.stt_executor = scheduler
        services.tts_executor = TTSScheduler(workers=1)  # speech has threads of its own
        release = await asyncio.to_thread(occupy_thread, scheduler)
        async with Call(services) as a, Call(services) as b:
            await b.silence(0.5)
            await b.feed(other)
            await b.silence(0.3)  # a pause: past speculative_after_ms, under the hangover
            await a.silence(0.5)
            await a.feed(speech)
            await a.silence(1.0)  # A's turn has ended: its final run is queued
            assert await until(lambda: scheduler.busy() >= 2)
            release.set()
            assert await until(lambda: "transfer" in a.kinds())
            skipped = services.metrics.value("voicebot_speculative_total", outcome="skipped")
        services.close()
        return skipped

    skipped = asyncio.run(scenario())
    return list(stt.calls), skipped, speech.size


def test_a_callers_final_run_goes_before_another_calls_waiting_guess():
    """On a FIFO pool A's final would run after B's guess, filed first. Here B's guess is
    due when B's turn would end (a lead longer than this test takes, under any load), A's
    final is due now: A's transcript is the next thing the freed thread does."""
    calls, skipped, a_size = _two_calls(STTScheduler(workers=1, speculative_lead_s=30.0))
    assert skipped == 0
    assert len(calls) >= 2 and calls[0] > a_size > calls[1], calls


def test_with_idle_workers_a_guess_on_busy_threads_is_not_filed():
    calls, skipped, a_size = _two_calls(STTScheduler(workers=1, speculative_lead_s=30.0,
                                                     idle_workers=1))
    assert skipped >= 1
    assert calls and calls[0] > a_size, calls
