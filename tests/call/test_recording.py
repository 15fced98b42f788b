"""The call recording: stereo, aligned on media time, cut at a break, playable mid-call."""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

from voicebot.audio.frame import FRAME_SAMPLES, PIPELINE_RATE, AudioFrame
from voicebot.call.recording import CallRecording, recording_path, sweep


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def tone(freq: float, seconds: float, rate: int, amp: int = 8000) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def feed_caller(rec: CallRecording, clock: Clock, pcm16k: np.ndarray, start_s: float = 0.0,
                on_frame=None) -> None:
    """The caller's audio in 20 ms frames, arriving in real time."""
    for i in range(pcm16k.size // FRAME_SAMPLES):
        at = start_s + i * 0.02
        clock.now = 100.0 + at + 0.02
        rec.caller(AudioFrame(pcm16k[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES], at))
        if on_frame is not None:
            on_frame(at + 0.02)


def read(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 2 and w.getsampwidth() == 2
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
        return data, w.getframerate()


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0


def test_both_sides_aligned_on_media_time(tmp_path: Path) -> None:
    clock = Clock()
    rec = CallRecording(tmp_path / "a.wav", clock=clock)
    sent = False

    def bot_speaks(media_now: float) -> None:
        nonlocal sent
        if media_now >= 0.98 and not sent:  # the bot's chunk plays from media 1.0 to 1.5
            rec.bot(tone(1000, 0.5, 8000), 8000, starts_at=100.0 + 1.0)
            sent = True

    feed_caller(rec, clock, tone(300, 3.0, PIPELINE_RATE), on_frame=bot_speaks)
    rec.close()
    data, rate = read(tmp_path / "a.wav")
    assert rate == 8000
    assert abs(data.shape[0] - 3.0 * rate) <= 40
    assert rms(data[: 2 * rate, 0]) > 3000  # the caller, left, throughout
    right = data[:, 1]
    assert rms(right[int(1.02 * rate):int(1.48 * rate)]) > 4000
    assert rms(right[: int(0.98 * rate)]) < 50 and rms(right[int(1.52 * rate):]) < 50


def test_break_cuts_the_bot_where_it_was_interrupted(tmp_path: Path) -> None:
    clock = Clock()
    rec = CallRecording(tmp_path / "b.wav", clock=clock)
    events: list[str] = []

    def bot_then_break(media_now: float) -> None:
        if media_now >= 0.5 and "sent" not in events:
            rec.bot(tone(1000, 2.0, 16000), 16000, starts_at=100.0 + 0.5)  # 0.5 .. 2.5
            events.append("sent")
        if media_now >= 1.2 and "cut" not in events:
            rec.cut()  # the caller barged in at media 1.2
            events.append("cut")

    feed_caller(rec, clock, np.zeros(3 * PIPELINE_RATE, np.int16), on_frame=bot_then_break)
    rec.close()
    data, rate = read(tmp_path / "b.wav")
    right = data[:, 1]
    assert rms(right[int(0.55 * rate):int(1.15 * rate)]) > 4000
    assert rms(right[int(1.25 * rate):]) < 50, "audio after the break was never heard"


def test_a_crash_leaves_a_playable_file(tmp_path: Path) -> None:
    clock = Clock()
    rec = CallRecording(tmp_path / "c.wav", clock=clock)
    feed_caller(rec, clock, tone(300, 2.5, PIPELINE_RATE))
    # No close(): the process died here. The header already tells the written length.
    data, rate = read(tmp_path / "c.wav")
    assert 1.9 * rate <= data.shape[0] <= 2.5 * rate
    assert rms(data[:, 0]) > 3000
    rec.close()
    data, _ = read(tmp_path / "c.wav")
    assert abs(data.shape[0] - 2.5 * rate) <= 40


def test_a_gap_in_media_time_is_silence_and_a_huge_jump_is_capped(tmp_path: Path) -> None:
    clock = Clock()
    rec = CallRecording(tmp_path / "d.wav", clock=clock)
    feed_caller(rec, clock, tone(300, 1.0, PIPELINE_RATE))
    feed_caller(rec, clock, tone(300, 1.0, PIPELINE_RATE), start_s=3.0)  # 2 s gap
    feed_caller(rec, clock, tone(300, 1.0, PIPELINE_RATE), start_s=3600.0)  # an hour later
    rec.close()
    data, rate = read(tmp_path / "d.wav")
    left = data[:, 0]
    assert rms(left[int(1.1 * rate):int(2.9 * rate)]) < 50
    assert rms(left[int(3.1 * rate):int(3.9 * rate)]) > 3000
    assert data.shape[0] < 20 * rate  # 3 s of audio, 2 s of gap, a 10 s capped gap


def test_recording_path_cannot_escape_its_directory(tmp_path: Path) -> None:
    path = recording_path(tmp_path, "../../etc/passwd", now=0)
    assert path.parent == tmp_path
    assert path.name == "19700101T000000Z-etc_passwd.wav"
    assert recording_path(tmp_path, "..", now=0).name.endswith("-call.wav")


def test_sweep_deletes_recordings_older_than_retention(tmp_path: Path) -> None:
    old, new, other = tmp_path / "old.wav", tmp_path / "new.wav", tmp_path / "notes.txt"
    for p in (old, new, other):
        p.write_bytes(b"x")
    now = 1_000_000_000.0
    os.utime(old, (now - 8 * 86400, now - 8 * 86400))
    os.utime(new, (now - 6 * 86400, now - 6 * 86400))
    os.utime(other, (now - 90 * 86400, now - 90 * 86400))
    assert sweep(tmp_path, 7, now=now) == 1
    assert not old.exists() and new.exists() and other.exists()
    assert sweep(tmp_path / "missing", 7) == 0


def test_after_close_the_recording_ignores_late_audio(tmp_path: Path) -> None:
    clock = Clock()
    rec = CallRecording(tmp_path / "e.wav", clock=clock)
    feed_caller(rec, clock, tone(300, 1.0, PIPELINE_RATE))
    rec.close()
    size = (tmp_path / "e.wav").stat().st_size
    feed_caller(rec, clock, tone(300, 2.0, PIPELINE_RATE), start_s=1.0)  # a late frame
    rec.bot(tone(1000, 0.5, 8000), 8000, clock.now)
    rec.cut()
    rec.close()
    assert (tmp_path / "e.wav").stat().st_size == size


def test_a_file_that_cannot_be_written_costs_the_recording_not_the_call(tmp_path: Path) -> None:
    clock = Clock()
    rec = CallRecording(tmp_path / "f.wav", clock=clock)
    rec.wav._file.close()  # as if the disk went away: every write now fails
    rec.wav._file = open(os.devnull, "rb")  # a handle that refuses writes
    feed_caller(rec, clock, tone(300, 2.0, PIPELINE_RATE))  # must not raise
    assert rec.failed
    rec.close()
