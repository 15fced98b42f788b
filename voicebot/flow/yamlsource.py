"""YAML to plain data, remembering where every key and value came from.

The flow validator must point at `file:line:column` of the offending key, so we compose
the node tree (which keeps marks) and build the data ourselves instead of `yaml.safe_load`,
which forgets positions and silently keeps the last of two duplicate keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

import yaml

Path = tuple[str | int, ...]

# Limits that a hostile or broken file cannot get past (docs/flows.md, "Limits"). A real
# flow of 30,000 states is about 5 MB; nothing a person writes nests 64 deep; aliases are
# for sharing a list or two, and a "billion laughs" file expands a few aliases into
# billions of values.
MAX_FILE_BYTES = 16 * 2**20
MAX_DEPTH = 64
MAX_ALIAS_EXPANSION = 10_000
# libyaml's composer is ~10x faster than the pure-Python one and keeps the same marks.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(slots=True)
class SourceMap:
    file: str
    keys: dict[Path, Mark] = field(default_factory=dict)
    values: dict[Path, Mark] = field(default_factory=dict)

    def locate(self, path: Path, prefer_value: bool = False) -> Mark:
        """The mark of `path`, or of its longest known prefix (a missing key is reported
        at the mapping that should have held it)."""
        path = tuple(path)
        while True:
            first, second = (self.values, self.keys) if prefer_value else (self.keys, self.values)
            if path in first:
                return first[path]
            if path in second:
                return second[path]
            if not path:
                return Mark(1, 1)
            path = path[:-1]


@dataclass(frozen=True, slots=True)
class YamlProblem:
    mark: Mark
    message: str


_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_KEEP_AS_TEXT = re.compile(r"^(\+[0-9_]+|0[0-9_]+)$")


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _TooBig(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.mark = _mark(node)


def _distinct_nodes(root: yaml.Node) -> int:
    """Nodes in the document, each alias target counted once (iterative: no recursion)."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                todo.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
    return len(seen)


class _Builder:
    def __init__(self, file: str, budget: int) -> None:
        self.source = SourceMap(file)
        self.problems: list[YamlProblem] = []
        self._scalars = yaml.SafeLoader("")
        # Every value built costs one; aliases may add at most MAX_ALIAS_EXPANSION values
        # beyond the document's own nodes.
        self._budget = budget

    def build(self, node: yaml.Node, path: Path) -> Any:
        self._budget -= 1
        if self._budget < 0:
            raise _TooBig(node, f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} extra "
                                "values (refused: a YAML 'billion laughs'?)")
        if len(path) > MAX_DEPTH:
            raise _TooBig(node, f"nested more than {MAX_DEPTH} levels deep")
        self.source.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.problems.append(YamlProblem(_mark(key_node), "a key must be a scalar"))
                    continue
                # Keys are names: keep their text, so YAML 1.1 does not turn `on:` into True
                # or `1:` into an int.
                key = str(key_node.value)
                if key in out:
                    self.problems.append(
                        YamlProblem(
                            _mark(key_node),
                            f"duplicate key '{key}' (first at line "
                            f"{self.source.keys[path + (key,)].line})",
                        )
                    )
                    continue
                self.source.keys[path + (key,)] = _mark(key_node)
                out[key] = self.build(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.source.keys[path + (index,)] = _mark(item)
                items.append(self.build(item, path + (index,)))
            return items
        if node.tag == _BOOL_TAG and node.value.lower() not in ("true", "false"):
            # YAML 1.2 booleans only: `examples: [yes, no]` and `on:` are words in a flow.
            return node.value
        if node.tag == _INT_TAG and _KEEP_AS_TEXT.match(node.value):
            # `transfer: +33123456789` or `digits: 0123` are phone numbers and keys, not
            # integers: the "+" and the leading zero (octal in YAML 1.1!) must survive.
            return node.value
        return self._scalars.construct_object(node, deep=True)


def _too_deep(text: str) -> YamlProblem | None:
    """Nesting depth, read from the parser's event stream before composing: libyaml's
    composer recurses in C, and 100,000 nested '[' would crash the process, not raise."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark  # the parser always sets it; typed optional
                    where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
                    return YamlProblem(where, f"nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        # PyYAML 6.0.4's libyaml refuses past its own depth (1000) while scanning, before
        # any event reaches this loop: the same refusal, said the same way.
        if "nesting depth" in str(exc.problem or ""):
            mark = exc.problem_mark
            where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
            return YamlProblem(where, f"nested more than {MAX_DEPTH} levels deep")
        return None  # a syntax error: compose reports it with its mark
    except yaml.YAMLError:
        return None
    return None


def read_yaml_text(path: FilePath) -> tuple[str | None, YamlProblem | None]:
    """A flow or test file's text, or the problem that stops it being read: too big, not
    UTF-8 (reported at the line and column of the first bad byte), or unreadable."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, YamlProblem(Mark(1, 1), f"the file is {size:,} bytes; the limit is "
                                                 f"{MAX_FILE_BYTES:,}")
        raw = path.read_bytes()
    except OSError as exc:
        return None, YamlProblem(Mark(1, 1), f"cannot read: {exc.strerror or exc}")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        return None, YamlProblem(Mark(line, column), f"not UTF-8 (byte 0x{raw[exc.start]:02x}); "
                                                     "save the file as UTF-8")


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap, list[YamlProblem]]:
    """Parse one YAML document. Syntax errors come back as problems, never as exceptions."""
    builder = _Builder(file, 0)
    if len(text) > MAX_FILE_BYTES:
        return None, builder.source, [YamlProblem(Mark(1, 1), f"the text is over "
                                                              f"{MAX_FILE_BYTES:,} characters")]
    deep = _too_deep(text)
    if deep is not None:
        return None, builder.source, [deep]
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        return None, builder.source, [YamlProblem(where, f"YAML syntax error: {message}")]
    except yaml.YAMLError as exc:
        return None, builder.source, [YamlProblem(Mark(1, 1), f"YAML error: {exc}")]
    if node is None:
        return None, builder.source, []
    builder._budget = _distinct_nodes(node) + MAX_ALIAS_EXPANSION
    try:
        data = builder.build(node, ())
    except _TooBig as exc:
        return None, builder.source, [YamlProblem(exc.mark, str(exc))]
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
        return None, builder.source, [YamlProblem(where, f"YAML error: {exc.problem}")]
    return data, builder.source, builder.problems
