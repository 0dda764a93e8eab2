// <system-status data-polling-interval="5000">: every status field in cards, live by WebSocket, polling
// when the socket fails, a Live / Polling / Reconnecting / Stale badge.

import { call, describe } from "./api.js";
import { MISSING, ago, el, format, present, severity } from "./dom.js";

export const STATUS_PATH = "/api/dev/status";
export const SOCKET_PATH = "/api/dev/status/ws";
export const DEFAULT_INTERVAL_MS = 5000;
export const MIN_INTERVAL_MS = 1000;
const MAX_INTERVAL_MS = 3600000;
const MAX_BACKOFF_MS = 30000;

// [card title, [[label, JSON path, unit]]]: the whole EnhancedStatusData, websocketSubscribers included.
export const CARDS = [
  ["Sessions", [["tmux sessions", "vector.sessions.tmux", "count"],
    ["active workers", "vector.sessions.activeWorkers", "count"],
    ["API sessions", "vector.sessions.apiSessions", "count"],
    ["WebSocket connections", "vector.sessions.websocketConnections", "count"],
    ["WebSocket subscribers", "vector.sessions.websocketSubscribers", "count"]]],
  ["Directions", [["primary region", "vector.directions.primaryRegion", "text"],
    ["traffic mode", "vector.directions.trafficMode", "mode"],
    ["active routes", "vector.directions.activeRoutes", "count"]]],
  ["Request flow", [["total routes", "vector.directions.requestFlow.totalRoutes", "count"],
    ["active routes", "vector.directions.requestFlow.activeRoutes", "count"],
    ["average latency", "vector.directions.requestFlow.avgLatency", "ms"],
    ["requests per second", "vector.directions.requestFlow.requestsPerSecond", "perSecond"]]],
  ["Process", [["memory", "vector.others.memory", "megabytes"],
    ["CPU time", "vector.others.cpu", "cpu"],
    ["error rate", "vector.others.errorRate", "percent"],
    ["uptime", "vector.others.uptime", "uptime"]]],
  ["Meta", [["endpoints", "meta.totalEndpoints", "count"],
    ["telemetry", "meta.telemetryStatus", "mode"],
    ["status version", "meta.statusVersion", "text"],
    ["snapshot taken", "timestamp", "text"]]],
];

/** The attribute as an interval: missing or not a whole number -> 5000; below 1000 -> 1000. */
export function pollingInterval(attribute) {
  if (attribute === null || !/^\s*\d+\s*$/.test(attribute)) return DEFAULT_INTERVAL_MS;
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Number(attribute)));
}

function pick(document, path) {
  let value = document;
  for (const key of path.split(".")) value = value !== null && typeof value === "object" ? value[key] : undefined;
  return value;
}

class SystemStatus extends HTMLElement {
  static observedAttributes = ["data-polling-interval"];

  connectedCallback() {
    performance.mark("tes-status-element");  // the benchmark's breakdown: element, socket open, first status
    this.removed = false;
    this.interval = pollingInterval(this.getAttribute("data-polling-interval"));
    this.values = new Map();
    this.modes = new Map();
    this.receivedAt = 0;
    this.mode = "connecting";
    this.backoff = 1000;
    this.render();
    this.connect();
    this.ticker = setInterval(() => this.updateBadge(), 250);
  }

