"""What can be wrong with a flow, and where: every problem names `file:line:column`.

Shared by the loader, the validator and the graph checks (and the conversation tests'
file reader), so a user sees where to look, not a Python traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from voicebot.flow.yamlsource import SourceMap


@dataclass(frozen=True)
class FlowProblem:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class FlowError(Exception):
    """A flow that cannot run. `errors` holds every problem found; str() is the first."""

    def __init__(self, file: str, line: int, column: int, message: str,
                 errors: list[FlowError] | None = None) -> None:
        super().__init__(f"{file}:{line}:{column}: {message}")
        self.file, self.line, self.column, self.message = file, line, column, message
        self.errors: list[FlowError] = errors or [self]

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class FlowWarning(FlowProblem):
    """Legal but probably not what the author meant (e.g. an example shared by two intents)."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: warning: {self.message}"


def pydantic_errors(exc: ValidationError, source: SourceMap) -> list[FlowError]:
    errors: list[FlowError] = []
    seen: set[tuple[int, int]] = set()
    for item in exc.errors():
        loc = tuple(item["loc"])
        # A wrong value is shown at the value; an unknown or missing key at the key.
        mark = source.locate(loc, prefer_value=item["type"] != "extra_forbidden")
        if (mark.line, mark.column) in seen:
            continue  # a union reports once per alternative; the first is enough
        seen.add((mark.line, mark.column))
        where = ".".join(str(part) for part in loc if part not in ("str", "list[str]"))
        if item["type"] == "extra_forbidden":
            message = f"unknown key '{loc[-1]}'"
        elif item["type"] == "missing":
            message = f"missing required key '{loc[-1]}'"
        else:
            text = str(item["msg"]).removeprefix("Value error, ")
            message = f"{where}: {text}" if where else text
        errors.append(FlowError(source.file, mark.line, mark.column, message))
    return errors
