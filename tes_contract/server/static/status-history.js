// <status-history>: the history profile at a glance: a status bar of the last hour / 24 h / 7 d with gaps
// drawn as "no data", latency and error-rate sparklines, and the event timeline with each spell's length.

import { call, describe } from "./api.js";
import { afterFirstStatus, duration, el, severity, svg } from "./dom.js";

export const HISTORY_PATH = "/api/dev/status/history";
export const EVENTS_PATH = "/api/dev/events";
export const RANGES = { "1h": 3600000, "24h": 86400000, "7d": 604800000 };
export const SEGMENTS = 60;
const RANK = { ok: 0, warn: 1, bad: 2 };
const REFRESH_MS = 30000;
const SHOWN_EVENTS = 50;

/** Points grouped into SEGMENTS equal slices of [since, until): worst modes, mean figures, or empty. */
export function segments(points, since, until) {
  const width = (until - since) / SEGMENTS;
  const slices = Array.from({ length: SEGMENTS }, (_, i) => ({
    start: since + i * width, end: since + (i + 1) * width, count: 0, worst: "ok", latency: 0, errorRate: 0,
  }));
  for (const point of points) {
    const at = Date.parse(point.timestamp);
    if (!(at >= since && at < until)) continue;
    const slice = slices[Math.min(SEGMENTS - 1, Math.floor((at - since) / width))];
    for (const mode of [point.trafficMode, point.telemetryStatus]) {
      const level = severity(mode);
      if (RANK[level] > RANK[slice.worst]) slice.worst = level;
    }
    slice.latency += Number(point.avgLatency) || 0;
    slice.errorRate += Number(point.errorRate) || 0;
    slice.count += 1;
  }
  for (const slice of slices) {
    if (slice.count) { slice.latency /= slice.count; slice.errorRate /= slice.count; }
  }
  return slices;
}

/**
 * Each event, newest first, with its spell: an event into a bad value "lasted" until the next event of its
 * kind (or is ongoing); an event back to normal / healthy says how long the bad spell before it was.
 */
export function spells(events, now) {
  const next = new Map();
  const result = [];
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const event = events[i];
    const start = Date.parse(event.timestamp);
    const end = next.get(event.kind);
    const lasted = end === undefined ? now - start : end - start;
    result.push({ event, start, lasted, ongoing: end === undefined, recovery: severity(event.to) === "ok" });
    next.set(event.kind, start);
  }
  for (const spell of result) {  // a recovery's figure: the spell of the event before it, of its kind
    const before = result.find((s) => s.event.kind === spell.event.kind && s.event.id < spell.event.id);
    spell.after = before ? spell.start - before.start : null;
  }
  return result;
}

function spellText({ lasted, ongoing, recovery, after }) {
  if (recovery) return after === null ? "" : ` recovered after ${duration(after)}`;
  return ongoing ? ` ongoing, ${duration(lasted)} so far` : ` lasted ${duration(lasted)}`;
}

function clock(ms) {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19) + "Z";
}

function sparkline(slices, key, label, unit) {
  const values = slices.map((s) => (s.count ? s[key] : null));
  const known = values.filter((v) => v !== null);
  const top = Math.max(key === "errorRate" ? 0.01 : 1, ...known);
  let path = "";
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) { pen = false; return; }
    const y = (28 - (v / top) * 26).toFixed(2);  // a step per slice, so a lone slice shows as a dash
    path += `${pen ? "L" : "M"}${(i * 100 / SEGMENTS).toFixed(2)} ${y} H${((i + 1) * 100 / SEGMENTS).toFixed(2)} `;
    pen = true;
  });
  const chart = svg("svg", { viewBox: "0 0 100 30", preserveAspectRatio: "none", class: "spark", role: "img",
    "aria-label": `${label} over the range` });
  if (path) chart.append(svg("path", { d: path.trim(), "vector-effect": "non-scaling-stroke" }));
  const last = known.length ? unit(known[known.length - 1]) : "no data";
  return el("figure", { class: "spark-box", "data-series": key }, el("figcaption", {}, `${label}: `,
    el("strong", {}, last), known.length ? ` (max ${unit(Math.max(...known))})` : ""), chart);
}

class StatusHistory extends HTMLElement {
  connectedCallback() {
    this.range = "1h";
    this.events = [];
    this.lastEventId = 0;
    this.buttons = Object.keys(RANGES).map((name) => {
      const button = el("button", { type: "button", "data-range": name, "aria-pressed": String(name === this.range) },
        `last ${name}`);
      button.addEventListener("click", () => { this.range = name; this.refresh(); });
      return button;
    });
    this.bar = el("div", { class: "history-bar" });
    this.sparks = el("div", { class: "sparks" });
    this.timeline = el("ol", { class: "timeline", "aria-label": "events, newest first" });
    this.problem = el("p", { class: "problem", hidden: true });
    this.replaceChildren(el("header", { class: "panel-head" }, el("h2", {}, "History"),
      el("div", { class: "range", role: "group", "aria-label": "range" }, this.buttons)),
    this.problem, this.bar, this.sparks, el("h3", {}, "Events"), this.timeline);
    this.onEvent = (e) => { this.addEvents([e.detail]); this.refresh(); };
    document.addEventListener("tes-event", this.onEvent);
    afterFirstStatus(() => { this.refresh(); this.loadEvents(); });
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    this.ticker = setInterval(() => this.drawTimeline(), 1000);  // "ongoing, 12s so far" keeps counting
  }

