"""An NLU plugin backed by a table of regular expressions in a YAML file.

Why a team would want it: some intents are better pinned than learnt. Compliance words
("complaint", "cancel my contract") must always route the same way, product codes and
order numbers have a fixed shape, and a rule table is easy to review. The table is
tried first; what it does not decide falls back to the built-in `examples` NLU, so the
flow's own examples keep working.

Register it in config.yaml:

    plugins: ["plugins.regex_nlu:RegexNLU"]
    nlu:
      use: regex
      options: {table: plugins/regex_intents.yaml}

The table (see plugins/regex_intents.yaml):

    intents:                      # tried in this order; the first match wins
      agent: ['\\b(agent|operator|human)\\b']
    entities:                     # every match is extracted; group 1 (or the whole match)
      order_id: '\\b([a-z]{2}[0-9]{6})\\b'
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field

from voicebot.nlu.normalize import normalize
from voicebot.plugins.base import Expectation, NLUResult
from voicebot.plugins.nlu_examples import ExamplesNLU


class RegexTableError(ValueError):
    """The rule table cannot be used; the message names the file and the rule."""


def load_table(path: Path) -> tuple[list[tuple[str, re.Pattern[str]]], dict[str, re.Pattern[str]]]:
    """Compile the table, refusing it whole (with the rule's name) if any rule is wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RegexTableError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or set(data) - {"intents", "entities"}:
        raise RegexTableError(f"{path}: expected only 'intents' and 'entities' at the top level")
    rules: list[tuple[str, re.Pattern[str]]] = []
    for intent, patterns in (data.get("intents") or {}).items():
        for pattern in [patterns] if isinstance(patterns, str) else patterns or []:
            rules.append((str(intent), _compile(path, f"intents.{intent}", pattern)))
    entities = {
        str(name): _compile(path, f"entities.{name}", pattern)
        for name, pattern in (data.get("entities") or {}).items()
    }
    return rules, entities


def _compile(path: Path, where: str, pattern: Any) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise RegexTableError(f"{path}: {where}: a pattern must be a string, got {pattern!r}")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        message = f"{path}: {where}: bad regular expression {pattern!r}: {exc}"
        raise RegexTableError(message) from exc


class RegexNLU:
    kind: ClassVar[str] = "nlu"
    name: ClassVar[str] = "regex"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        table: str = Field(
            default="plugins/regex_intents.yaml",
            description="YAML rule table; a relative path is taken from the working directory.",
        )
        fallback: bool = Field(
            default=True, description="Ask the examples NLU when no rule decides."
        )
        threshold: float = Field(default=0.72, ge=0, le=1, description="Fallback's no-match.")

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or self.Options()
        self._rules: list[tuple[str, re.Pattern[str]]] = []
        self._entities: dict[str, re.Pattern[str]] = {}
        self._fallback = ExamplesNLU(ExamplesNLU.Options(threshold=self.options.threshold))
        self._loaded = False

    def load(self) -> None:
        # Compiling at start-up turns a typo in the table into a start-up error.
        table = Path(self.options.table)
        if not table.is_absolute() and not table.exists():
            # Also look beside the project, so the default works from any directory.
            table = Path(__file__).resolve().parent.parent / table
        self._rules, self._entities = load_table(table)
        self._loaded = True

    def health(self) -> dict[str, object]:
        return {"ok": self._loaded, "rules": len(self._rules), "entities": len(self._entities)}

    def parse(self, text: str, expectation: Expectation) -> NLUResult:
        if not self._loaded:
            self.load()
        base = (self._fallback.parse(text, expectation) if self.options.fallback
                else NLUResult(text, None, 0.0, {}))
        entities = dict(base.entities)
        for name, pattern in self._entities.items():
            match = pattern.search(text)
            if match:
                entities[name] = match.group(1) if pattern.groups else match.group(0)
        offered = {intent.name for intent in expectation.intents}
        norm = normalize(text)
        for intent, pattern in self._rules:
            # Only the intents this state accepts: "cancel" means nothing where it is not asked.
            if intent in offered and (pattern.search(norm) or pattern.search(text)):
                return NLUResult(text, intent, 1.0, entities)
        return NLUResult(text, base.intent, base.confidence, entities)
