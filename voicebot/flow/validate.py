"""Whole-flow checks: the mistakes a schema cannot see.

Unknown targets, unreachable states, dead ends (no path to a transfer or a hangup),
templates and conditions naming undefined slots or variables, intents without examples,
and an example shared by two intents (a warning: legal, but the NLU cannot tell them apart).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from typing import Any

from voicebot.flow import expressions, targets, templates
from voicebot.flow.expressions import set_expression
from voicebot.flow.graphcheck import check_graph
from voicebot.flow.http_spec import ENV
from voicebot.flow.model import Flow
from voicebot.flow.problems import FlowError, FlowWarning
from voicebot.flow.schema import RetrySpec, State, Transition
from voicebot.flow.yamlsource import Path
from voicebot.nlu import normalize


def texts(value: str | list[str] | None) -> list[tuple[str, tuple[int, ...]]]:
    """The variants of a `say`, each with its index path (empty for a single string)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [(value, ())]
    return [(item, (index,)) for index, item in enumerate(value)]


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def did_you_mean(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _placements(flow: Flow) -> Iterator[tuple[str, Path, Transition, str | None]]:
    """Every transition: (file, yaml path, transition, owning state or None for globals)."""
    for name, state in flow.states.items():
        for index, transition in enumerate(state.on):
            yield flow.state_files[name], ("states", name, "on", index), transition, name
    per_file: dict[str, int] = {}
    for file, transition in zip(flow.global_files, flow.global_transitions, strict=True):
        index = per_file.get(file, 0)
        per_file[file] = index + 1
        yield file, ("global", index), transition, None


class _Checker:
    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.errors: list[FlowError] = []
        self.warnings: list[FlowWarning] = []
        self.slots = {s.collect.slot for s in flow.states.values() if s.collect}
        self.variables = set(flow.vars)
        for state in flow.states.values():
            self.variables.update(state.set)
        for _file, _path, transition, _state in _placements(flow):
            self.variables.update(transition.set)
            if transition.http is not None and transition.on_error is not None:
                self.variables.update(transition.http.save)
                self.variables.update(transition.on_error.set)
                self.variables.add("http_error")
        for state in flow.states.values():
            for transition in state.branch:
                self.variables.update(transition.set)
            if state.http is not None:
                self.variables.update(state.http.save)
                self.variables.add("http_error")  # what went wrong, for on_error
            if state.on_error is not None:
                self.variables.update(state.on_error.set)

    def err(self, file: str, path: Path, message: str, value: bool = False) -> None:
        self.errors.append(self.flow.error(file, path, message, value))

    # -- names ------------------------------------------------------------------

    def check_name(self, parts: tuple[str, ...], file: str, path: Path, what: str) -> None:
        root, name = parts[0], parts[1]
        if root == "slots" and name not in self.slots:
            self.err(file, path, f"{what} names undefined slot '{name}' "
                     f"(slots: {', '.join(sorted(self.slots)) or 'none'})", True)
        if root == "vars" and name not in self.variables:
            self.err(file, path, f"{what} names undefined variable '{name}' "
                     f"(variables: {', '.join(sorted(self.variables)) or 'none'})", True)

    def check_template(self, text: str | None, file: str, path: Path) -> None:
        if text is None:
            return
        try:
            found = templates.placeholders(str(text))
        except templates.TemplateError as exc:
            self.err(file, path, f"template: {exc}", True)
            return
        for placeholder in found:
            self.check_name(placeholder.path, file, path, "template")

    def check_say(self, value: str | list[str] | None, file: str, path: Path) -> None:
        for text, sub in texts(value):
            self.check_template(text, file, path + sub)

    def check_expression(self, text: str, file: str, path: Path) -> None:
        try:
            node = expressions.parse(text)
        except expressions.ExprError as exc:
            self.err(file, path, f"bad expression '{text}': {exc} (at character "
                     f"{exc.offset + 1})", True)
            return
        for parts, _offset in expressions.paths(node):
            self.check_name(parts, file, path, "expression")
        for name, _offset in expressions.functions(node):
            if name == "is_open" and self.flow.open_hours is None:
                self.err(file, path, "'is_open()' needs an 'open_hours' block in the root "
                         "flow file", True)

    def check_set(self, values: dict[str, Any], file: str, path: Path) -> None:
        for key, value in values.items():
            expression = set_expression(value)
            if expression is not None:
                self.check_expression(expression, file, path + ("set", key))
            elif isinstance(value, str):
                self.check_template(value, file, path + ("set", key))

    def check_target(self, target: str | None, file: str, path: Path, kind: str = "goto") -> None:
        if target is None:
            return
        if kind == "flow":
            if target not in self.flow.flows:
                known = ", ".join(sorted(self.flow.flows)) or "none"
                self.err(file, path + ("flow",), f"unknown flow '{target}' (flows: {known})",
                         True)
            elif self.flow.flows[target] not in self.flow.states:
                self.err(file, path + ("flow",), f"flow '{target}' starts at unknown state "
                         f"'{self.flow.flows[target]}'", True)
        elif target not in self.flow.states:
            self.err(file, path + (kind,), f"unknown target state '{target}'"
                     + did_you_mean(target, self.flow.states), True)

    # -- parts --------------------------------------------------------------------

    def check_transition(self, t: Transition, file: str, path: Path, state: str | None) -> None:
        trigger = t.trigger()
        if trigger is None:
            self.err(file, path, "a transition needs exactly one of 'intent', 'dtmf', 'filled'")
        if state is None and t.filled is not None:
            self.err(file, path + ("filled",), "'filled' cannot be a global transition")
        if t.intent is not None and t.intent not in self.flow.intents:
            self.err(file, path + ("intent",), f"unknown intent '{t.intent}'"
                     + did_you_mean(t.intent, self.flow.intents), True)
        if t.dtmf is not None and not re.fullmatch(r"[0-9*#A-D]+", t.dtmf):
            self.err(file, path + ("dtmf",), f"bad DTMF key '{t.dtmf}' (use 0-9 * # A-D)", True)
        if t.digits is not None and "{{" not in t.digits and not re.fullmatch(
            r"[0-9*#A-Dw]+", t.digits
        ):
            self.err(file, path + ("digits",), f"bad digits '{t.digits}'", True)
        if t.filled is not None and state is not None:
            collect = self.flow.states[state].collect
            if collect is None or collect.slot != t.filled:
                self.err(file, path + ("filled",),
                         f"state '{state}' does not collect slot '{t.filled}'", True)
        self.check_effects(t, file, path)
        self.check_http(t, file, path)

    def check_effects(self, t: Transition, file: str, path: Path) -> None:
        """What a transition does once taken: its condition, sets, prompts and target."""
        if t.if_ is not None:
            self.check_expression(t.if_, file, path + ("if",))
        self.check_set(t.set, file, path)
        self.check_say(t.say, file, path + ("say",))
        for key in ("transfer", "summary", "play", "digits"):
            self.check_template(getattr(t, key), file, path + (key,))
        self.check_target(t.goto, file, path)
        self.check_target(t.flow, file, path, "flow")

    def check_retry(self, spec: RetrySpec | None, file: str, path: Path) -> None:
        if spec is None:
            return
        self.check_say(spec.prompt, file, path + ("prompt",))
        self.check_target(spec.goto, file, path)

    def check_state(self, name: str, state: State) -> None:
        file = self.flow.state_files[name]
        path: Path = ("states", name)
        self.check_say(state.say, file, path + ("say",))
        for key in ("transfer", "summary", "play", "digits"):
            self.check_template(getattr(state, key), file, path + (key,))
        self.check_set(state.set, file, path)
        self.check_target(state.goto, file, path)
        self.check_target(state.flow, file, path, "flow")
        self.check_retry(state.no_input, file, path + ("no_input",))
        self.check_retry(state.no_match, file, path + ("no_match",))
        if state.collect:
            self.check_say(state.collect.confirm, file, path + ("collect", "confirm"))
            if not any(t.filled == state.collect.slot for t in state.on):
                self.err(file, path + ("collect",), f"nothing handles slot "
                         f"'{state.collect.slot}' once filled: add `on: - filled: "
                         f"{state.collect.slot}`")
        if isinstance(state.globals, list):
            known = {t.intent for t in self.flow.global_transitions}
            for index, intent in enumerate(state.globals):
                if intent not in known:
                    self.err(file, path + ("globals", index),
                             f"'{intent}' is not a global intent", True)
        self.check_branch(name, state, file, path)
        self.check_http(state, file, path)
        if not state.waits() and not (state.goto or state.flow or state.transfer
                                      or state.hangup or state.branch):
            self.err(file, path, f"state '{name}' neither waits for the caller (on/collect) "
                     "nor moves on (goto/flow/transfer/hangup/branch)")

    def check_http(self, owner: State | Transition, file: str, path: Path) -> None:
        if owner.http is None or owner.on_error is None:
            return
        spec, where = owner.http, path + ("http",)
        # `{{ env.NAME }}` is the executor's (from the environment), in url and headers only.
        self.check_template(ENV.sub("", spec.url), file, where + ("url",))
        for header, value in spec.headers.items():
            self.check_template(ENV.sub("", value), file, where + ("headers", header))
        for text in _strings(spec.json_):
            if ENV.search(text):
                self.err(file, where + ("json",), "'{{ env.NAME }}' goes in the url or a "
                         "header, not in the body (which an endpoint may echo back)")
            else:
                self.check_template(text, file, where + ("json",))
        self.check_template(spec.filler, file, where + ("filler",))
        self.check_branch_entry(owner.on_error, file, path + ("on_error",))

    def check_branch(self, name: str, state: State, file: str, path: Path) -> None:
        for index, t in enumerate(state.branch):
            self.check_branch_entry(t, file, path + ("branch", index))
        if state.branch and state.branch[-1].if_ is not None:
            self.err(file, path + ("branch", len(state.branch) - 1), f"the last branch of "
                     f"state '{name}' needs no 'if:' (it is the otherwise), or the call "
                     "could stop there")

    def check_branch_entry(self, t: Transition, file: str, where: Path) -> None:
        """A transition taken without the caller (a branch, an on_error)."""
        if t.intent is not None or t.dtmf is not None or t.filled is not None:
            self.err(file, where, "a branch is decided on arrival: it takes 'if', not "
                     "'intent', 'dtmf' or 'filled'")
        if not (t.goto or t.flow or t.transfer or t.hangup):
            self.err(file, where, "a branch must move on: give goto, flow, transfer or "
                     "hangup")
        if t.http is not None:
            self.err(file, where + ("http",), "no 'http' here: go to a state that makes the "
                     "request")
        self.check_effects(t, file, where)

    def check_intents(self) -> None:
        owners: dict[str, str] = {}
        for name, intent in self.flow.intents.items():
            file = self.flow.intent_files[name]
            if not intent.examples and not intent.regex:
                self.err(file, ("intents", name), f"intent '{name}' has no examples")
            for index, pattern in enumerate(intent.regex):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    self.err(file, ("intents", name, "regex", index), f"bad regex: {exc}", True)
            for index, example in enumerate(intent.examples):
                # Compared as the NLU compares them: "Agent, please!" is "agent".
                key = normalize(example)
                if key in owners and owners[key] != name:
                    self.warnings.append(self.flow.warning(
                        file, ("intents", name, "examples", index),
                        f"example '{example}' is shared by intents '{owners[key]}' and "
                        f"'{name}'"))
                owners.setdefault(key, name)
        self.check_contained_examples(owners)

    def check_contained_examples(self, owners: dict[str, str]) -> None:
        """An example of one intent inside an example of another ("order" in "where is my
        order") pulls callers who say the longer one towards the shorter one's intent."""
        keys = sorted(owners, key=len)
        for i, short in enumerate(keys):
            if not short:
                continue
            for long in keys[i + 1:]:
                if owners[long] != owners[short] and f" {short} " in f" {long} ":
                    name = owners[long]
                    index = next(i for i, e in enumerate(self.flow.intents[name].examples)
                                 if normalize(e) == long)
                    self.warnings.append(self.flow.warning(
                        self.flow.intent_files[name], ("intents", name, "examples", index),
                        f"example '{long}' of intent '{name}' contains '{short}', an "
                        f"example of intent '{owners[short]}': callers who say it may be "
                        f"taken for '{owners[short]}' (give '{owners[short]}' a longer "
                        "example, or a description)"))

    def check_unused_intents(self) -> None:
        used = {t.intent for _f, _p, t, _s in _placements(self.flow) if t.intent}
        for name in self.flow.intents:
            if name not in used:
                self.warnings.append(self.flow.warning(
                    self.flow.intent_files[name], ("intents", name),
                    f"intent '{name}' is never used by a transition"))

    def check_defaults(self) -> None:
        file = self.flow.root_file
        defaults = self.flow.defaults
        self.check_retry(defaults.no_input, file, ("defaults", "no_input"))
        self.check_retry(defaults.no_match, file, ("defaults", "no_match"))
        self.check_template(defaults.error_prompt, file, ("defaults", "error_prompt"))
        self.check_say(defaults.on_max_turns.say, file, ("defaults", "on_max_turns", "say"))
        for key in ("transfer", "summary"):
            self.check_template(getattr(defaults.on_max_turns, key), file,
                                ("defaults", "on_max_turns", key))
        if self.flow.start and self.flow.start not in self.flow.states:
            self.err(file, ("start",), f"unknown start state '{self.flow.start}'", True)

    def run(self) -> None:
        self.check_defaults()
        self.check_intents()
        self.check_unused_intents()
        for name, state in self.flow.states.items():
            self.check_state(name, state)
        for file, path, transition, owner in _placements(self.flow):
            self.check_transition(transition, file, path, owner)
        for value, file, path in targets.transfers(self.flow):
            if not (targets.is_number(value) or targets.is_name(value)):
                self.err(file, path, f"transfer '{value}' is neither a number (+33123456789) "
                         "nor a target name from config.yaml's 'targets' (sales)", True)
        if not self.errors:
            self.errors.extend(check_graph(self.flow))


def check_flow(flow: Flow) -> tuple[list[FlowError], list[FlowWarning]]:
    checker = _Checker(flow)
    checker.run()
    errors = sorted(checker.errors, key=lambda e: (e.file, e.line, e.column))
    return errors, checker.warnings
