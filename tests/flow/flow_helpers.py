"""Helpers for flow tests: write a flow from text, find the line a mistake is on, talk to it."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from voicebot.flow.actions import Action, Say
from voicebot.flow.engine import CallState, FlowEngine
from voicebot.flow.events import Dtmf, Event, NoInput, UserInput
from voicebot.flow.loader import Flow, load_flow
from voicebot.plugins.nlu_examples import ExamplesNLU

# The NLU these tests understand flows with: the word matcher (no model to load). The
# shipped config.yaml uses embeddings; tests/flow/test_chat_test_serve_agree.py runs the
# example flows' conversation tests under it.
understand = ExamplesNLU().parse

MINIMAL = """\
name: mini
start: ask
intents:
  yes:
    examples: [yes]
states:
  ask:
    say: "Shall we?"
    on:
      - intent: yes
        hangup: true
"""


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing `needle`."""
    seen = 0
    for number, line in enumerate(textwrap.dedent(text).splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"{needle!r} not in the flow text")


class FlowFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, text: str, name: str = "flow.yaml") -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def load(self, text: str, name: str = "flow.yaml") -> Flow:
        return load_flow(self.write(text, name))

    def engine(self, text: str, name: str = "flow.yaml") -> FlowEngine:
        return FlowEngine(self.load(text, name))


class Convo:
    """Drive an engine like a caller: text through the default NLU, keys, silence."""

    def __init__(self, engine: FlowEngine, call: dict[str, Any] | None = None) -> None:
        self.engine = engine
        self.state: CallState
        self.actions: list[Action]
        self.state, self.actions = engine.start(call or {})

    def step(self, event: Event) -> list[Action]:
        self.state, self.actions = self.engine.step(self.state, event)
        return self.actions

    def say(self, text: str) -> list[Action]:
        return self.step(UserInput(understand(text, self.engine.expectation(self.state))))

    def keys(self, digits: str) -> list[Action]:
        return self.step(Dtmf(digits))

    def silence(self) -> list[Action]:
        return self.step(NoInput())

    def spoken(self) -> str:
        return " | ".join(a.text for a in self.actions if isinstance(a, Say))