  disconnectedCallback() {
    clearInterval(this.timer);
    clearInterval(this.ticker);
    document.removeEventListener("tes-event", this.onEvent);
  }

  async refresh() {
    for (const button of this.buttons) button.setAttribute("aria-pressed", String(button.dataset.range === this.range));
    const until = Date.now();
    const since = until - RANGES[this.range];
    const query = new URLSearchParams({ since: new Date(since).toISOString(), until: new Date(until).toISOString(),
      limit: "2000" });
    const result = await call(`${HISTORY_PATH}?${query}`);
    if (!result.ok || !result.body || !Array.isArray(result.body.points)) {
      this.problem.textContent = `History unavailable: ${describe(result)}`;
      this.problem.hidden = false;
      return;
    }
    this.problem.hidden = true;
    this.drawBar(segments(result.body.points, since, until), since, until);
  }

  drawBar(slices, since, until) {
    const chart = svg("svg", { viewBox: `0 0 ${SEGMENTS} 10`, preserveAspectRatio: "none", role: "img" });
    let empty = 0;
    const bad = { warn: 0, bad: 0 };
    slices.forEach((slice, i) => {
      const level = slice.count ? slice.worst : "none";
      if (!slice.count) empty += 1; else if (level !== "ok") bad[level] += 1;
      const rect = svg("rect", { x: i + 0.05, y: 0, width: 0.9, height: 10, class: `seg seg-${level}`,
        "data-level": level });
      const title = svg("title");
      title.textContent = `${clock(slice.start)} – ${clock(slice.end)}: ${slice.count
        ? `${level === "ok" ? "normal" : level === "warn" ? "degraded" : "bad"} (${slice.count} points)` : "no data"}`;
      rect.append(title);
      chart.append(rect);
    });
    chart.setAttribute("aria-label", `last ${this.range}: ${SEGMENTS - empty} of ${SEGMENTS} slices with data, `
      + `${bad.warn} degraded, ${bad.bad} bad, ${empty} no data`);
    this.bar.replaceChildren(chart, el("div", { class: "axis" }, el("span", {}, clock(since)),
      el("span", { class: "legend" }, el("i", { class: "seg-none" }), "no data"), el("span", {}, "now")));
    this.sparks.replaceChildren(
      sparkline(slices, "latency", "average latency", (v) => `${v.toFixed(1)} ms`),
      sparkline(slices, "errorRate", "error rate", (v) => `${(v * 100).toFixed(1)} %`));
  }

  async loadEvents() {
    for (let page = 0; page < 20; page += 1) {
      const result = await call(`${EVENTS_PATH}?after=${this.lastEventId}&limit=1000`);
      if (!result.ok || !result.body || !Array.isArray(result.body.events)) {
        if (result.status !== 404) this.timeline.replaceChildren(el("li", { class: "problem" }, `Events unavailable: ${describe(result)}`));
        return;
      }
      this.addEvents(result.body.events);
      if (result.body.events.length < 1000) return;
    }
  }

  addEvents(events) {
    const known = new Set(this.events.map((e) => e.id));
    for (const event of events) {
      if (event && Number.isInteger(event.id) && !known.has(event.id)) {
        this.events.push(event);
        this.lastEventId = Math.max(this.lastEventId, event.id);
      }
    }
    this.events.sort((a, b) => a.id - b.id);
    if (this.events.length > 1000) this.events = this.events.slice(-1000);
    this.drawTimeline();
  }

  drawTimeline() {
    if (this.timeline.querySelector(".problem")) return;
    const items = spells(this.events, Date.now()).slice(0, SHOWN_EVENTS).map((spell) => {
      const { event } = spell;
      return el("li", { class: `sev-${severity(event.to)}`, "data-event-id": event.id },
        el("time", { datetime: event.timestamp }, clock(spell.start)), " ",
        el("span", { class: "kind" }, event.kind), ": ", String(event.from), " → ", el("strong", {}, String(event.to)),
        el("span", { class: "lasted" }, spellText(spell)));
    });
    this.timeline.replaceChildren(...(items.length ? items : [el("li", { class: "muted" }, "No events yet.")]));
  }
}

customElements.define("status-history", StatusHistory);
