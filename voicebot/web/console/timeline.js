// One call as a timeline: its turns and events in order, each turn with what the
// caller said, what was understood, where the flow went and what the bot answered.
import { el, sayTexts } from "./api.js";

const EVENT_TEXT = {
  media_start: () => "call started",
  media_stop: (d) => `media closed (${d.reason})`,
  flow_end: (d) => `flow ended (${d.reason})`,
  barge_in: (d) => `barge-in (${d.cause}) after ${d.heard_s}s: heard “${d.heard || ""}”`,
  heard: (d) => `prompt cut after ${d.heard_s}s: heard “${d.heard || ""}”`,
  resume: (d) => `not a turn (“${d.after}”): resumed “${d.rest}”`,
  empty_utterance: (d) => `speech with no words (${d.speech_ms} ms)`,
  say: (d) => `bot: ${d.text}`,
  utterance: (d) => `caller spoke ${d.onset_s}s–${d.end_s}s`,
  dtmf: (d) => `caller pressed ${d.digit}`,
};

function fmtMs(v) {
  return typeof v === "number" ? `${Math.round(v)} ms` : "–";
}

// Seconds into the recording at which something happened: the media time the session
// noted, else the wall clock against the recording's start.
export function offsetOf(item, call) {
  const rec = (call.meta || {}).recording;
  if (item.media_s !== undefined) return item.media_s;
  if (!rec || !rec.started_at || !item.at) return null;
  return Math.max(0, item.at - rec.started_at);
}

function playButton(offset, player) {
  if (offset === null || !player) return null;
  return el("button", {
    class: "jump", title: "play the recording from here",
    onclick: () => { player.currentTime = Math.max(0, offset - 0.5); player.play(); },
  }, `▶ ${offset.toFixed(1)}s`);
}

function turnCard(turn, call, player, utterance) {
  const lat = turn.latencies || {};
  const says = sayTexts(turn.actions);
  const others = (turn.actions || []).filter((a) => a.type !== "say");
  const offset = utterance ? utterance.media_s : offsetOf(turn, call);
  return el("li", { class: `turn${turn.error ? " error" : ""}`, "data-turn": turn.index },
    el("div", { class: "turn-head" }, el("strong", {}, `Turn ${turn.index}`), " ", playButton(offset, player)),
    turn.transcript !== null && turn.transcript !== undefined
      ? el("div", { class: "said" }, el("span", { class: "who" }, "caller"), ` ${turn.transcript}`,
        utterance && typeof utterance.confidence === "number"
          ? el("span", { class: "small" }, ` (transcript confidence ${utterance.confidence.toFixed(2)})`) : null)
      : el("div", { class: "said" }, el("span", { class: "who" }, "caller"), " (a key, or silence)"),
    el("div", { class: "nlu" }, el("span", { class: "who" }, "understood"),
      ` ${turn.intent || "no intent"}`,
      typeof turn.confidence === "number" ? ` (NLU confidence ${turn.confidence.toFixed(2)})` : ""),
    el("div", { class: "state" }, el("span", { class: "who" }, "state"), ` ${turn.state || "–"} `,
      el("code", {}, JSON.stringify(turn.slots || {}))),
    ...says.map((text) => el("div", { class: "bot" }, el("span", { class: "who" }, "bot"), ` ${text}`)),
    others.length ? el("div", { class: "actions" }, el("span", { class: "who" }, "actions"), " ",
      others.map((a) => `${a.type}${a.number ? ` ${a.number}` : ""}${a.digits ? ` ${a.digits}` : ""}`).join(", ")) : null,
    el("div", { class: "latency", title: "end of turn: the silence that ends the turn has lasted listen.hangover_ms; end of speech: the caller's last sound" }, el("span", { class: "who" }, "latency"),
      ` end of turn → transcript ${fmtMs(lat.stt_wait_ms)} · NLU ${fmtMs(lat.nlu_ms)} · end of speech → first audio ${fmtMs(lat.reply_ms)}`),
    turn.error ? el("div", { class: "err" }, turn.error) : null);
}

export function renderTimeline(call, player) {
  const items = [
    ...(call.events || []).map((e) => ({ type: "event", at: e.at, e })),
    ...(call.turns || []).map((t) => ({ type: "turn", at: t.at, t })),
  ].sort((a, b) => a.at - b.at);
  const list = el("ol", { class: "timeline" });
  let utterance = null;
  let says = []; // say events since the last turn: a turn's own replies are shown in it
  for (const item of items) {
    if (item.type === "turn") {
      const own = new Set(sayTexts(item.t.actions));
      for (const say of says.filter((s) => own.has(s.text))) say.li.remove();
      list.append(turnCard(item.t, call, player, utterance));
      utterance = null;
      says = [];
      continue;
    }
    const { kind, data } = item.e;
    if (kind === "utterance") {
      utterance = { media_s: data.onset_s, confidence: data.confidence };
      continue; // shown with the turn it started
    }
    if (kind === "resume" || kind === "empty_utterance") utterance = null; // not a turn
    const text = EVENT_TEXT[kind] ? EVENT_TEXT[kind](data || {})
      : kind.startsWith("webhook:") ? `webhook ${kind.slice(8)}` : `${kind} ${JSON.stringify(data)}`;
    const offset = data && typeof data.at_s === "number" ? data.at_s : offsetOf(item.e, call);
    const li = el("li", { class: `event ${kind.replace(":", "-")}` }, text, " ",
      kind === "say" ? playButton(offset, player) : null);
    if (kind === "say") says.push({ text: data.text, li });
    list.append(li);
  }
  return list;
}
