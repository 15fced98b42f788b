// The browser phone: a media server in a page. The microphone goes out as 8 kHz PCMU
// RTP over the media WebSocket, exactly as Ringover's media server would send it; the
// bot's streamAudio comes back and is played; a break stops playback; keys are RFC 4733.
import { el, follow, getJson } from "./api.js";
import { decodePcm16, Player } from "./player.js";
import { RtpStream } from "./rtp.js";
import { speakerPath } from "./speaker-path.js";

const $ = (id) => document.getElementById(id);
let call = null;

function log(kind, ...text) {
  const line = el("li", { class: `log ${kind}` }, el("span", { class: "who" }, kind), " ", ...text);
  $("log").append(line);
  line.scrollIntoView({ block: "nearest" });
}

function status(text) {
  $("status").textContent = text;
}

async function settings() {
  const s = await getJson("/console/api/phone");
  const select = $("flow");
  select.replaceChildren(...s.flows.map((name) =>
    el("option", { value: name, selected: name === s.served }, name === s.served ? `${name} (served)` : name)));
  return s;
}

async function startCall(s) {
  const flow = $("flow").value;
  const callId = `browser-${crypto.randomUUID()}`;
  const ctx = new AudioContext();
  await ctx.audioWorklet.addModule("/console/static/capture-worklet.js");
  const mic = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
  });
  const capture = new AudioWorkletNode(ctx, "capture-8k");
  const mute = ctx.createGain();
  mute.gain.value = 0; // the worklet must be pulled by the graph to run; nothing is heard
  ctx.createMediaStreamSource(mic).connect(capture).connect(mute).connect(ctx.destination);
  const speaker = await speakerPath(ctx); // before the WebSocket: its handlers are set at once
  document.body.dataset.playback = speaker.kind;

  const query = new URLSearchParams({ call_id: callId, from: "browser", to: flow, encoding: "pcmu",
    sample_rate: "8000", flow });
  if (s.media_token) query.set("token", s.media_token);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}${s.media_path}?${query}`);
  ws.binaryType = "arraybuffer";
  const rtp = new RtpStream();
  const player = new Player(ctx, speaker.node);
  const keys = []; // packets of key presses, one list per 20 ms slot, sent in place of audio
  call = { ws, ctx, mic, capture, player, speaker, keys, rtp, callId, ended: false };
  $("call-id").textContent = callId;
  $("console-link").href = `/console#call/${encodeURIComponent(callId)}`;

  const thisCall = call;
  // Items that arrive after the next call started belong to the old call: dropped.
  call.feed = follow(callId, (item) => { if (call === thisCall) showFeedItem(item); });
  ws.onopen = () => {
    status("connected");
    ws.send(JSON.stringify({ event: "start", call_id: callId, from: "browser", to: flow,
      encoding: "pcmu", sample_rate: 8000 }));
    capture.port.onmessage = (e) => {
      showLevel(e.data);
      if (ws.readyState !== WebSocket.OPEN) return;
      const slot = keys.shift();
      if (slot) slot.forEach((pkt) => ws.send(pkt));
      else ws.send(rtp.audio(e.data));
    };
  };
  ws.onmessage = (e) => onBotEvent(JSON.parse(e.data));
  ws.onclose = (e) => endCall(e.reason || `closed (${e.code})`);
  ws.onerror = () => status("connection error");
  $("call").disabled = true;
  $("hangup").disabled = false;
  status("calling…");
}

async function onBotEvent(event) {
  const kind = event.event || event.type;
  if (kind === "streamAudio") {
    const d = event.data;
    if (d.audioDataType === "raw") call.player.push(decodePcm16(d.audioData), d.sampleRate);
    else {
      const bytes = Uint8Array.from(atob(d.audioData), (c) => c.charCodeAt(0));
      const buffer = await call.ctx.decodeAudioData(bytes.buffer);
      call.player.push(Int16Array.from(buffer.getChannelData(0), (x) => x * 32767), buffer.sampleRate);
    }
    $("speaking").hidden = false;
    clearTimeout(call.quiet);
    call.quiet = setTimeout(() => { $("speaking").hidden = true; },
      Math.max(0, (call.player.next - call.ctx.currentTime) * 1000));
  } else if (kind === "break") {
    call.player.stop();
    $("speaking").hidden = true;
    log("break", "the bot stopped talking (barge-in)");
  } else if (kind === "transfer") {
    showOutcome("transfer", `Transferred to ${event.data}`);
    log("transfer", `to ${event.data}`);
    // A media server would now connect the agent; the browser has no one to connect.
    setTimeout(() => hangUp(), 1500);
  } else if (kind === "digits") {
    log("digits", `the bot sent keys ${event.data}`);
  } else if (kind === "play") {
    log("play", event.file);
    new Audio(event.file).play().catch(() => log("play", "could not play the file"));
  }
}

