// Dockyard console: draws the server's view model and follows its event stream.
// Read-only: the page only reads /api/stream (server-sent events) and /api/state.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const MAX_EVENTS = 200;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function drawApp(app, services) {
  const byName = new Map(services.filter(s => s.app === app.name).map(s => [s.name, s]));
  const W = 150, H = 34, GAP_X = 60, GAP_Y = 12;
  const pos = new Map();
  app.waves.forEach((wave, x) => wave.forEach((name, y) => {
    pos.set(name, {x: x * (W + GAP_X), y: y * (H + GAP_Y)});
  }));
  const rows = Math.max(1, ...app.waves.map(w => w.length));
  const svg = svgEl("svg", {width: app.waves.length * (W + GAP_X), height: rows * (H + GAP_Y)});
  const defs = svgEl("defs", {});
  const marker = svgEl("marker", {id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
    markerWidth: 6, markerHeight: 6, orient: "auto"});
  marker.append(svgEl("path", {d: "M0,0 L10,5 L0,10 z", fill: "#8894a6"}));
  defs.append(marker);
  svg.append(defs);
  for (const [from, to] of app.edges) {
    const a = pos.get(from), b = pos.get(to);
    if (!a || !b) continue;
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    svg.append(svgEl("path", {class: "edge", d: `M${x1},${y1} C${x1 + 30},${y1} ${x2 - 30},${y2} ${x2},${y2}`}));
  }
  for (const [name, p] of pos) {
    const s = byName.get(name);
    const short = s && s.healthy < s.desired;
    const g = svgEl("g", {class: "svc" + (short ? " short" : ""), "data-service": `${app.name}/${name}`,
      transform: `translate(${p.x},${p.y})`});
    g.append(svgEl("rect", {width: W, height: H, rx: 5}));
    const t = svgEl("text", {x: 8, y: 21});
    t.textContent = s ? `${name}  ${s.healthy}/${s.desired}` : name;
    g.append(t);
    svg.append(g);
  }
  return el("div", {class: "app", "data-app": app.name}, el("h3", {}, app.name), svg);
}

function bar(label, used, capacity, fmt) {
  const pct = capacity > 0 ? Math.min(100, Math.round(100 * used / capacity)) : 0;
  const span = el("span");
  span.style.width = pct + "%";
  return [el("div", {class: "meter"}, `${label} ${fmt(used)} / ${fmt(capacity)} (${pct}%)`),
          el("div", {class: "bar" + (pct >= 90 ? " full" : ""), "data-bar": label}, span)];
}

const cpus = m => (m / 1000).toFixed(m % 1000 ? 2 : 0);
const gib = b => (b / 1073741824).toFixed(1) + " GiB";

function drawNode(n, waitingIds) {
  const head = el("h3", {}, el("span", {}, n.name),
    el("span", {class: "meter"}, `${n.state}${n.availability === "drain" ? ", drained" : ""} · ${n.address}`));
  const box = el("div", {class: "node " + n.state, "data-node": n.name}, head,
    ...bar("cpu", n.cpu.allocated, n.cpu.capacity, cpus),
    ...bar("memory", n.memory.allocated, n.memory.capacity, gib));
  for (const t of n.tasks) {
    const cls = ["task", t.state, t.health, waitingIds.has(t.id) ? "waiting" : ""].join(" ");
    box.append(el("span", {class: cls, "data-task": `${t.app}/${t.service}/${t.slot}`,
      title: `${t.state}${t.health ? ", " + t.health : ""}${t.message ? ": " + t.message : ""}`},
      `${t.app}/${t.service}.${t.slot}`));
  }
  return box;
}

function render(state) {
  const apps = document.getElementById("apps");
  apps.replaceChildren(...state.apps.map(a => drawApp(a, state.services)));
  if (!state.apps.length) apps.append(el("p", {}, "No app yet: dockyard apply -f compose.yaml"));
  document.querySelector("#services tbody").replaceChildren(...state.services.map(s =>
    el("tr", {"data-service": `${s.app}/${s.name}`}, el("td", {}, s.app), el("td", {}, s.name),
      el("td", {}, s.image), el("td", {}, String(s.desired)), el("td", {}, String(s.running)),
      el("td", {}, String(s.healthy)), el("td", {}, s.waiting_on))));
  const waitingIds = new Set(state.waiting.map(w => w.id));
  const nodes = document.getElementById("nodes");
  nodes.replaceChildren(...state.nodes.map(n => drawNode(n, waitingIds)));
  if (!state.nodes.length) nodes.append(el("p", {}, "No node has joined: dockyard agent --join ..."));
  document.querySelector("#waiting tbody").replaceChildren(...state.waiting.map(w =>
    el("tr", {"data-task": `${w.app}/${w.service}/${w.slot}`},
      el("td", {}, `${w.app}/${w.service}.${w.slot}`), el("td", {}, w.node || "-"),
      el("td", {}, w.state), el("td", {}, w.reason))));
}

function addEvent(e) {
  const list = document.getElementById("events");
  const when = new Date(e.time_ms).toLocaleTimeString();
  list.prepend(el("li", {"data-kind": e.kind}, el("time", {}, when), `${e.object}: ${e.message}`));
  while (list.children.length > MAX_EVENTS) list.lastChild.remove();
}

function follow() {
  const live = document.getElementById("live");
  const source = new EventSource("/api/stream");
  source.addEventListener("open", () => { live.textContent = "live"; live.classList.remove("off"); });
  source.addEventListener("state", m => render(JSON.parse(m.data)));
  source.addEventListener("event", m => addEvent(JSON.parse(m.data)));
  source.addEventListener("error", () => {
    live.textContent = "reconnecting"; live.classList.add("off");
    fetch("/api/state").then(r => { if (r.status === 401) location.assign("/login"); });
  });
}

follow();
