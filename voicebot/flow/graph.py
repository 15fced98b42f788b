"""Draw a flow as Mermaid or Graphviz DOT: states, transitions, and how the call ends."""

from __future__ import annotations

import re

from voicebot.flow.graphcheck import GLOBAL_SOURCE, Edge, edges
from voicebot.flow.model import Flow


def _node_id(name: str) -> str:
    # Prefixed so a state called "end" or "graph" cannot collide with a keyword.
    return "s_" + re.sub(r"\W", "_", name)


def _ending_id(ending: str, ids: dict[str, str]) -> str:
    return ids.setdefault(ending, f"end_{len(ids) + 1}")


def _mermaid_text(text: str) -> str:
    # Mermaid entity codes, so quotes, pipes and template braces cannot end a label early.
    codes = {'"': "#quot;", "|": "#124;", "{": "#123;", "}": "#125;"}
    return "".join(codes.get(ch, ch) for ch in text)


def to_mermaid(flow: Flow) -> str:
    lines = ["flowchart TD", f'  start(("start")) --> {_node_id(flow.start)}']
    for name, state in flow.states.items():
        shape = '(["{}"])' if state.waits() else '["{}"]'
        lines.append(f"  {_node_id(name)}{shape.format(_mermaid_text(name))}")
    all_edges = edges(flow, expand_globals=False)
    if any(edge.source == GLOBAL_SOURCE for edge in all_edges):
        lines.append(f'  {_node_id(GLOBAL_SOURCE)}{{{{"any state (global)"}}}}')
    endings: dict[str, str] = {}
    for edge in all_edges:
        lines.append(_mermaid_edge(edge, endings))
    for ending, node in endings.items():
        lines.append(f'  {node}[/"{_mermaid_text(ending)}"/]')
    return "\n".join(lines) + "\n"


def _mermaid_edge(edge: Edge, endings: dict[str, str]) -> str:
    if edge.target is not None:
        target = _node_id(edge.target)
    else:
        target = _ending_id(edge.ending or "end", endings)
    return f'  {_node_id(edge.source)} -->|"{_mermaid_text(edge.label)}"| {target}'


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(flow: Flow) -> str:
    lines = [f'digraph "{_dot_text(flow.name)}" {{', "  rankdir=TB;",
             '  start [shape=circle, label="start"];',
             f"  start -> {_node_id(flow.start)};"]
    for name, state in flow.states.items():
        shape = "box, style=rounded" if state.waits() else "box"
        lines.append(f'  {_node_id(name)} [shape={shape}, label="{_dot_text(name)}"];')
    all_edges = edges(flow, expand_globals=False)
    if any(edge.source == GLOBAL_SOURCE for edge in all_edges):
        lines.append(f'  {_node_id(GLOBAL_SOURCE)} [shape=hexagon, label="any state (global)"];')
    endings: dict[str, str] = {}
    for edge in all_edges:
        target = (_node_id(edge.target) if edge.target is not None
                  else _ending_id(edge.ending or "end", endings))
        lines.append(f'  {_node_id(edge.source)} -> {target} [label="{_dot_text(edge.label)}"];')
    for ending, node in endings.items():
        lines.append(f'  {node} [shape=parallelogram, label="{_dot_text(ending)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"
