"""An example NLU plugin: keywords you choose decide an intent; the rest falls back to
voicebot's built-in `examples` matcher. Copy it to write your own plugin.

A plugin is a plain class: `kind`, `name`, an `Options` pydantic model (a wrong option in
config.yaml is a clear error at start-up), `load()` for heavy work once per process, and
the method of its kind (`parse` for an NLU).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from voicebot.nlu.normalize import words
from voicebot.plugins.base import Expectation, NLUResult
from voicebot.plugins.nlu_examples import ExamplesNLU


class KeywordsNLU:
    kind: ClassVar[str] = "nlu"
    name: ClassVar[str] = "keywords"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        keywords: dict[str, list[str]] = Field(
            default_factory=dict, description="intent -> words that decide it on their own")

    def __init__(self, options: Options) -> None:
        self.options = options
        self.fallback = ExamplesNLU(ExamplesNLU.Options())

    def load(self) -> None:
        self.fallback.load()

    def parse(self, text: str, expectation: Expectation) -> NLUResult:
        said = set(words(text))
        offered = {intent.name for intent in expectation.intents}
        for intent, keywords in self.options.keywords.items():
            if intent in offered and said & {k.lower() for k in keywords}:
                return NLUResult(text=text, intent=intent, confidence=1.0)
        return self.fallback.parse(text, expectation)
