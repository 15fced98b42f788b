"""Call recording: both sides of a call in one stereo WAV, written as the call goes.

Left is the caller as voicebot received it, right is the bot as the caller heard it,
both on the call's media time (the caller's frame clock). The bot's audio is placed
where the far end plays it: the speaker's model of the media server's play-out queue
gives a clock time for each chunk, and the latest caller frame ties that clock to media
time. Audio the bot sent but a `break` cut before it was heard is removed, so the file
sounds like the call did.

Nothing is written ahead of the caller's media time: bot audio scheduled for later is
held until the caller's clock passes it, which is what lets a later `break` still cut
it. Every second the new samples are appended and the header's sizes rewritten, so a
crash leaves a playable file that lacks at most the last second. A second of 8 kHz
stereo is 32 KB, written on the event loop (page cache, no fsync): bench/recording.py
measures the whole recorder's cost per caller frame.
"""

from __future__ import annotations

import asyncio
import logging
import re
import struct
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np

from voicebot.audio.frame import AudioFrame
from voicebot.config import Config
from voicebot.telephony.resample import StreamResampler

log = logging.getLogger(__name__)

HEADER_BYTES = 44
COMMIT_EVERY_S = 1.0
# A caller frame this far from where the last one ended is a gap (filled with silence);
# closer than that it is the same stream with timestamp noise.
GAP_TOLERANCE_S = 0.005
# A longer gap (a media server that jumped its clock) is recorded as this much silence,
# so one bogus timestamp cannot make the recorder allocate hours of zeros.
MAX_GAP_S = 10.0
# Bot chunks closer than this to the previous one's end continue the same prompt.
CONTIGUOUS_S = 0.002


def _header(channels: int, rate: int, data_bytes: int) -> bytes:
    block = channels * 2
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, channels, rate,
        rate * block, block, 16, b"data", data_bytes,
    )


class GrowingWav:
    """A 16-bit PCM WAV file whose header is kept true as samples are appended."""

    def __init__(self, path: Path, rate: int, channels: int = 2) -> None:
        self.path = path
        self.rate = rate
        self.channels = channels
        self.frames = 0
        self._file: BinaryIO = open(path, "wb")  # closed by close()
        self._file.write(_header(channels, rate, 0))
        self._file.flush()

    def append(self, interleaved: np.ndarray) -> None:
        self._file.seek(0, 2)
        self._file.write(interleaved.astype("<i2").tobytes())
        self.frames += interleaved.size // self.channels
        self._file.seek(0)
        self._file.write(_header(self.channels, self.rate, self.frames * self.channels * 2))
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


