// eegd ward view: one tile per stream from the server's event feed. Rendering is budgeted per animation frame so
// that no main-thread task grows long with hundreds of streams; traces are drawn only for tiles on screen.
"use strict";

const TRACE_S = 60;        // seconds of p(seizure) drawn
const STALE_S = 5;         // a tile with no prediction for this long is shown as stale
const FRAME_BUDGET_MS = 6; // rendering work per animation frame
const RANK = { seizure: 0, tumor: 1, normal: 2 };

const ward = document.getElementById("ward");
const template = document.getElementById("tile");
const streams = new Map();
const dirty = new Set();
const statuses = new Map();
let daemonOnline = null;

function fmtTime(ms) { return new Date(ms).toLocaleTimeString(); }

function setText(node, text) {  // touch the DOM only for a real change (each write costs style and layout)
  if (node.__text !== text) { node.textContent = text; node.__text = text; }
}

function makeTile(id) {
  const el = template.content.firstElementChild.cloneNode(true);
  const s = {
    id, el, state: null, since: null, changedAt: null, pred: null, trace: [], issues: [], lastSeen: 0,
    stale: false, visible: false, traceStale: true, showChannels: false,
    parts: {
      id: el.querySelector(".id"), state: el.querySelector(".state"), since: el.querySelector(".since"),
      label: el.querySelector(".label"), probs: el.querySelector(".probs"), canvas: el.querySelector("canvas"),
      quality: el.querySelector(".quality"), latency: el.querySelector(".latency"), model: el.querySelector(".model"),
      channels: el.querySelector(".channels"),
    },
  };
  s.parts.id.textContent = id;
  el.dataset.stream = id;
  el.addEventListener("click", () => { s.showChannels = !s.showChannels; touch(s); });
  visibility.observe(el);
  streams.set(id, s);
  ward.appendChild(el);
  reorder();
  return s;
}

const visibility = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const s = streams.get(e.target.dataset.stream);
    if (!s) continue;
    s.visible = e.isIntersecting;
    if (s.visible && s.traceStale) touch(s);
  }
});

function stream(id) { return streams.get(id) || makeTile(id); }
function touch(s) { dirty.add(s); }

function reorder() {  // alarms first, then by id; CSS order moves tiles without moving DOM nodes
  const ids = [...streams.keys()].sort();
  ids.forEach((id, i) => {
    const s = streams.get(id);
    const rank = s.state in RANK ? RANK[s.state] : 3;
    const order = String(rank * 100000 + i);
    if (s.order !== order) { s.el.style.order = order; s.order = order; }
  });
}

function apply(ev) {
  switch (ev.kind) {
    case "prediction": {
      const s = stream(ev.stream);
      s.pred = ev;
      s.lastSeen = Date.now();
      for (const p of ev.trace || []) s.trace.push(p);
      const t = s.trace.length ? s.trace[s.trace.length - 1][0] : 0;
      let k = 0;
      while (k < s.trace.length && s.trace[k][0] < t - TRACE_S) k++;
      if (k) s.trace.splice(0, k);
      s.traceStale = true;
      touch(s);
      break;
    }
    case "alert": {
      const s = stream(ev.stream);
      const changed = s.state !== ev.state;
      s.state = ev.state; s.since = ev.since; s.changedAt = Date.now();
      if (ev.model) s.model = ev.model;
      touch(s);
      if (changed) reorder();
      break;
    }
    case "quality": {
      const s = stream(ev.stream);
      s.issues = ev.ok ? [] : (ev.issues || []);
      touch(s);
      break;
    }
    case "remove": {
      const s = streams.get(ev.stream);
      if (s) { visibility.unobserve(s.el); s.el.remove(); streams.delete(ev.stream); dirty.delete(s); reorder(); }
      break;
    }
    case "status": {
      statuses.set(ev.worker || "", ev);
      renderStatus();
      break;
    }
  }
}

