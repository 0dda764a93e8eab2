// The metrics profile of the independent Node.js server: GET /api/dev/metrics, written from the contract
// alone (no npm packages: the text format by hand). status-server.mjs calls request() once per answered
// request, upstream() once per upstream call of the status, render() for a scrape. METRICS_BREAKS are
// this profile's TES_BREAK modes (tests/servers/README.md).
export const METRICS_BREAKS = [
  "metrics_counter_no_total", "metrics_raw_path_route", "metrics_scrape_not_counted",
  "metrics_scrape_counted_twice", "metrics_upstream_up_stuck", "metrics_mode_current_only",
  "metrics_latency_ms",
];
export const METRICS_PATH = "/api/dev/metrics";
export const TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
export const OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, Infinity];

const num = (v) => (v === Infinity ? "+Inf" : Number.isInteger(v) ? `${v}.0` : `${v}`);
const esc = (v) => String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labelText = (labels) => {
  const keys = Object.keys(labels);
  return keys.length ? `{${keys.map((k) => `${k}="${esc(labels[k])}"`).join(",")}}` : "";
};

function histogram() {
  return { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
}

function observe(h, value) {
  BUCKETS.forEach((bound, i) => { if (value <= bound) h.counts[i] += 1; });
  h.sum += value;
  h.count += 1;
}

export function upstreamOutcome(name, result) {
  if (!result.answered) return result.failure || "error";
  if (!(result.status >= 200 && result.status < 300)) return "http_error";
  const b = result.body;
  const isObject = typeof b === "object" && b !== null && !Array.isArray(b);
  if (name === "tmux") {
    return isObject && typeof b.online === "boolean" && Array.isArray(b.sessions) ? "ok" : "invalid";
  }
  return isObject && Number.isInteger(b.connected) && b.connected >= 0 ? "ok" : "invalid";
}

export class Metrics {
  constructor(breaks) {
    this.breaks = breaks;
    this.requests = new Map(); // JSON [method, route, code] -> count
    this.durations = new Map(); // JSON [method, route] -> histogram
    this.upstreamCalls = new Map(); // JSON [upstream, outcome] -> count
    this.upstreamDurations = new Map(); // upstream -> histogram
    this.up = { tmux: 0, worker: 0 };
  }

  route(path, known) {
    return known || this.breaks.has("metrics_raw_path_route") ? path : "unmatched";
  }

  request(method, route, status, seconds) {
    let times = 1;
    if (route === METRICS_PATH) {
      if (this.breaks.has("metrics_scrape_not_counted")) times = 0;
      if (this.breaks.has("metrics_scrape_counted_twice")) times = 2;
    }
    const value = this.breaks.has("metrics_latency_ms") ? seconds * 1000 : seconds;
    for (let i = 0; i < times; i += 1) {
      const key = JSON.stringify([method, route, String(status)]);
      this.requests.set(key, (this.requests.get(key) || 0) + 1);
      const hkey = JSON.stringify([method, route]);
      if (!this.durations.has(hkey)) this.durations.set(hkey, histogram());
      observe(this.durations.get(hkey), value);
    }
  }

  upstream(name, outcome, seconds) {
    const key = JSON.stringify([name, outcome]);
    this.upstreamCalls.set(key, (this.upstreamCalls.get(key) || 0) + 1);
    if (!this.upstreamDurations.has(name)) this.upstreamDurations.set(name, histogram());
    observe(this.upstreamDurations.get(name), seconds);
    this.up[name] = outcome === "ok" || this.breaks.has("metrics_upstream_up_stuck") ? 1 : 0;
  }

  // figures: {trafficMode, telemetry, errorRate, avgLatencyMs, rps, tmux, activeWorkers, inFlight, region}
  render(figures, openmetrics) {
    const out = [];
    const family = (name, type, help, samples) => {
      const declared = openmetrics && type === "counter" ? name.replace(/_total$/, "") : name;
      out.push(`# HELP ${declared} ${help}`, `# TYPE ${declared} ${type}`);
      for (const [suffix, labels, value] of samples) out.push(`${name}${suffix}${labelText(labels)} ${num(value)}`);
    };
    const hist = (name, help, entries) => {
      const samples = [];
      for (const [labels, h] of entries) {
        BUCKETS.forEach((b, i) => samples.push(["_bucket", { ...labels, le: num(b) }, h.counts[i]]));
        samples.push(["_sum", labels, h.sum], ["_count", labels, h.count]);
      }
      family(name, "histogram", help, samples);
    };
    const counter = this.breaks.has("metrics_counter_no_total") ? "tes_http_requests" : "tes_http_requests_total";
    family(counter, "counter", "HTTP requests answered by method, route template and code",
      [...this.requests].map(([k, n]) => { const [method, route, code] = JSON.parse(k); return ["", { method, route, code }, n]; }));
    hist("tes_http_request_duration_seconds", "HTTP request duration",
      [...this.durations].map(([k, h]) => { const [method, route] = JSON.parse(k); return [{ method, route }, h]; }));
    family("tes_upstream_requests_total", "counter", "upstream calls by outcome",
      [...this.upstreamCalls].map(([k, n]) => { const [upstream, outcome] = JSON.parse(k); return ["", { upstream, outcome }, n]; }));
    hist("tes_upstream_request_duration_seconds", "upstream call duration",
      [...this.upstreamDurations].map(([upstream, h]) => [{ upstream }, h]));
    family("tes_upstream_up", "gauge", "1 when the last call answered 2xx with a valid body",
      Object.entries(this.up).map(([upstream, v]) => ["", { upstream }, v]));
    const modes = this.breaks.has("metrics_mode_current_only") ? [figures.trafficMode] : ["normal", "degraded", "isolated"];
    family("tes_traffic_mode", "gauge", "the current trafficMode",
      modes.map((mode) => ["", { mode }, mode === figures.trafficMode ? 1 : 0]));
    family("tes_telemetry_status", "gauge", "the current telemetryStatus",
      ["healthy", "degraded", "offline"].map((status) => ["", { status }, status === figures.telemetry ? 1 : 0]));
    const latency = this.breaks.has("metrics_latency_ms") ? figures.avgLatencyMs : figures.avgLatencyMs / 1000;
    for (const [name, help, value] of [
      ["tes_http_requests_in_flight", "requests in flight", figures.inFlight],
      ["tes_error_rate", "errorRate of the last 60 s", figures.errorRate],
      ["tes_avg_latency_seconds", "avgLatency of the last 60 s in seconds", latency],
      ["tes_requests_per_second", "requestsPerSecond of the last 60 s", figures.rps],
      ["tes_tmux_sessions", "tmux sessions", figures.tmux],
      ["tes_active_workers", "connected workers", figures.activeWorkers],
      ["tes_websocket_connections", "open WebSockets", 0],
    ]) family(name, "gauge", help, [["", {}, value]]);
    family("tes_status_info", "gauge", "status API version and region",
      [["", { version: "2.0", region: figures.region }, 1]]);
    if (openmetrics) out.push("# EOF");
    return `${out.join("\n")}\n`;
  }
}