// The microphone's level, so a caller can see they are heard (dBFS of each 20 ms frame).
function showLevel(pcm) {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i] * pcm[i];
  const db = 10 * Math.log10(sum / pcm.length / (32768 * 32768) + 1e-10);
  $("level").value = Math.max(0, 60 + db); // -60 dBFS and below shows empty
}

function showOutcome(kind, text) {
  const box = $("outcome");
  box.dataset.kind = kind;
  box.textContent = text;
  box.hidden = false;
}

function showFeedItem(item) {
  const d = item.data || {};
  if (item.kind === "turn") {
    // What was said came first as an utterance event; the turn adds what it meant.
    if (d.intent || d.transcript) {
      const conf = typeof d.confidence === "number" ? ` (${d.confidence.toFixed(2)})` : "";
      log("understood", d.intent || "no intent", el("span", { class: "meta" }, conf));
    }
    const state = `${d.state} ${JSON.stringify(d.slots || {})}`;
    if (d.state && state !== call.shownState) { // only when the flow moved or filled a slot
      call.shownState = state;
      log("state", d.state, el("span", { class: "meta" }, ` ${JSON.stringify(d.slots || {})}`));
    }
  } else if (item.kind === "event") {
    const e = d.data || {};
    if (d.kind === "say") log("bot", e.text);
    else if (d.kind === "utterance") {
      const conf = typeof e.confidence === "number" ? ` (${e.confidence.toFixed(2)})` : "";
      log("you", e.text || "(no words)", el("span", { class: "meta" }, conf));
    }
    else if (d.kind === "barge_in") log("barge-in", `after “${e.heard || ""}”`);
    else if (d.kind === "flow_end") log("end", e.reason);
    else if (d.kind.startsWith("webhook:")) log("webhook", d.kind.slice(8));
  } else if (item.kind === "closed") {
    log("end", `call closed: ${d.reason}`);
  }
}

function hangUp() {
  if (!call || call.ended) return;
  if (call.ws.readyState === WebSocket.OPEN) {
    call.ws.send(JSON.stringify({ event: "stop", reason: "hangup" }));
    call.ws.close(1000, "hangup");
  }
  endCall("you hung up");
}

function endCall(reason) {
  if (!call || call.ended) return;
  call.ended = true;
  call.player.stop();
  call.mic.getTracks().forEach((t) => t.stop());
  call.capture.port.onmessage = null;
  setTimeout(() => call.feed.close(), 3000); // the record's last lines arrive after the hang-up
  call.speaker.close();
  call.ctx.close();
  status(`ended: ${reason}`);
  $("speaking").hidden = true;
  $("call").disabled = false;
  $("hangup").disabled = true;
}

function press(key) {
  if (!call || call.ended) return;
  call.keys.push(...call.rtp.key(key));
  log("key", key);
}

async function main() {
  let s;
  try {
    s = await settings();
  } catch (err) {
    status(String(err.message || err));
    return;
  }
  if (!window.isSecureContext || !navigator.mediaDevices || !window.AudioWorkletNode) {
    // Browsers give the microphone (and AudioWorklet) only to https:// pages and localhost.
    status("the microphone needs https:// or http://localhost: serve voicebot behind TLS, " +
      "or reach it through an SSH tunnel (ssh -L 8080:localhost:8080 host)");
    $("call").disabled = true;
    return;
  }
  $("call").onclick = () => {
    $("log").replaceChildren();
    $("outcome").hidden = true;
    startCall(s).catch((err) => status(`could not start: ${err.message || err}`));
  };
  $("hangup").onclick = hangUp;
  for (const button of document.querySelectorAll("#keypad button")) {
    button.onclick = () => press(button.dataset.key);
  }
  document.addEventListener("keydown", (e) => {
    if (call && !call.ended && /^[0-9*#]$/.test(e.key) && e.target.tagName !== "SELECT") press(e.key);
  });
  status("ready");
}

main();
