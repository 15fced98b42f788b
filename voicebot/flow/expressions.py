"""The small safe expression language of `if:` conditions.

    slots.amount > 100 and not vars.vip
    len(slots.account) == 6 or call.from_number == "+33123456789"
    slots.product in ["sales", "support"]
    is_open() and weekday() != "saturday" and hour() >= 9


A hand-written tokenizer and recursive-descent parser build a tree that `evaluate` walks.
Nothing reaches Python's `eval`; names resolve only under `slots`, `vars` and `call`.
The time functions (`now()`, `date()`, `weekday()`, `hour()`, `minute()`, `is_open()`)
read the step's moment that the engine puts in the scope under MOMENT, never the clock.
Evaluation never raises: a comparison of mismatched types is false, bad arithmetic is null,
so a flow cannot crash a call with a condition.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voicebot.flow.clock import TIME_FUNCTIONS, Moment

# `entities` are what the caller's last utterance held (number, digits, yes_no, choice,
# ordinal, and what an NLU plugin extracts): `set: {pizzas: "= entities.number"}`.
ROOTS = ("slots", "vars", "call", "entities")
# A `set:` value starting with "=" is an expression: `set: {tries: "= vars.tries + 1"}`.
EXPRESSION_PREFIX = "="
# Where the engine puts the step's Moment in the scope: no path can name it ("@" is not a
# name character), so only the time functions read it.
MOMENT = "@moment"


def set_expression(value: Any) -> str | None:
    """The expression of a `set:` value, or None when the value is plain data or a template."""
    if isinstance(value, str) and value.startswith(EXPRESSION_PREFIX):
        return value[len(EXPRESSION_PREFIX):].strip()
    return None


class ExprError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset  # 0-based position in the expression text


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d+)?)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
      | (?P<op>==|!=|<=|>=|<|>|\+|-|\(|\)|\[|\]|,)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null", "none"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # number | string | name | op | keyword | end
    text: str
    offset: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            bad = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise ExprError(f"unexpected character {text[bad]!r}", bad)
        kind = match.lastgroup or "op"
        value = match.group(kind)
        start = match.start(kind)
        if kind == "name" and value.lower() in _KEYWORDS:
            kind, value = "keyword", value.lower()
        tokens.append(Token(kind, value, start))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


@dataclass(frozen=True, slots=True)
class Node:
    kind: str  # literal | path | not | and | or | compare | arith | call | time | list
    value: Any = None  # literal value, path tuple, operator or function name
    children: tuple[Node, ...] = ()
    offset: int = 0


_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "len": lambda v: len(v) if isinstance(v, (str, list, dict)) else None,
    "int": lambda v: int(float(v)) if _is_number(v) else None,
    "str": lambda v: "" if v is None else str(v),
    "lower": lambda v: v.lower() if isinstance(v, str) else v,
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def accept(self, kind: str, text: str) -> bool:
        token = self.peek()
        if token.kind == kind and token.text == text:
            self.pos += 1
            return True
        return False

    def expect(self, kind: str, text: str) -> None:
        if not self.accept(kind, text):
            token = self.peek()
            found = token.text or "end of expression"
            raise ExprError(f"expected '{text}' but found '{found}'", token.offset)

    def parse(self) -> Node:
        node = self.or_()
        token = self.peek()
        if token.kind != "end":
            raise ExprError(f"unexpected '{token.text}'", token.offset)
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.peek().text == "or" and self.peek().kind == "keyword":
            offset = self.take().offset
            node = Node("or", None, (node, self.and_()), offset)
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.peek().text == "and" and self.peek().kind == "keyword":
            offset = self.take().offset
            node = Node("and", None, (node, self.not_()), offset)
        return node

    def not_(self) -> Node:
        token = self.peek()
        if token.kind == "keyword" and token.text == "not":
            self.take()
            return Node("not", None, (self.not_(),), token.offset)
        return self.compare()

    def compare(self) -> Node:
        node = self.sum_()
        token = self.peek()
        if token.kind == "op" and token.text in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            return Node("compare", token.text, (node, self.sum_()), token.offset)
        if token.kind == "keyword" and token.text == "in":
            self.take()
            return Node("compare", "in", (node, self.sum_()), token.offset)
        following = self.tokens[self.pos + 1] if token.kind != "end" else token
        if token.kind == "keyword" and token.text == "not" and following.text == "in":
            self.pos += 2
            return Node("compare", "not in", (node, self.sum_()), token.offset)
        return node

    def sum_(self) -> Node:
        node = self.primary()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            token = self.take()
            node = Node("arith", token.text, (node, self.primary()), token.offset)
        return node

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "number":
            value = float(token.text) if "." in token.text else int(token.text)
            return Node("literal", value, (), token.offset)
        if token.kind == "string":
            body = token.text[1:-1]
            return Node("literal", re.sub(r"\\(.)", r"\1", body), (), token.offset)
        if token.kind == "keyword" and token.text in ("true", "false", "null", "none"):
            literal = {"true": True, "false": False}.get(token.text)
            return Node("literal", literal, (), token.offset)
        if token.kind == "op" and token.text == "-":
            operand = self.primary()
            return Node("arith", "-", (Node("literal", 0), operand), token.offset)
        if token.kind == "op" and token.text == "(":
            node = self.or_()
            self.expect("op", ")")
            return node
        if token.kind == "op" and token.text == "[":
            items: list[Node] = []
            if not self.accept("op", "]"):
                items.append(self.or_())
                while self.accept("op", ","):
                    items.append(self.or_())
                self.expect("op", "]")
            return Node("list", None, tuple(items), token.offset)
        if token.kind == "name":
            if self.accept("op", "("):
                if token.text in TIME_FUNCTIONS:
                    if not self.accept("op", ")"):
                        raise ExprError(f"'{token.text}()' takes no argument", token.offset)
                    return Node("time", token.text, (), token.offset)
                if token.text not in _FUNCTIONS:
                    known = ", ".join(sorted([*_FUNCTIONS, *TIME_FUNCTIONS]))
                    raise ExprError(f"unknown function '{token.text}' (known: {known})",
                                    token.offset)
                argument = self.or_()
                self.expect("op", ")")
                return Node("call", token.text, (argument,), token.offset)
            parts = tuple(token.text.split("."))
            if parts[0] not in ROOTS or len(parts) < 2:
                raise ExprError(
                    f"unknown name '{token.text}': use slots.NAME, vars.NAME, call.NAME or "
                    "entities.NAME",
                    token.offset,
                )
            return Node("path", parts, (), token.offset)
        found = token.text or "end of expression"
        raise ExprError(f"expected a value but found '{found}'", token.offset)


def parse(text: str) -> Node:
    return _Parser(str(text)).parse()


def paths(node: Node) -> list[tuple[tuple[str, ...], int]]:
    """Every name the expression reads, with its offset, so the validator can check them."""
    found: list[tuple[tuple[str, ...], int]] = []
    if node.kind == "path":
        found.append((node.value, node.offset))
    for child in node.children:
        found.extend(paths(child))
    return found


def functions(node: Node) -> list[tuple[str, int]]:
    """Every time function the expression calls, with its offset (`is_open` needs hours)."""
    found = [(node.value, node.offset)] if node.kind == "time" else []
    for child in node.children:
        found.extend(functions(child))
    return found


def resolve(scope: dict[str, Any], parts: tuple[str, ...]) -> Any:
    value: Any = scope
    for part in parts:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("in", "not in"):
        try:
            inside = left in right if right is not None else False
        except TypeError:
            inside = False
        return inside if op == "in" else not inside
    # Digit strings from speech or DTMF compare as numbers against numbers.
    if isinstance(left, (int, float)) != isinstance(right, (int, float)) and all(
        _is_number(v) for v in (left, right)
    ):
        left, right = float(left), float(right)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    try:
        return bool({"<": left < right, "<=": left <= right,
                     ">": left > right, ">=": left >= right}[op])
    except TypeError:
        return False


def evaluate(node: Node, scope: dict[str, Any]) -> Any:
    kind = node.kind
    if kind == "literal":
        return node.value
    if kind == "path":
        return resolve(scope, node.value)
    if kind == "not":
        return not truthy(evaluate(node.children[0], scope))
    if kind == "and":
        return truthy(evaluate(node.children[0], scope)) and truthy(
            evaluate(node.children[1], scope))
    if kind == "or":
        return truthy(evaluate(node.children[0], scope)) or truthy(
            evaluate(node.children[1], scope))
    if kind == "list":
        return [evaluate(child, scope) for child in node.children]
    if kind == "time":
        moment = scope.get(MOMENT)
        return TIME_FUNCTIONS[node.value](moment) if isinstance(moment, Moment) else None
    if kind == "call":
        try:
            return _FUNCTIONS[node.value](evaluate(node.children[0], scope))
        except (TypeError, ValueError, OverflowError):
            return None
    left = evaluate(node.children[0], scope)
    right = evaluate(node.children[1], scope)
    if kind == "compare":
        return _compare(node.value, left, right)
    # arith
    if isinstance(left, str) and isinstance(right, str) and node.value == "+":
        return left + right
    if not (_is_number(left) and _is_number(right)):
        return None
    a, b = float(left), float(right)
    result = a + b if node.value == "+" else a - b
    return int(result) if result.is_integer() else result


def truthy(value: Any) -> bool:
    return bool(value)
