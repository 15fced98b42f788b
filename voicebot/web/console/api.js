// The console's API, and its live feed (server-sent events).
export async function getJson(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (response.status === 401) {
    location.href = `/console/login?next=${encodeURIComponent(location.pathname)}`;
    throw new Error("signed out");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `${path}: HTTP ${response.status}`);
  return body;
}

// Calls `onItem(item)` for each feed item (of one call, or all); `onReset()` when the
// feed lagged or reconnected, so the page reloads what it shows from the store.
export function follow(callId, onItem, onReset) {
  const url = callId ? `/console/api/events?call_id=${encodeURIComponent(callId)}` : "/console/api/events";
  const source = new EventSource(url);
  let opened = false;
  source.onopen = () => {
    if (opened && onReset) onReset();
    opened = true;
  };
  source.onmessage = (e) => onItem(JSON.parse(e.data));
  source.addEventListener("lagged", () => {
    if (onReset) onReset();
  });
  return source;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function fmtTime(epoch) {
  if (!epoch) return "";
  return new Date(epoch * 1000).toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function sayTexts(actions) {
  return (actions || []).filter((a) => a.type === "say").map((a) => a.text);
}