  disconnectedCallback() {
    this.removed = true;  // no reconnect from the close below
    clearInterval(this.ticker);
    clearTimeout(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    if (this.socket) this.socket.close();
  }

  attributeChangedCallback() {
    if (!this.values) return;
    this.interval = pollingInterval(this.getAttribute("data-polling-interval"));
    if (typeof this.pollTimer === "number") {  // a poll waiting on the old interval waits on the new one
      clearTimeout(this.pollTimer);
      this.pollTimer = setTimeout(() => { this.pollTimer = null; this.poll(); }, this.interval);
    }
  }

  render() {
    this.badge = el("span", { class: "badge", "data-state": "connecting", role: "status" }, "Connecting");
    this.age = el("span", { class: "age" });
    this.problem = el("p", { class: "problem", hidden: true });
    this.announcer = el("p", { class: "visually-hidden", "aria-live": "polite", "data-role": "announcer" });
    this.cards = el("div", { class: "cards" });
    for (const [title, rows] of CARDS) {
      const list = el("dl");
      for (const [label, path, unit] of rows) {
        const value = el("dd", { "data-field": path, "data-unit": unit }, MISSING);
        this.values.set(path, [value, unit]);
        list.append(el("div", { class: "row" }, el("dt", {}, label), value));
      }
      this.cards.append(el("section", { class: "card", "aria-label": title }, el("h3", {}, title), list));
    }
    this.replaceChildren(el("header", { class: "panel-head" }, el("h2", {}, "Status"), this.badge, this.age),
      this.problem, this.announcer, this.cards);
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let opened = false;
    const socket = new WebSocket(`${scheme}//${location.host}${SOCKET_PATH}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (!opened && !this.receivedAt) performance.mark("tes-socket-open");
      opened = true;
    });
    socket.addEventListener("message", (message) => {
      let frame;
      try { frame = JSON.parse(message.data); } catch { return; }
      if (frame && frame.type === "status" && frame.data) {
        this.backoff = 1000;
        clearTimeout(this.pollTimer);
        this.pollTimer = undefined;
        this.problem.hidden = true;
        this.show(frame.data, "push");
      } else if (frame && frame.type === "event" && frame.data) {
        document.dispatchEvent(new CustomEvent("tes-event", { detail: frame.data }));
      }
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket || this.removed) return;
      this.socket = null;
      if (this.mode !== "polling") this.setMode("reconnecting");  // polling that works keeps its badge
      if (this.pollTimer === undefined) {  // null while a poll is under way: one loop only
        this.pollTimer = null;
        this.poll();
      }
      // Back off from 1 s to 30 s, with jitter so many tabs do not reconnect in step.
      const wait = this.backoff * (0.75 + Math.random() / 2);
      this.backoff = opened ? 1000 : Math.min(MAX_BACKOFF_MS, this.backoff * 2);
      this.reconnectTimer = setTimeout(() => this.connect(), wait);
    });
  }

  async poll() {
    const result = await call(STATUS_PATH, { timeoutMs: Math.max(this.interval, 6000) });
    if (this.socket && this.mode === "live") {  // the socket came back meanwhile
      this.pollTimer = undefined;
      return;
    }
    if (result.ok && result.body) {
      this.problem.hidden = true;
      this.show(result.body, "poll");
    } else {
      this.problem.textContent = `Status request failed: ${describe(result)}`;
      this.problem.hidden = false;
      this.setMode("reconnecting");
    }
    this.pollTimer = setTimeout(() => { this.pollTimer = null; this.poll(); }, this.interval);
  }

  show(data, source) {
    const first = !this.receivedAt;
    this.receivedAt = Date.now();
    this.dataset.source = source;
    this.dataset.timestamp = typeof data.timestamp === "string" ? data.timestamp : "";
    for (const [path, [node, unit]] of this.values) {
      const value = pick(data, path);
      if (unit === "mode") this.showMode(path, node, value);
      else node.textContent = format(value, unit);
    }
    this.setMode(source === "push" ? "live" : "polling");
    if (first) {
      performance.mark("tes-first-status");  // the cards show it: read by benchmarks/bench_dashboard.py
      document.dispatchEvent(new CustomEvent("tes-status"));
    }
  }

  showMode(path, node, value) {
    const text = typeof value === "string" ? value : MISSING;
    node.textContent = text;
    node.className = present(value) ? `sev sev-${severity(value)}` : "";
    const previous = this.modes.get(path);
    this.modes.set(path, text);
    if (previous !== undefined && previous !== text) {
      const name = path.endsWith("trafficMode") ? "Traffic mode" : "Telemetry";
      this.announcer.textContent = `${name} changed from ${previous} to ${text}`;
    }
  }

  setMode(mode) {
    this.mode = mode;
    this.updateBadge();
  }

  updateBadge() {
    const age = this.receivedAt ? Date.now() - this.receivedAt : 0;
    const stale = this.receivedAt > 0 && age > 2 * this.interval;
    const state = stale ? "stale" : this.mode;
    const words = { connecting: "Connecting", live: "Live", polling: "Polling", reconnecting: "Reconnecting", stale: "Stale" };
    if (this.badge.dataset.state !== state) {
      this.badge.dataset.state = state;
      this.badge.textContent = words[state];
    }
    this.cards.classList.toggle("is-stale", stale);
    this.age.textContent = stale ? `data ${ago(age)}` : "";
  }
}

customElements.define("system-status", SystemStatus);
