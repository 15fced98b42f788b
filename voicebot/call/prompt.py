"""The prompt a call is playing, as one object: what it allows (barge-in), what the
caller heard of it, and where it was interrupted. The listening path (frames, keys) and
the turn path (say, resume) both read and write it; before, that was five loose fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voicebot.call.tts_stream import SpokenText
from voicebot.flow.actions import BargeIn


@dataclass(slots=True)
class Prompt:
    barge_in: BargeIn = "true"
    spoken: SpokenText = field(default_factory=SpokenText)  # what was sent, sentence by sentence
    playing: bool = False
    broke_at: float | None = None  # clock time of the barge-in that cut it
    heard_s: float | None = None  # seconds the caller had heard when it was cut
    # The caller was speaking while it played (from before it began, or over it).
    speech_over_it: bool = False
    # A cut prompt may be resumed once ("mhm" was not a turn); consumed by the next turn.
    resumable: bool = False

    def allows(self, cause: str) -> bool:
        """May `cause` ("speech" or "dtmf") interrupt it?"""
        if cause == "dtmf":
            return self.barge_in in ("true", "dtmf")
        return self.barge_in == "true"

    def cut(self, at: float, heard_s: float) -> None:
        self.broke_at = at
        if self.playing:
            self.heard_s = heard_s
            self.resumable = True

    def rest(self) -> str:
        """What the caller has not heard yet, to say again after a backchannel."""
        return self.spoken.rest(self.heard_s or 0.0)

    @property
    def broken(self) -> bool:
        return self.broke_at is not None
