"""Turns per-frame speech decisions into turn events.

Time comes only from the frames (media time), so the endpointer is exact under test and
on replay: no wall clock. One instance per call.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

import numpy as np

from voicebot.audio.frame import FRAME_MS, AudioFrame


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    onset: float  # media time of the first speech frame
    # The caller went on within the join window after a turn ended: this speech continues
    # that turn (its audio is prefixed), so the turn taken for the first part is void.
    joins: bool = False


@dataclass(frozen=True, slots=True)
class SpeechPaused:
    """Silence has lasted `speculative_after_ms`: worth transcribing what we have."""

    audio: np.ndarray
    last_speech: float


@dataclass(frozen=True, slots=True)
class SpeechResumed:
    """The caller spoke again after a pause: any speculative transcript is stale."""


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    audio: np.ndarray  # pre-roll + speech + the trailing silence up to the pause point
    onset: float
    last_speech: float  # media time just after the last speech frame
    speech_ms: int  # frames classified as speech, in ms (to tell an "mhm" from a sentence)
    forced: bool = False  # cut at max_utterance_s rather than by silence
    joined: bool = False  # continues a turn that ended within the join window
    # What ended it (docs/turn-taking.md "When a turn ends"): "silence" (the fixed
    # hangover), "finished" (its transcript looked finished), "unfinished" (it looked
    # unfinished and the longer silence passed), "no_transcript" (the longer silence
    # passed before the transcript came), "forced" (max_utterance_s).
    reason: str = "silence"


EndpointEvent = SpeechStarted | SpeechPaused | SpeechResumed | SpeechEnded


@dataclass(slots=True)
class _Ended:
    """The last turn, kept while a continuation could still join it."""

    frames: list[np.ndarray]  # all its frames, trailing silence included
    onset: float
    last_speech: float
    speech_frames: int


class _Verdict(Enum):
    """What the speculative transcript of the current pause says about the turn."""

    NONE = 0  # no pause yet, or the endpointer does not wait for transcripts
    PENDING = 1  # the pause's transcript is being made
    FINISHED = 2
    UNFINISHED = 3


class _State(Enum):
    IDLE = 0
    ONSET = 1  # speech seen, not yet long enough to count
    SPEECH = 2


class Endpointer:
    def __init__(
        self,
        *,
        min_speech_ms: int = 120,
        hangover_ms: int = 400,
        preroll_ms: int = 200,
        max_utterance_s: float = 15.0,
        speculative_after_ms: int | None = 150,
        onset_gap_frames: int = 1,
        join_window_ms: int | None = None,
        unfinished_hangover_ms: int | None = None,
    ) -> None:
        self.min_speech_frames = max(1, min_speech_ms // FRAME_MS)
        self.hangover_frames = max(1, hangover_ms // FRAME_MS)
        # With speculation and this set, the end of a turn waits for the pause's transcript
        # (`decide`): one that looks finished ends after `hangover_ms`, one that looks
        # unfinished (or has not come) after this. None: `hangover_ms` ends every turn.
        self.unfinished_frames = (
            None if unfinished_hangover_ms is None or speculative_after_ms is None
            else max(self.hangover_frames, unfinished_hangover_ms // FRAME_MS)
        )
        self.preroll_frames = preroll_ms // FRAME_MS
        self.max_frames = int(max_utterance_s * 1000 / FRAME_MS)
        self.pause_frames = (
            None if speculative_after_ms is None else max(1, speculative_after_ms // FRAME_MS)
        )
        # Non-speech frames tolerated inside an onset (VADs flicker on plosives).
        self.onset_gap_frames = onset_gap_frames
        # Speech starting this soon after the last turn's last speech continues that turn
        # (a caller who paused longer than the hangover); see docs/turn-taking.md.
        self.join_window_s = (join_window_ms or 0) / 1000
        self._preroll: deque[np.ndarray] = deque(maxlen=max(1, self.preroll_frames))
        self.reset()

    def reset(self) -> None:
        self._state = _State.IDLE
        self._frames: list[np.ndarray] = []
        self._preroll.clear()
        self._onset = 0.0
        self._speech_run = 0
        self._gap = 0
        self._silence = 0
        self._speech_frames = 0
        self._last_speech = 0.0
        self._paused = False
        self._verdict = _Verdict.NONE
        self._ended: _Ended | None = None
        self._since_end: list[np.ndarray] = []  # frames since the last turn ended
        self._joining = False

    def close_join(self) -> None:
        """The last turn is final (the bot acted on it): later speech is a new turn."""
        self._ended = None
        self._since_end = []

    def decide(self, unfinished: bool | None) -> list[EndpointEvent]:
        """The transcript of the current pause has come: does the caller sound finished?
        (None: no transcript will come for this pause; the hangover alone ends the turn.)

        Returns the turn's end when the silence so far is enough for that verdict (a
        finished-looking transcript that came after the hangover); else the next frames
        decide.
        The caller of this method must only pass the verdict on the current pause.
        """
        if self._state is not _State.SPEECH or self._verdict is not _Verdict.PENDING:
            return []
        self._verdict = (_Verdict.NONE if unfinished is None
                         else _Verdict.UNFINISHED if unfinished else _Verdict.FINISHED)
        reason = self._ends_turn()
        return [] if reason is None else [self._end(forced=False, reason=reason)]

    @property
    def in_speech(self) -> bool:
        return self._state is _State.SPEECH

    @property
    def speech_ms(self) -> int:
        """Speech heard so far in the current onset or utterance."""
        if self._state is _State.IDLE:
            return 0
        return self._speech_frames * FRAME_MS

    def push(self, frame: AudioFrame, is_speech: bool) -> list[EndpointEvent]:
        if self._ended is not None and self._state is not _State.SPEECH:
            if frame.time - self._ended.last_speech > self.join_window_s and (
                self._state is _State.IDLE
            ):
                self.close_join()
            else:
                self._since_end.append(frame.pcm)
        if self._state is _State.IDLE:
            return self._idle(frame, is_speech)
        if self._state is _State.ONSET:
            return self._onset_frame(frame, is_speech)
        return self._speech(frame, is_speech)

    def _idle(self, frame: AudioFrame, is_speech: bool) -> list[EndpointEvent]:
        if not is_speech:
            if self.preroll_frames:
                self._preroll.append(frame.pcm)
            return []
        self._state = _State.ONSET
        self._frames = list(self._preroll) if self.preroll_frames else []
        self._preroll.clear()
        self._onset = frame.time
        self._speech_run = 0
        self._speech_frames = 0
        self._gap = 0
        return self._onset_frame(frame, True)

    def _onset_frame(self, frame: AudioFrame, is_speech: bool) -> list[EndpointEvent]:
        self._frames.append(frame.pcm)
        if is_speech:
            self._speech_run += 1
            self._speech_frames += 1
            self._gap = 0
            self._last_speech = frame.time + FRAME_MS / 1000
        else:
            self._gap += 1
            if self._gap > self.onset_gap_frames:
                # A click or a cough, not speech: back to listening, keeping the audio as pre-roll.
                kept = self._frames[-self.preroll_frames :] if self.preroll_frames else []
                self._state = _State.IDLE
                self._frames = []
                self._speech_frames = 0
                self._preroll.extend(kept)
                return []
        if self._speech_run >= self.min_speech_frames:
            self._state = _State.SPEECH
            self._silence = 0
            self._paused = False
            self._verdict = _Verdict.NONE
            ended = self._ended
            self._joining = (
                ended is not None and self._onset - ended.last_speech <= self.join_window_s
            )
            if ended is not None and self._joining:
                # One utterance: the first part, the pause as it was, and this speech.
                self._frames = ended.frames + self._since_end
                self._speech_frames += ended.speech_frames
                self._onset = ended.onset
            self.close_join()
            return [SpeechStarted(self._onset, joins=self._joining)]
        return []

    def _speech(self, frame: AudioFrame, is_speech: bool) -> list[EndpointEvent]:
        self._frames.append(frame.pcm)
        events: list[EndpointEvent] = []
        if is_speech:
            self._speech_frames += 1
            self._last_speech = frame.time + FRAME_MS / 1000
            self._silence = 0
            if self._paused:
                self._paused = False
                self._verdict = _Verdict.NONE
                events.append(SpeechResumed())
        else:
            self._silence += 1
            if self.pause_frames is not None and self._silence == self.pause_frames:
                self._paused = True
                if self.unfinished_frames is not None:
                    self._verdict = _Verdict.PENDING
                events.append(SpeechPaused(self._audio(), self._last_speech))
            reason = self._ends_turn()
            if reason is not None:
                events.append(self._end(forced=False, reason=reason))
                return events
        if len(self._frames) >= self.max_frames:
            events.append(self._end(forced=True))
        return events

    def _ends_turn(self) -> str | None:
        """Why the silence so far ends the turn, or None if it does not (yet)."""
        if self._silence < self.hangover_frames:
            return None
        if self.unfinished_frames is None or self._verdict is _Verdict.NONE:
            return "silence"
        if self._verdict is _Verdict.FINISHED:
            return "finished"
        if self._silence < self.unfinished_frames:
            return None
        return "unfinished" if self._verdict is _Verdict.UNFINISHED else "no_transcript"

    def _audio(self) -> np.ndarray:
        # Cut at the pause point so a speculative run and the final one see the same audio.
        keep = len(self._frames) - max(0, self._silence - (self.pause_frames or 0))
        return np.concatenate(self._frames[:keep]) if keep else np.zeros(0, np.int16)

    def _end(self, *, forced: bool, reason: str = "forced") -> SpeechEnded:
        event = SpeechEnded(
            audio=self._audio(),
            onset=self._onset,
            last_speech=self._last_speech,
            speech_ms=self._speech_frames * FRAME_MS,
            forced=forced,
            joined=self._joining,
            reason=reason,
        )
        if self.join_window_s > 0 and not forced:
            self._ended = _Ended(self._frames, self._onset, self._last_speech,
                                 self._speech_frames)
            self._since_end = []
        self._joining = False
        self._state = _State.IDLE
        self._frames = []
        self._speech_frames = 0
        self._silence = 0
        self._paused = False
        self._verdict = _Verdict.NONE
        return event
