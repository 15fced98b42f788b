"""Load a flow file (and the files it includes) into a validated `Flow`.

Every problem becomes a `FlowError` that names `file:line:column`, so a user sees where
to look, not a Python traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from voicebot.flow.model import Flow
from voicebot.flow.problems import FlowError, FlowProblem, FlowWarning, pydantic_errors
from voicebot.flow.schema import FlowFile
from voicebot.flow.validate import check_flow
from voicebot.flow.yamlsource import Path as YamlPath
from voicebot.flow.yamlsource import SourceMap, parse_yaml, read_yaml_text

T = TypeVar("T")

# Flow and its problems are defined beside the loader; importing them from here still works.
__all__ = ["Flow", "FlowError", "FlowProblem", "FlowWarning", "expand_paths", "load_flow",
           "pydantic_errors", "validate_paths"]


def _read_file(path: Path) -> tuple[FlowFile | None, SourceMap, list[FlowError]]:
    file = str(path)
    text, problem = read_yaml_text(path)
    if text is None:
        assert problem is not None
        return None, SourceMap(file), [FlowError(file, problem.mark.line, problem.mark.column,
                                                 problem.message)]
    data, source, problems = parse_yaml(text, file)
    errors = [FlowError(file, p.mark.line, p.mark.column, p.message) for p in problems]
    if data is None and not errors:
        errors.append(FlowError(file, 1, 1, "the file is empty"))
    if data is None:
        return None, source, errors
    if not isinstance(data, dict):
        return None, source, [FlowError(file, 1, 1, "a flow file must be a mapping")]
    # Duplicate keys still leave usable data: report its type errors in the same run.
    try:
        model = FlowFile.model_validate(data)
    except ValidationError as exc:
        errors.extend(pydantic_errors(exc, source))
        model = None
    if errors:
        return None, source, sorted(errors, key=lambda e: (e.line, e.column))
    return model, source, []


def _merge(files: list[tuple[FlowFile, SourceMap]]) -> tuple[Flow, list[FlowError]]:
    root, root_source = files[0]
    errors: list[FlowError] = []
    if not root.start:
        mark = root_source.locate(())
        errors.append(FlowError(root_source.file, mark.line, mark.column,
                                "missing required key 'start'"))
    flow = Flow(
        name=root.name, language=root.language, start=root.start or "",
        defaults=root.defaults, vars={}, intents={}, global_transitions=[], states={},
        root_file=root_source.file, timezone=root.timezone, open_hours=root.open_hours,
    )
    for model, source in files:
        file = source.file
        for key in ("timezone", "open_hours"):
            if model is not root and key in model.model_fields_set:
                mark = source.locate((key,))
                errors.append(FlowError(file, mark.line, mark.column, f"'{key}' belongs in "
                                        "the root flow file: an include shares its clock"))
        flow.sources[file] = source
        if model.name in flow.flows:
            errors.append(_dup(source, ("name",), "flow", model.name, flow.flow_files[model.name]))
        elif model.start:
            flow.flows[model.name] = model.start
            flow.flow_files[model.name] = file
        # Each section's names are unique across the root and its includes.
        _take(model.states, flow.states, flow.state_files, source, "state", "states", errors)
        _take(model.intents, flow.intents, flow.intent_files, source, "intent", "intents", errors)
        _take(model.vars, flow.vars, {}, source, "variable", "vars", errors)
        flow.global_transitions.extend(model.global_)
        flow.global_files.extend([file] * len(model.global_))
    return flow, errors


def _take(items: dict[str, T], table: dict[str, T], files_of: dict[str, str],
          source: SourceMap, kind: str, section: str, errors: list[FlowError]) -> None:
    for name, value in items.items():
        if name in table:
            errors.append(_dup(source, (section, name), kind, name,
                               files_of.get(name, "another file")))
            continue
        table[name] = value
        files_of[name] = source.file


def _dup(source: SourceMap, path: YamlPath, kind: str, name: str, other: str) -> FlowError:
    mark = source.locate(path)
    return FlowError(source.file, mark.line, mark.column,
                     f"duplicate {kind} name '{name}' (also defined in {other})")


def _collect_files(root: Path) -> tuple[list[tuple[FlowFile, SourceMap]], list[FlowError]]:
    ordered: list[tuple[FlowFile, SourceMap]] = []
    errors: list[FlowError] = []
    seen: set[Path] = set()
    # The files being read, root first: an include of one of them is a cycle (a diamond,
    # one file included by two others, is fine and read once).
    stack: list[Path] = []

    def visit(path: Path) -> None:
        resolved = path.resolve()
        if resolved in seen:
            return
        seen.add(resolved)
        model, source, problems = _read_file(path)
        errors.extend(problems)
        if model is None:
            return
        ordered.append((model, source))
        stack.append(resolved)
        for index, name in enumerate(model.include):
            target = path.parent / name
            mark = source.locate(("include", index), prefer_value=True)
            if not target.is_file():
                errors.append(FlowError(source.file, mark.line, mark.column,
                                        f"included file '{name}' not found"))
                continue
            if target.resolve() in stack:
                cycle = stack[stack.index(target.resolve()):] + [target.resolve()]
                errors.append(FlowError(source.file, mark.line, mark.column,
                                        "include cycle: " + " -> ".join(p.name for p in cycle)))
                continue
            visit(target)
        stack.pop()

    visit(root)
    return ordered, errors


def load_flow(path: str | Path) -> Flow:
    """Parse and validate a flow; raise FlowError (all problems in `.errors`) if it is wrong."""
    flow, errors, _warnings = _load(Path(path))
    if errors:
        first = errors[0]
        raise FlowError(first.file, first.line, first.column, first.message, errors)
    assert flow is not None
    return flow


def _load(path: Path) -> tuple[Flow | None, list[FlowError], list[FlowWarning]]:
    files, errors = _collect_files(path)
    if errors or not files:
        return None, errors, []
    flow, errors = _merge(files)
    if errors:
        return None, errors, []
    errors, warnings = check_flow(flow)
    return (None if errors else flow), errors, warnings


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")))
        else:
            found.append(path)
    return found


def validate_paths(paths: Iterable[str | Path]) -> tuple[list[FlowError], list[FlowWarning]]:
    """Check flow files (directories mean their *.yaml); for `voicebot validate`."""
    errors: list[FlowError] = []
    warnings: list[FlowWarning] = []
    for path in expand_paths(paths):
        _flow, file_errors, file_warnings = _load(path)
        errors.extend(file_errors)
        warnings.extend(file_warnings)
    return errors, warnings
