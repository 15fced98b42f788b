"""Is what the caller said over a prompt a real turn, or only "mhm"?"""

from __future__ import annotations

import re
from typing import Any

from voicebot.nlu.lexicon import BACKCHANNELS
from voicebot.plugins.base import NLUResult

_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?")
# Whisper writes a hum it cannot spell as letters: "M-A-M-M-M", "M-hm", "H-M-M".
_SPELLED_HUM = re.compile(r"^[\W_]*[a-z](?:[\s.-]+[a-z]{1,2})+[\W_]*$")


def is_backchannel(text: str, nlu: NLUResult | None = None) -> bool:
    if nlu is not None and (nlu.intent is not None or nlu.entities):
        return False
    words = _WORD.findall(text.lower())
    return 0 < len(words) <= 3 and all(w in BACKCHANNELS for w in words)


def not_a_turn(text: str, nlu: NLUResult, speech_ms: int, cfg: Any) -> bool:
    """Was what interrupted the prompt a noise, a cough or an "mhm" rather than a turn?

    Whisper turns short non-words into confident nonsense ("and I can." for an "mhm"),
    so a short utterance that the NLU cannot place is not trusted to be a turn.
    `cfg` is the `barge_in` config section (for `backchannel_max_ms`).
    """
    if not text:
        return True
    if speech_ms <= cfg.backchannel_max_ms and _SPELLED_HUM.match(text.lower()):
        # No word at all, whatever the NLU makes of the letters (an embedding NLU put
        # "M-A-M-M-M" near "agent" and a hum over the greeting transferred the call).
        return True
    if nlu.intent is not None or nlu.entities:
        return False
    return speech_ms <= cfg.backchannel_max_ms or is_backchannel(text, nlu)
