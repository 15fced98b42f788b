// The console: calls (live and past) with search, and one call as a timeline beside the
// flow's graph with the call's path on it. Hash routes: #calls, #call/<id>.
import { el, fmtTime, follow, getJson } from "./api.js";
import { drawFlow } from "./graph.js";
import { renderTimeline } from "./timeline.js";

const main = document.getElementById("main");
let feed = null;
let reloadTimer = null;

function later(fn) {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(fn, 400); // a burst of feed items reloads once
}

function setFeed(callId, onItem) {
  if (feed) feed.close();
  feed = follow(callId, onItem, onItem);
}

function duration(call) {
  const end = call.closed_at || (call.live ? Date.now() / 1000 : null);
  return end ? `${Math.round(end - call.opened_at)} s` : "";
}

function badge(call) {
  if (call.live) return el("span", { class: "badge live" }, "live");
  return call.outcome ? el("span", { class: `badge ${call.outcome}` }, call.outcome) : el("span", { class: "badge" }, "open");
}

async function showCalls(params) {
  const form = el("form", { class: "search", onsubmit: (e) => {
    e.preventDefault();
    const q = new URLSearchParams([...new FormData(e.target)].filter(([, v]) => v));
    location.hash = `calls?${q}`;
  } },
  el("input", { name: "number", placeholder: "number", value: params.get("number") || "", inputmode: "tel" }),
  el("label", {}, "from ", el("input", { name: "since", type: "date", value: params.get("since") || "" })),
  el("label", {}, "to ", el("input", { name: "until", type: "date", value: params.get("until") || "" })),
  el("select", { name: "outcome" }, ["", "transfer", "hangup", "error"].map((o) =>
    el("option", { value: o, selected: params.get("outcome") === o }, o || "any outcome"))),
  el("button", { type: "submit" }, "Search"));
  const table = el("table", { class: "calls" });
  const note = el("p", { class: "small" });
  main.replaceChildren(el("h1", {}, "Calls"), form, note, table);

  async function load() {
    let body;
    try {
      body = await getJson(`/console/api/calls?${params}`);
    } catch (err) {
      note.textContent = String(err.message || err);
      return;
    }
    note.textContent = `${body.count} call${body.count === 1 ? "" : "s"}${body.live.length ? `, ${body.live.length} live` : ""}`;
    table.replaceChildren(
      el("tr", {}, ["when", "from", "to", "outcome", "turns", "length", "call id"].map((h) => el("th", {}, h))),
      ...body.calls.map((c) => el("tr", { "data-call": c.call_id },
        el("td", {}, el("a", { href: `#call/${encodeURIComponent(c.call_id)}` }, fmtTime(c.opened_at))),
        el("td", {}, c.meta.from_number || ""), el("td", {}, c.meta.to_number || ""),
        el("td", {}, badge(c)), el("td", {}, c.turns), el("td", {}, duration(c)),
        el("td", { class: "id" }, c.call_id))));
  }
  await load();
  setFeed(null, () => later(load));
}

async function showCall(callId) {
  const head = el("div", { class: "call-head" });
  const audioBox = el("div", { class: "recording" });
  const timelineBox = el("section", { class: "timeline-box" });
  const graphBox = el("section", { class: "graph-box" });
  main.replaceChildren(el("p", {}, el("a", { href: "#calls" }, "← calls")), head, audioBox,
    el("div", { class: "columns" }, timelineBox, graphBox));
  let player = null;
  let drawn = "";

  async function load() {
    let call;
    try {
      call = await getJson(`/console/api/calls/${encodeURIComponent(callId)}`);
    } catch (err) {
      head.replaceChildren(el("h1", {}, "Call"), el("p", { class: "err" }, String(err.message || err)));
      return;
    }
    head.replaceChildren(
      el("h1", {}, "Call ", el("code", {}, call.call_id), " ", badge(call)),
      el("p", {}, `${call.meta.from_number || "unknown"} → ${call.meta.to_number || "unknown"} · `,
        `${fmtTime(call.opened_at)} · ${duration(call)} · flow ${call.flow}`,
        call.close_reason ? ` · closed: ${call.close_reason}` : ""));
    if (call.recording_url && !player) {
      player = el("audio", { controls: true, preload: "metadata", src: call.recording_url, id: "player" });
      audioBox.replaceChildren(el("span", { class: "small" }, "recording (caller left, bot right) "), player);
    } else if (!call.recording_url) {
      audioBox.replaceChildren(el("span", { class: "small" }, call.live ? "" : "no recording (recording.enabled is off, or it was deleted)"));
    }
    timelineBox.replaceChildren(el("h2", {}, "Timeline"), renderTimeline(call, player));
    const key = `${call.flow}:${call.turns.length}:${call.outcome}`;
    if (key !== drawn) {
      drawn = key;
      graphBox.replaceChildren(el("h2", {}, `Flow ${call.flow}`));
      const canvas = el("div", { class: "graph" });
      graphBox.append(canvas);
      await drawFlow(canvas, call.flow, call);
    }
  }
  await load();
  setFeed(callId, () => later(load));
}

function route() {
  const hash = decodeURIComponent(location.hash.slice(1));
  if (hash.startsWith("call/")) return showCall(hash.slice(5));
  const query = hash.startsWith("calls?") ? hash.slice(6) : "";
  return showCalls(new URLSearchParams(query));
}

window.addEventListener("hashchange", route);
route();
