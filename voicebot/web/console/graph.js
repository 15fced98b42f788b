// The flow's graph (an SVG drawn by voicebot) with the path a call took marked on it.
import { getJson } from "./api.js";

function edgesOf(svg) {
  return [...svg.querySelectorAll("g.edge")].map((g) => ({
    g, from: g.dataset.from, to: g.dataset.to, label: g.dataset.label || "",
  }));
}

// The edges from `a` to `b`: the shortest chain (a state that moves on at once, e.g.
// `goto`, may sit between two turns); a global transition ("*") leaves any state.
function route(edges, a, b) {
  const prev = new Map([[a, null]]);
  const queue = [a];
  while (queue.length && !prev.has(b)) {
    const at = queue.shift();
    // Own transitions first: a state's own edge is preferred over a global one.
    const out = [...edges.filter((e) => e.from === at), ...edges.filter((e) => e.from === "*")];
    for (const e of out) {
      if (!prev.has(e.to)) {
        prev.set(e.to, { e, at });
        queue.push(e.to);
      }
    }
  }
  const path = [];
  for (let step = prev.get(b); step; step = prev.get(step.at)) path.push(step.e);
  return path;
}

export async function drawFlow(container, flowName, call) {
  const response = await fetch(`/console/api/flows/${encodeURIComponent(flowName)}.svg`);
  if (!response.ok) {
    container.textContent = `no graph for flow ${flowName}`;
    return;
  }
  container.innerHTML = await response.text();
  const svg = container.querySelector("svg");
  if (!svg || !call) return;
  const edges = edgesOf(svg);
  const node = (name) => svg.querySelector(`g.node[data-node="${CSS.escape(name)}"]`);
  const mark = (e) => e.g.classList.add("taken");
  const start = edges.find((e) => e.from === "(start)");
  if (!start) return;
  mark(start);
  node("(start)")?.classList.add("visited");
  let at = start.to;
  node(at)?.classList.add("visited");
  let step = 1;
  node(at)?.setAttribute("data-step", step);
  for (const turn of call.turns || []) {
    const next = turn.state;
    if (!next || next === at) continue;
    route(edges, at, next).forEach(mark);
    at = next;
    node(at)?.classList.add("visited");
  }
  if (call.outcome === "transfer" || call.outcome === "hangup") {
    const last = (call.turns || []).at(-1);
    const endings = edges.filter((e) => (e.from === at || e.from === "*") && e.to.startsWith(call.outcome));
    const byIntent = endings.filter((e) => last && last.intent && e.label.includes(`intent ${last.intent}`));
    const chosen = byIntent.length ? byIntent : endings.filter((e) => e.from === at);
    (chosen.length ? chosen : endings).forEach((e) => {
      mark(e);
      node(e.to)?.classList.add("visited");
    });
  }
}

export async function flowNames() {
  return (await getJson("/console/api/flows")).flows;
}
