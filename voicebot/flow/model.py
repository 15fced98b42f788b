"""`Flow`: a whole flow (the root file and its includes) as the engine runs it.

The loader builds it, the validator and the graph checks read it, the engine runs it; it
knows where each named thing was written, so every check can point at a file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voicebot.flow.open_hours import OpenHours
from voicebot.flow.problems import FlowError, FlowWarning
from voicebot.flow.schema import Defaults, Intent, State, Transition
from voicebot.flow.yamlsource import Mark, SourceMap
from voicebot.flow.yamlsource import Path as YamlPath


@dataclass
class Flow:
    name: str
    language: str
    start: str
    defaults: Defaults
    vars: dict[str, Any]
    intents: dict[str, Intent]
    global_transitions: list[Transition]
    states: dict[str, State]
    timezone: str = "UTC"
    open_hours: OpenHours | None = None
    # `flow: NAME` jumps to the start state of the file named NAME (the root or an include).
    flows: dict[str, str] = field(default_factory=dict)
    root_file: str = ""
    sources: dict[str, SourceMap] = field(default_factory=dict)
    # Where each named thing was defined: file of each state / intent / global transition.
    state_files: dict[str, str] = field(default_factory=dict)
    intent_files: dict[str, str] = field(default_factory=dict)
    global_files: list[str] = field(default_factory=list)
    flow_files: dict[str, str] = field(default_factory=dict)

    def where(self, file: str, path: YamlPath, prefer_value: bool = False) -> Mark:
        return self.sources[file].locate(path, prefer_value)

    def error(self, file: str, path: YamlPath, message: str,
              prefer_value: bool = False) -> FlowError:
        mark = self.where(file, path, prefer_value)
        return FlowError(file, mark.line, mark.column, message)

    def warning(self, file: str, path: YamlPath, message: str) -> FlowWarning:
        mark = self.where(file, path)
        return FlowWarning(file, mark.line, mark.column, message)

    def state_error(self, state: str, subpath: YamlPath, message: str,
                    prefer_value: bool = False) -> FlowError:
        return self.error(self.state_files[state], ("states", state) + tuple(subpath), message,
                          prefer_value)