class CallRecording:
    """Receives the caller's frames and the bot's chunks; writes the stereo file."""

    def __init__(self, path: Path, *, rate: int = 8000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self.wav = GrowingWav(path, rate)
        self.failed = False  # the file could not be written: the call goes on unrecorded
        self.closed = False
        self._committed = 0  # samples written to the file (both channels)
        self._left = np.zeros(0, np.int16)  # caller samples from _committed on
        self._right = np.zeros(0, np.int16)  # bot samples from _committed on
        self._caller_in: StreamResampler | None = None
        self._caller_rate = 0
        self._caller_end_s = 0.0  # media time where the caller's last frame ended
        self._skipped_s = 0.0  # media time left out of the file (gaps beyond MAX_GAP_S)
        # Media time <-> clock: media time `_anchor_media` was reached at `_anchor_clock`.
        self._anchor_media = 0.0
        self._anchor_clock = clock()
        self._bot: StreamResampler | None = None
        self._bot_rate = 0
        self._bot_next = 0  # absolute sample where the current prompt's next output goes
        self._bot_end_s = -1.0  # media time where the current prompt's input ends

    @property
    def path(self) -> Path:
        return self.wav.path

    def media_time(self, at: float | None = None) -> float:
        """The media time corresponding to clock time `at` (now by default)."""
        return self._anchor_media + ((self.clock() if at is None else at) - self._anchor_clock)

    def _position(self, media_s: float) -> int:
        """The file sample at media time `media_s`."""
        return round((media_s - self._skipped_s) * self.rate)

    # -- the caller ------------------------------------------------------------------

    def caller(self, frame: AudioFrame) -> None:
        if self.failed or self.closed:
            return
        if self._caller_in is None or frame.sample_rate != self._caller_rate:
            self._caller_in = StreamResampler(frame.sample_rate, self.rate)
            self._caller_rate = frame.sample_rate
        pieces = []
        gap = frame.time - self._caller_end_s
        if gap > MAX_GAP_S:
            self._skipped_s += gap - MAX_GAP_S
            gap = MAX_GAP_S
        if gap > GAP_TOLERANCE_S:  # lost or unsent audio: silence keeps the clock true
            pieces.append(self._caller_in.process(np.zeros(round(gap * frame.sample_rate),
                                                           np.int16)))
        pieces.append(self._caller_in.process(frame.pcm))
        duration = frame.pcm.size / frame.sample_rate
        self._caller_end_s = max(self._caller_end_s, frame.time) + duration
        self._anchor_media, self._anchor_clock = self._caller_end_s, self.clock()
        self._left = np.concatenate([self._left, *pieces])
        if self._left.size >= self.rate * COMMIT_EVERY_S:
            self._commit(self._committed + self._left.size)

    # -- the bot ---------------------------------------------------------------------

    def bot(self, pcm: np.ndarray, rate: int, starts_at: float) -> None:
        """A chunk of the bot's audio that the far end starts playing at clock `starts_at`."""
        if self.failed or self.closed or pcm.size == 0:
            return
        start_s = self.media_time(starts_at)
        if (self._bot is None or rate != self._bot_rate
                or abs(start_s - self._bot_end_s) > CONTIGUOUS_S):
            self._end_prompt()
            self._bot = StreamResampler(rate, self.rate)
            self._bot_rate = rate
            self._bot_next = self._position(start_s)
        self._place(self._bot.process(pcm))
        self._bot_end_s = start_s + pcm.size / rate

    def cut(self, at: float | None = None) -> None:
        """A `break` at clock `at` (now): the bot's audio from then on was never heard."""
        if self.failed or self.closed:
            return
        self._bot = None
        self._bot_end_s = -1.0
        keep = max(0, self._position(self.media_time(at)) - self._committed)
        self._right = self._right[:keep]

    def _end_prompt(self) -> None:
        if self._bot is not None:
            self._place(self._bot.flush())
            self._bot = None

    def _place(self, samples: np.ndarray) -> None:
        start = self._bot_next - self._committed
        self._bot_next += samples.size
        if start < 0:  # already written (a late chunk): keep only what is still ahead
            samples = samples[-start:]
            start = 0
        if samples.size == 0:
            return
        end = start + samples.size
        if self._right.size < end:
            self._right = np.concatenate([self._right, np.zeros(end - self._right.size, np.int16)])
        self._right[start:end] = samples

    # -- the file --------------------------------------------------------------------

    def _commit(self, until: int) -> None:
        n = until - self._committed
        if n <= 0:
            return
        frames = np.zeros((n, 2), np.int16)
        left, right = self._left[:n], self._right[:n]
        frames[: left.size, 0] = left
        frames[: right.size, 1] = right
        try:
            self.wav.append(frames.reshape(-1))
        except OSError as exc:  # a full disk costs the recording, never the call
            log.warning("recording %s stopped: %s", self.wav.path, exc)
            self.failed = True
            self.wav.close()
            return
        self._left, self._right = self._left[n:], self._right[n:]
        self._committed = until

    def close(self) -> None:
        """Write what is left: the caller's audio, and the bot's up to now (a prompt still
        queued when the call ended was not heard). Later calls do nothing."""
        if self.failed or self.closed:
            return
        self.closed = True
        if self._caller_in is not None:
            self._left = np.concatenate([self._left, self._caller_in.flush()])
            self._caller_in = None
        heard_until = self._position(self.media_time()) - self._committed
        self._end_prompt()
        self._right = self._right[: max(0, heard_until)]
        self._commit(self._committed + max(self._left.size, self._right.size))
        self.wav.close()


# -- where recordings live ---------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def recording_path(directory: Path, call_id: str, now: float | None = None) -> Path:
    """A new file for this call: UTC start time, then the call id made safe for a path
    (a call id comes from the media server and must not be able to name another path)."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    safe = _UNSAFE.sub("_", call_id).strip("._")[:80] or "call"
    return directory / f"{stamp:%Y%m%dT%H%M%SZ}-{safe}.wav"


def open_recording(config: Config, call_id: str) -> CallRecording | None:
    """A recording for this call if recording is on; None if off, or if the file cannot
    be created (the call goes on unrecorded, and the log says why)."""
    cfg = config.recording
    if not cfg.enabled:
        return None
    directory = config.resolve(cfg.path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return CallRecording(recording_path(directory, call_id), rate=cfg.sample_rate)
    except OSError as exc:
        log.warning("call %s not recorded: %s", call_id, exc)
        return None


def sweep(directory: Path, retention_days: float, now: float | None = None) -> int:
    """Delete recordings older than `retention_days` (by last write); return how many."""
    if not directory.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - retention_days * 86400
    removed = 0
    for path in directory.glob("*.wav"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another worker swept it first
            continue
    return removed


async def sweep_forever(directory: Path, retention_days: float, every_s: float = 3600) -> None:
    """Sweep now and then every `every_s` (off the event loop: a folder may be large)."""
    while True:
        try:
            removed = await asyncio.to_thread(sweep, directory, retention_days)
            if removed:
                log.info("recordings: deleted %d older than %s days", removed, retention_days)
        except OSError as exc:
            log.warning("recordings: sweep of %s failed: %s", directory, exc)
        await asyncio.sleep(every_s)
