"""Endpointer timing, driven by frame times alone (the injected clock), so exact."""

from __future__ import annotations

import numpy as np

from voicebot.audio.endpointer import (
    Endpointer,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
)
from voicebot.audio.frame import FRAME_SAMPLES, AudioFrame


def run(pattern: str, **kw) -> list[tuple[int, object]]:
    """Feed one 20 ms frame per character ('s' speech, '.' silence); return (frame, event)."""
    ep = Endpointer(**kw)
    out = []
    for i, ch in enumerate(pattern):
        pcm = np.full(FRAME_SAMPLES, i, np.int16)  # each frame's samples hold its index
        for event in ep.push(AudioFrame(pcm, i * 0.02), ch == "s"):
            out.append((i, event))
    return out


def test_speech_starts_after_min_speech_and_reports_true_onset():
    events = run("....ssssss", min_speech_ms=120)
    assert len(events) == 1
    frame, event = events[0]
    assert isinstance(event, SpeechStarted)
    assert frame == 4 + 6 - 1  # the sixth speech frame (120 ms) confirms it
    assert event.onset == 4 * 0.02  # but the onset is the first speech frame


def test_short_burst_is_not_speech():
    assert run("..sss......", min_speech_ms=120) == []


def test_single_dropout_inside_onset_is_tolerated():
    events = run("sss.sss", min_speech_ms=120, onset_gap_frames=1)
    assert [type(e) for _, e in events] == [SpeechStarted]


def test_hangover_ends_turn_exactly():
    # 10 speech frames, then silence: with a 200 ms hangover the end is the 10th silent frame.
    events = run("s" * 10 + "." * 15, min_speech_ms=100, hangover_ms=200,
                 speculative_after_ms=None, preroll_ms=0)
    kinds = [(i, type(e)) for i, e in events]
    assert kinds == [(4, SpeechStarted), (19, SpeechEnded)]
    end = events[-1][1]
    assert abs(end.last_speech - 10 * 0.02) < 1e-9
    assert end.speech_ms == 200
    # Without speculation the audio stops at the last speech frame.
    assert end.audio.size == 10 * FRAME_SAMPLES


def test_pause_then_resume_then_end():
    pattern = "s" * 8 + "." * 10 + "s" * 5 + "." * 25
    events = run(pattern, min_speech_ms=100, hangover_ms=400, speculative_after_ms=150,
                 preroll_ms=0)
    kinds = [type(e) for _, e in events]
    assert kinds == [SpeechStarted, SpeechPaused, SpeechResumed, SpeechPaused, SpeechEnded]
    first_pause = events[1][1]
    assert first_pause.audio.size == (8 + 7) * FRAME_SAMPLES  # 150 ms = 7 frames of silence
    second_pause, end = events[3][1], events[4][1]
    # The final utterance is exactly the audio the second speculative run saw.
    assert np.array_equal(second_pause.audio, end.audio)


def test_preroll_keeps_audio_from_before_the_onset():
    events = run("." * 20 + "s" * 10 + "." * 30, min_speech_ms=100, hangover_ms=200,
                 preroll_ms=100, speculative_after_ms=None)
    end = events[-1][1]
    assert isinstance(end, SpeechEnded)
    first_sample_frame = int(end.audio[0])  # frames carry their own index
    assert first_sample_frame == 20 - 5  # 100 ms = 5 frames before the onset


def test_max_utterance_forces_an_end():
    events = run("s" * 60, min_speech_ms=100, max_utterance_s=1.0, preroll_ms=0)
    ends = [e for _, e in events if isinstance(e, SpeechEnded)]
    assert len(ends) == 1 and ends[0].forced
    assert ends[0].audio.size == 50 * FRAME_SAMPLES


def test_speech_within_the_join_window_continues_the_turn():
    # "In the" (10 frames), a 500 ms pause (the hangover of 400 ms ends the turn), then
    # "afternoon" (10 frames): the second part starts a turn that joins the first.
    pattern = "s" * 10 + "." * 25 + "s" * 10 + "." * 25
    events = run(pattern, min_speech_ms=100, hangover_ms=400, preroll_ms=0,
                 speculative_after_ms=None, join_window_ms=900)
    kinds = [(i, type(e)) for i, e in events]
    assert kinds == [(4, SpeechStarted), (29, SpeechEnded), (39, SpeechStarted), (64, SpeechEnded)]
    first, resumed, joined = events[1][1], events[2][1], events[3][1]
    assert not first.joined and resumed.joins and joined.joined
    assert resumed.onset == 0.0  # the turn started with the first part
    assert joined.speech_ms == 400
    # One utterance: both parts and the pause between them, frame for frame.
    assert [int(v) for v in joined.audio[::FRAME_SAMPLES]] == list(range(45))


def test_speech_after_the_join_window_is_a_new_turn():
    # A 1 s pause against a 900 ms window: a new turn, its audio its own (and pre-roll).
    pattern = "s" * 10 + "." * 50 + "s" * 10 + "." * 25
    events = run(pattern, min_speech_ms=100, hangover_ms=400, preroll_ms=100,
                 speculative_after_ms=None, join_window_ms=900)
    started, ended = events[2][1], events[3][1]
    assert not started.joins and not ended.joined and started.onset == 60 * 0.02
    assert [int(v) for v in ended.audio[::FRAME_SAMPLES]] == list(range(55, 70))


