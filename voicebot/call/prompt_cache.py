"""The flow's fixed prompts, synthesised once at start-up, so call one is as fast as call
one hundred: the greeting, re-prompts and fixed replies are in the TTS cache before the
first caller is answered, and the synthesis threads are left to the replies that must be
made on the spot (a name, an amount: any prompt with a `{{ placeholder }}`).

The cache is keyed by the pieces a reply is spoken in (`reply_pieces`), so the prompts
are cut the same way here.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from pydantic import BaseModel

from voicebot.audio.sentences import reply_pieces

log = logging.getLogger(__name__)

# Fields of a flow that hold words the bot says.
PROMPT_FIELDS = frozenset({"say", "prompt", "error_prompt", "confirm"})


def static_prompts(flow: Any) -> list[str]:
    """Every prompt text of `flow` without a placeholder, in flow order, once each."""
    found: dict[str, None] = {}
    seen: set[int] = set()

    def walk(node: Any, field: str | None) -> None:
        if isinstance(node, str):
            if field in PROMPT_FIELDS and "{{" not in node and node.strip():
                found[node] = None
            return
        if isinstance(node, int | float | bool | type(None)) or id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, BaseModel):
            for name in type(node).model_fields:
                walk(getattr(node, name), name)
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            for f in dataclasses.fields(node):
                walk(getattr(node, f.name), f.name)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value, None)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item, field)  # a list under "say" is a set of variants
        elif hasattr(node, "__dict__") and type(node).__module__.startswith("voicebot."):
            for name, value in vars(node).items():
                walk(value, name)

    walk(flow, None)
    return list(found)


def prompt_pieces(flow: Any, limit: int) -> list[str]:
    """The pieces the flow's fixed prompts are spoken in, at most `limit` of them."""
    pieces: dict[str, None] = {}
    for text in static_prompts(flow):
        for piece in reply_pieces(text):
            pieces[piece] = None
    return list(pieces)[:limit]


def synthesise_prompts(tts: Any, pieces: list[str]) -> int:
    """Synthesise each piece through the (caching) TTS; returns how many were cached. A
    piece that fails is logged and left to be tried again when a call says it."""
    done = 0
    for piece in pieces:
        try:
            tts.synthesize(piece)
            done += 1
        except Exception as exc:  # the plugin passed its warm-up: a call will retry
            log.warning("could not pre-synthesise %r: %r", piece, exc)
    return done
