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