def test_a_closed_join_makes_the_next_speech_a_new_turn():
    ep = Endpointer(min_speech_ms=100, hangover_ms=400, preroll_ms=0,
                    speculative_after_ms=None, join_window_ms=900)
    pattern = "s" * 10 + "." * 25 + "s" * 10 + "." * 25
    events = []
    for i, ch in enumerate(pattern):
        pcm = np.full(FRAME_SAMPLES, i, np.int16)
        events += ep.push(AudioFrame(pcm, i * 0.02), ch == "s")
        if i == 30:
            ep.close_join()  # the bot acted on the first turn (say, a transfer)
    assert not events[2].joins and not events[3].joined
    assert events[3].audio.size == 10 * FRAME_SAMPLES


def test_no_join_window_no_join():
    pattern = "s" * 10 + "." * 25 + "s" * 10 + "." * 25
    events = run(pattern, min_speech_ms=100, hangover_ms=400, preroll_ms=0,
                 speculative_after_ms=None)
    assert not any(getattr(e, "joins", False) or getattr(e, "joined", False)
                   for _, e in events)


def decided(pattern: str, verdicts: dict[int, bool], **kw) -> list[tuple[int, object]]:
    """As run(), with the pause's transcript verdict (unfinished?) given after frame i."""
    ep = Endpointer(**kw)
    out: list[tuple[int, object]] = []
    for i, ch in enumerate(pattern):
        pcm = np.full(FRAME_SAMPLES, i, np.int16)
        out += [(i, e) for e in ep.push(AudioFrame(pcm, i * 0.02), ch == "s")]
        if i in verdicts:
            out += [(i, e) for e in ep.decide(verdicts[i])]
    return out


EOT = dict(min_speech_ms=100, hangover_ms=400, preroll_ms=0, speculative_after_ms=200,
           unfinished_hangover_ms=900)


def test_a_finished_transcript_ends_the_turn_at_the_hangover():
    # 10 speech frames; the pause's transcript comes 60 ms after the run started (frame
    # 22) and looks finished: the turn ends at the 20th silent frame, as a fixed hangover.
    events = decided("s" * 10 + "." * 60, {22: False}, **EOT)
    ends = [(i, e) for i, e in events if isinstance(e, SpeechEnded)]
    assert [(i, e.reason) for i, e in ends] == [(29, "finished")]


def test_a_late_finished_transcript_ends_the_turn_when_it_comes():
    # Whisper was slow: the transcript comes at the 30th silent frame (600 ms), past the
    # hangover. The turn ends then, not at the longer wait for unfinished speech.
    events = decided("s" * 10 + "." * 60, {39: False}, **EOT)
    ends = [(i, e) for i, e in events if isinstance(e, SpeechEnded)]
    assert [(i, e.reason) for i, e in ends] == [(39, "finished")]
    # Its audio is the speculative run's: cut at the pause point.
    pause = next(e for _, e in events if isinstance(e, SpeechPaused))
    assert np.array_equal(pause.audio, ends[0][1].audio)


def test_an_unfinished_transcript_waits_the_longer_silence():
    # "In the" ... the transcript ends on "the": 900 ms of silence end the turn, not 400.
    events = decided("s" * 10 + "." * 60, {22: True}, **EOT)
    ends = [(i, e) for i, e in events if isinstance(e, SpeechEnded)]
    assert [(i, e.reason) for i, e in ends] == [(10 + 45 - 1, "unfinished")]


def test_an_unfinished_pause_then_the_rest_is_one_turn():
    # "In the" (10), 700 ms pause, "afternoon" (10), silence: one turn, no join needed;
    # the second pause's transcript looks finished.
    pattern = "s" * 10 + "." * 35 + "s" * 10 + "." * 40
    events = decided(pattern, {22: True, 67: False}, **EOT)
    kinds = [type(e) for _, e in events]
    assert kinds == [SpeechStarted, SpeechPaused, SpeechResumed, SpeechPaused, SpeechEnded]
    end = events[-1][1]
    assert end.reason == "finished" and end.speech_ms == 400 and not end.joined


def test_no_transcript_by_the_longer_silence_ends_the_turn_anyway():
    events = decided("s" * 10 + "." * 60, {}, **EOT)
    ends = [(i, e) for i, e in events if isinstance(e, SpeechEnded)]
    assert [(i, e.reason) for i, e in ends] == [(54, "no_transcript")]


def test_a_verdict_on_a_pause_the_caller_ended_is_ignored():
    ep = Endpointer(**EOT)
    assert ep.decide(True) == []  # no speech at all
    events = decided("s" * 10 + "." * 5 + "s" * 10 + "." * 50, {16: True}, **EOT)
    # The verdict came after the caller resumed (no pause pending): the second pause
    # is undecided and ends at the longer silence.
    ends = [e.reason for _, e in events if isinstance(e, SpeechEnded)]
    assert ends == ["no_transcript"]


def test_fixed_hangover_without_the_transcript_policy():
    events = decided("s" * 10 + "." * 60, {22: True}, min_speech_ms=100, hangover_ms=400,
                     preroll_ms=0, speculative_after_ms=200)
    assert [(i, e.reason) for i, e in events if isinstance(e, SpeechEnded)] == [
        (29, "silence")]


def test_no_transcript_coming_leaves_the_turn_to_the_hangover():
    # The STT threads were busy and the pause's speculative run was skipped (None): the
    # hangover ends the turn, not the longer wait for a transcript that will not come.
    events = decided("s" * 10 + "." * 60, {20: None}, **EOT)
    assert [(i, e.reason) for i, e in events if isinstance(e, SpeechEnded)] == [
        (29, "silence")]