function renderStatus() {
  const d = statuses.get("");
  const el = document.getElementById("daemon");
  if (d) {
    daemonOnline = d.state === "online";
    el.className = "daemon " + (daemonOnline ? "online" : "offline");
    el.textContent = daemonOnline ? `daemon online · ${d.model || ""} · eegd ${d.version || ""}` : "daemon OFFLINE";
  }
  const workers = [...statuses.entries()].filter(([w]) => w);
  document.getElementById("workers").innerHTML = "";
  for (const [w, st] of workers) {
    const span = document.createElement("span");
    span.className = st.state;
    span.textContent = `${w}: ${st.state} `;
    document.getElementById("workers").appendChild(span);
  }
  document.body.classList.toggle("daemon-offline", daemonOnline === false);
  for (const s of streams.values()) touch(s);
}

function render(s) {
  const p = s.parts;
  const cls = `tile state-${s.state || "unset"}` + (s.stale ? " stale" : "");
  if (s.el.__cls !== cls) { s.el.className = cls; s.el.__cls = cls; }
  setText(p.state, s.state || "—");
  setText(p.since, s.since != null ? `since t=${s.since.toFixed(1)} s · changed ${fmtTime(s.changedAt)}` : "");
  const pred = s.pred;
  if (pred) {
    setText(p.label, pred.label || "");
    const pr = pred.probs || {};
    setText(p.probs, `s ${(pr.seizure ?? 0).toFixed(2)} t ${(pr.tumor ?? 0).toFixed(2)} n ${(pr.normal ?? 0).toFixed(2)}`);
    setText(p.latency, pred.latency_ms != null ? `latency ${pred.latency_ms.toFixed(0)} ms` : "");
    setText(p.model, pred.model || s.model || "");
  }
  setText(p.quality, s.issues.length ? "signal: " + s.issues.join(", ") : "");
  if (p.channels.hidden === s.showChannels) p.channels.hidden = !s.showChannels;
  if (s.showChannels) {
    p.channels.innerHTML = "";
    for (const [name, ch] of Object.entries((pred && pred.channels) || {})) {
      const li = document.createElement("li");
      li.className = ch.label;
      li.textContent = `${name}: ${ch.label} (${(ch.probs.seizure ?? 0).toFixed(2)})`;
      p.channels.appendChild(li);
    }
    if (!p.channels.childElementCount) p.channels.innerHTML = "<li>one channel</li>";
  }
  if (s.visible && s.traceStale) { drawTrace(s); s.traceStale = false; }
}

function drawTrace(s) {
  const c = s.parts.canvas, g = c.getContext("2d");
  const w = c.width, h = c.height;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = "#ddd";
  g.beginPath(); g.moveTo(0, h * 0.7); g.lineTo(w, h * 0.7); g.stroke();  // p = 0.3, the default threshold
  if (s.trace.length < 2) return;
  const t1 = s.trace[s.trace.length - 1][0], t0 = t1 - TRACE_S;
  g.strokeStyle = s.state === "seizure" ? "#c62828" : "#37474f";
  g.beginPath();
  s.trace.forEach(([t, v], i) => {
    const x = ((t - t0) / TRACE_S) * w, y = h - v * (h - 2) - 1;
    if (i) g.lineTo(x, y); else g.moveTo(x, y);
  });
  g.stroke();
}

function frame() {
  const start = performance.now();
  for (const s of dirty) {
    dirty.delete(s);
    render(s);
    if (performance.now() - start > FRAME_BUDGET_MS) break;  // the rest next frame
  }
  requestAnimationFrame(frame);
}

setInterval(() => {  // a stream whose predictions stopped (or whose daemon went offline) is shown stale
  const now = Date.now();
  for (const s of streams.values()) {
    const stale = daemonOnline === false || (s.lastSeen > 0 && now - s.lastSeen > STALE_S * 1000);
    if (stale !== s.stale) { s.stale = stale; touch(s); }
  }
  setText(document.getElementById("counts"),
    `${streams.size} streams · ${[...streams.values()].filter((s) => s.state === "seizure").length} seizure alarms`);
}, 1000);

function connect() {
  const source = new EventSource("/events");
  let snapshot = true;  // each connection starts with a snapshot that carries every trace afresh
  source.onopen = () => { snapshot = true; };
  source.onmessage = (msg) => {
    if (snapshot) { for (const s of streams.values()) s.trace = []; snapshot = false; }
    for (const ev of JSON.parse(msg.data)) apply(ev);
  };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);  // the browser retries otherwise
  };
}

window.eegdView = { streams, statuses };  // for tests and the curious
requestAnimationFrame(frame);
connect();
