"""YAML to plain data, remembering where every key and value came from.

The flow validator must point at `file:line:column` of the offending key, so we compose
the node tree (which keeps marks) and build the data ourselves instead of `yaml.safe_load`,
which forgets positions and silently keeps the last of two duplicate keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


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


class _Builder:
    def __init__(self, file: str) -> None:
        self.source = SourceMap(file)
        self.problems: list[YamlProblem] = []
        self._scalars = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path) -> Any:
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


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap, list[YamlProblem]]:
    """Parse one YAML document. Syntax errors come back as problems, never as exceptions."""
    builder = _Builder(file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        return None, builder.source, [YamlProblem(where, f"YAML syntax error: {message}")]
    except yaml.YAMLError as exc:
        return None, builder.source, [YamlProblem(Mark(1, 1), f"YAML error: {exc}")]
    if node is None:
        return None, builder.source, []
    try:
        data = builder.build(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
        return None, builder.source, [YamlProblem(where, f"YAML error: {exc.problem}")]
    return data, builder.source, builder.problems
