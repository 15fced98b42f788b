"""The flow's graph as SVG, laid out here so the console needs no drawing library.

A layered layout, small on purpose: states are placed by their distance from the
start (breadth first), ordered within a layer by where their predecessors sit, and the
ways a call ends (transfer, hangup) share the bottom layer. Edges going down are
curves from bottom to top; edges going back up (a retry, a loop) bow out to the right.
Every node and edge carries data attributes, so the page marks a call's path by
adding classes, without re-drawing.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from html import escape

from voicebot.flow.graphcheck import GLOBAL_SOURCE, Edge, edges
from voicebot.flow.loader import Flow

START = "(start)"
CHAR_W = 7.2  # average glyph width of the 12 px sans-serif used for node labels
NODE_H = 32
H_GAP = 28
LAYER_GAP = 120
MARGIN = 24
LABEL_CHARS = 30


@dataclass(slots=True)
class Node:
    name: str
    kind: str  # start | state | waits | global | ending
    layer: int
    x: float = 0.0  # centre
    y: float = 0.0  # top

    @property
    def label(self) -> str:
        return {"start": "start", "global": "any state (global)"}.get(self.kind, self.name)

    @property
    def width(self) -> float:
        return max(70.0, len(self.label) * CHAR_W + 24)


def _layers(flow: Flow, all_edges: list[Edge]) -> dict[str, Node]:
    nodes: dict[str, Node] = {START: Node(START, "start", 0)}
    if any(e.source == GLOBAL_SOURCE for e in all_edges):
        nodes[GLOBAL_SOURCE] = Node(GLOBAL_SOURCE, "global", 0)
    following: dict[str, list[str]] = defaultdict(list)
    for e in all_edges:
        if e.target is not None and e.source != GLOBAL_SOURCE:
            following[e.source].append(e.target)
    depth = {flow.start: 1}
    queue = deque([flow.start])
    while queue:
        name = queue.popleft()
        for nxt in following[name]:
            if nxt not in depth:
                depth[nxt] = depth[name] + 1
                queue.append(nxt)
    last = max(depth.values())
    for name, state in flow.states.items():
        # A state reached only through a global transition sits below the deepest one.
        layer = depth.get(name, last + 1)
        nodes[name] = Node(name, "waits" if state.waits() else "state", layer)
    bottom = max(n.layer for n in nodes.values()) + 1
    for e in all_edges:
        if e.target is None:
            ending = e.ending or "end"
            nodes.setdefault(ending, Node(ending, "ending", bottom))
    return nodes


def _place(nodes: dict[str, Node], all_edges: list[Edge]) -> tuple[float, float]:
    by_layer: dict[int, list[Node]] = defaultdict(list)
    for node in nodes.values():
        by_layer[node.layer].append(node)
    preds: dict[str, list[str]] = defaultdict(list)
    for e in all_edges:
        preds[_target(e)].append(e.source)
    widths = {
        layer: sum(n.width for n in row) + H_GAP * (len(row) - 1) for layer, row in by_layer.items()
    }
    total = max(widths.values())
    for layer in sorted(by_layer):
        row = by_layer[layer]
        # Barycentre of the predecessors already placed keeps edges short and uncrossed.
        centres = {n.name: _barycentre(n, layer, nodes, preds, total / 2) for n in row}
        row.sort(key=lambda n: centres[n.name])
        x = MARGIN + (total - widths[layer]) / 2
        for node in row:
            node.x = x + node.width / 2
            node.y = MARGIN + layer * LAYER_GAP
            x += node.width + H_GAP
    height = MARGIN * 2 + max(by_layer) * LAYER_GAP + NODE_H
    return total + 2 * MARGIN + 120, height  # room on the right for edges bowing back up


def _barycentre(node: Node, layer: int, nodes: dict[str, Node],
                preds: dict[str, list[str]], default: float) -> float:
    xs = [nodes[p].x for p in preds[node.name] if p in nodes and nodes[p].layer < layer]
    return sum(xs) / len(xs) if xs else default


def _target(e: Edge) -> str:
    return e.target if e.target is not None else (e.ending or "end")


def _bezier(points: list[tuple[float, float]], t: float) -> tuple[float, float]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points
    a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t**3
    return a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3


def _edge_path(a: Node, b: Node, bend: int, label_t: float) -> tuple[str, float, float]:
    """The curve from a to b, and where its label goes (`label_t` along it: the labels of
    a state's many edges are staggered so they do not sit on one line)."""
    if b.layer > a.layer:
        x1, y1, x2, y2 = a.x, a.y + NODE_H, b.x, b.y
        dy, off = (y2 - y1) / 2, bend * 14
        points = [(x1, y1), (x1 + off, y1 + dy), (x2 + off, y2 - dy), (x2, y2)]
    else:  # back up (or across): bow out to the right
        x1, y1 = a.x + a.width / 2, a.y + NODE_H / 2
        x2, y2 = b.x + b.width / 2, b.y + NODE_H / 2
        cx = max(x1, x2) + 60 + 18 * bend + 10 * abs(a.layer - b.layer)
        points = [(x1, y1), (cx, y1), (cx, y2), (x2, y2)]
    (sx, sy), (c1x, c1y), (c2x, c2y), (ex, ey) = points
    path = f"M{sx:.0f},{sy:.0f} C{c1x:.0f},{c1y:.0f} {c2x:.0f},{c2y:.0f} {ex:.0f},{ey:.0f}"
    lx, ly = _bezier(points, label_t)
    return path, lx, ly


def flow_svg(flow: Flow) -> str:
    """The flow drawn as a standalone SVG document (nodes and edges carry data-*)."""
    all_edges = [Edge(START, "", flow.start), *edges(flow, expand_globals=False)]
    nodes = _layers(flow, all_edges)
    width, height = _place(nodes, all_edges)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow-graph" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'data-flow="{escape(flow.name)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
        "</defs>",
    ]
    seen: dict[tuple[str, str], int] = defaultdict(int)
    leaving: dict[str, int] = defaultdict(int)
    for e in all_edges:
        target = _target(e)
        a, b = nodes[e.source], nodes[target]
        bend = seen[(e.source, target)]
        seen[(e.source, target)] += 1
        label_t = (0.3, 0.5, 0.7)[leaving[e.source] % 3]
        leaving[e.source] += 1
        path, lx, ly = _edge_path(a, b, bend, label_t)
        short = e.label if len(e.label) <= LABEL_CHARS else e.label[: LABEL_CHARS - 1] + "…"
        out.append(
            f'<g class="edge" data-from="{escape(e.source)}" data-to="{escape(target)}" '
            f'data-label="{escape(e.label)}"><title>{escape(e.label)}</title>'
            f'<path d="{path}" marker-end="url(#arrow)"/>'
            + (f'<text x="{lx:.0f}" y="{ly:.0f}">{escape(short)}</text>' if short else "")
            + "</g>"
        )
    for node in nodes.values():
        rx = 16 if node.kind in ("waits", "start") else 3
        out.append(
            f'<g class="node {node.kind}" data-node="{escape(node.name)}">'
            f"<title>{escape(node.label)}</title>"
            f'<rect x="{node.x - node.width / 2:.0f}" y="{node.y:.0f}" width="{node.width:.0f}" '
            f'height="{NODE_H}" rx="{rx}"/>'
            f'<text x="{node.x:.0f}" y="{node.y + NODE_H / 2 + 4:.0f}">{escape(node.label)}</text>'
            "</g>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
