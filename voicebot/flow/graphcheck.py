"""The flow as a graph: its edges, and the checks that need them.

Shared by the validator (unreachable states, dead ends, goto loops) and `voicebot graph`.
A dead end is a state from which no path of explicit transitions reaches a transfer or a
hangup. The implicit endings (retries running out, the turn guard) do not count: a flow
whose only way out is the caller giving up is a mistake.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicebot.flow.model import Flow
from voicebot.flow.problems import FlowError
from voicebot.flow.schema import State, Transition


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    label: str
    target: str | None  # a state, or None when the edge ends the call
    ending: str | None = None  # "transfer +33..." or "hangup"


def _label(t: Transition) -> str:
    if t.intent is not None:
        label = f"intent {t.intent}"
    elif t.dtmf is not None:
        label = f"dtmf {t.dtmf}"
    else:
        label = f"filled {t.filled}"
    if t.if_:
        label += f" if {t.if_}"
    if t.digits:
        label += f" / digits {t.digits}"
    return label


def _ending(owner: State | Transition) -> str | None:
    if owner.transfer:
        return f"transfer {owner.transfer}"
    if owner.hangup:
        return "hangup"
    return None


def transition_edges(flow: Flow, source: str, t: Transition, label: str) -> list[Edge]:
    """A transition's edge, and its on_error's when it makes a request."""
    found = [transition_edge(flow, source, t, label)]
    if t.on_error is not None:
        found.append(transition_edge(flow, source, t.on_error, label + " / http error"))
    return [edge for edge in found if edge is not None]


def transition_edge(flow: Flow, source: str, t: Transition, label: str) -> Edge | None:
    if t.goto:
        return Edge(source, label, t.goto)
    if t.flow:
        return Edge(source, label, flow.flows.get(t.flow))
    ending = _ending(t)
    if ending:
        return Edge(source, label, None, ending)
    return None  # stays in the state (or repeats): no edge


GLOBAL_SOURCE = "*"  # the source of global transitions when they are not expanded


def edges(flow: Flow, expand_globals: bool = True) -> list[Edge]:
    """Every transition as an edge. Globals are copied into each state that allows them,
    or (for drawing) kept once with source GLOBAL_SOURCE."""
    found: list[Edge] = []
    if not expand_globals:
        for t in flow.global_transitions:
            found += transition_edges(flow, GLOBAL_SOURCE, t, _label(t))
    for name, state in flow.states.items():
        if state.goto:
            found.append(Edge(name, "next", state.goto))
        if state.flow:
            found.append(Edge(name, f"flow {state.flow}", flow.flows.get(state.flow)))
        ending = _ending(state)
        if ending:
            found.append(Edge(name, "then", None, ending))
        for t in state.branch:
            edge = transition_edge(flow, name, t, f"if {t.if_}" if t.if_ else "otherwise")
            if edge:
                found.append(edge)
        if state.on_error is not None:
            edge = transition_edge(flow, name, state.on_error, "http error")
            if edge:
                found.append(edge)
        if not state.waits():
            continue
        for t in state.on:
            found += transition_edges(flow, name, t, _label(t))
        own = {t.intent for t in state.on if t.intent}
        for t in flow.global_transitions if expand_globals else []:
            if state.allows_global(t) and t.intent not in own:
                found += transition_edges(flow, name, t, "global " + _label(t))
        for kind in ("no_input", "no_match"):
            spec = getattr(state, kind) or getattr(flow.defaults, kind)
            target = spec.goto or getattr(flow.defaults, kind).goto
            if target:
                found.append(Edge(name, f"{kind} exhausted", target))
    return found


def check_graph(flow: Flow) -> list[FlowError]:
    errors: list[FlowError] = []
    all_edges = edges(flow)
    outgoing: dict[str, list[Edge]] = {name: [] for name in flow.states}
    for edge in all_edges:
        outgoing[edge.source].append(edge)

    reachable = {flow.start}
    frontier = [flow.start]
    while frontier:
        for edge in outgoing.get(frontier.pop(), []):
            if edge.target and edge.target not in reachable:
                reachable.add(edge.target)
                frontier.append(edge.target)
    for name in flow.states:
        if name not in reachable:
            errors.append(flow.state_error(name, (), f"unreachable state '{name}': no "
                                           f"transition leads here from '{flow.start}'"))

    # Backwards from the edges that end the call: a state ends well if an edge ends the
    # call or leads to a state that does. A search over reversed edges, linear in the
    # flow's size (a fixed point over all states was quadratic: 4,000 states took 15 s).
    incoming: dict[str, list[str]] = {}
    for edge in all_edges:
        if edge.target:
            incoming.setdefault(edge.target, []).append(edge.source)
    ends = {name for name, out in outgoing.items() if any(e.ending for e in out)}
    todo = list(ends)
    while todo:
        for source in incoming.get(todo.pop(), []):
            if source not in ends:
                ends.add(source)
                todo.append(source)
    for name in flow.states:
        if name in reachable and name not in ends:
            errors.append(flow.state_error(
                name, (), f"dead end: no path from state '{name}' reaches a transfer or a "
                "hangup"))

    # Immediate moves (goto/flow without waiting) must not loop, or entering never returns.
    for name in flow.states:
        seen = [name]
        seen_set = {name}
        current = flow.states[name]
        while not current.waits() and (current.goto or current.flow):
            nxt = current.goto or flow.flows.get(current.flow or "", "")
            if nxt not in flow.states:
                break
            if nxt == name:
                first = "goto" if flow.states[name].goto else "flow"
                errors.append(flow.state_error(name, (first,),
                              f"goto loop: {' -> '.join(seen + [nxt])} never waits for "
                              "the caller"))
                break
            if nxt in seen_set:
                break  # the loop is reported from one of its own states
            seen.append(nxt)
            seen_set.add(nxt)
            current = flow.states[nxt]
    return errors
