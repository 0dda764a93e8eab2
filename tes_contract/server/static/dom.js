// Building DOM from API data without markup: every string becomes a text node (never innerHTML).

/** An element with attributes (strings only) and children (nodes, or strings set as text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An SVG element (namespaced), attributes only. */
export function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

export const MISSING = "—";

/** True for a value a card can show: a finite number, a string, a boolean (0 and "" count). */
export function present(value) {
  if (typeof value === "number") return Number.isFinite(value);
  return typeof value === "string" || typeof value === "boolean";
}

function number(value, digits) {
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** Formatters by unit; each shows a missing value as "—" and a real 0 as 0. */
export const FORMATS = {
  count: (v) => (Number.isInteger(v) ? number(v, 0) : MISSING),
  text: (v) => (typeof v === "string" ? v : MISSING),
  ms: (v) => `${number(v, 1)} ms`,
  perSecond: (v) => `${number(v, 2)} /s`,
  percent: (v) => `${number(v * 100, 1)} %`,
  megabytes: (v) => `${number(v / 1048576, 1)} MB`,
  cpu: (v) => `${number(v, 0)} ms`,
  uptime: (v) => uptime(v),
};

export function format(value, unit) {
  if (!present(value)) return MISSING;
  return FORMATS[unit](value);
}

/** Seconds as "2d 3h 4m" (under a minute: "42s"). */
export function uptime(seconds) {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : `${m}m`;
}

/** A duration in ms as "1h 2m", "3m 4s" or "5s". */
export function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return uptime(s);
}

/** How long ago an instant was, e.g. "12 s ago". */
export function ago(ms) {
  return `${duration(ms)} ago`;
}

/** Severity of a mode: ok, warn or bad (unknown values: bad, so nothing odd looks fine). */
export function severity(value) {
  if (value === "normal" || value === "healthy") return "ok";
  if (value === "degraded") return "warn";
  return "bad";
}

let firstStatus = false;
document.addEventListener("tes-status", () => { firstStatus = true; }, { once: true });

/**
 * Run `start` once the first status is shown (or after `fallbackMs`): the other panels' first requests
 * wait, so the status socket's handshake and first frame are not queued behind them on a busy server.
 */
export function afterFirstStatus(start, fallbackMs = 1000) {
  if (firstStatus) { start(); return; }
  let started = false;
  const go = () => { if (!started) { started = true; start(); } };
  document.addEventListener("tes-status", go, { once: true });
  setTimeout(go, fallbackMs);
}
