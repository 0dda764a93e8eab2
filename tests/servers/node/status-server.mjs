#!/usr/bin/env node
// An independent implementation of GET /api/dev/status (TES Enhanced Status API v2.0) in Node.js 20,
// with node's built-in http module and fetch only: no npm dependencies, nothing shared with tes_contract.
//
// Correct by default. TES_BREAK (comma-separated names, see tests/servers/README.md) switches on
// deliberate breakages, so the conformance harness can be shown to catch each one.
import http from "node:http";

import { DEV_BREAKS, DEV_ROUTES, DevPart } from "./dev.mjs";
import { LIVE_BREAKS, LIVE_PATH, Live, pushIntervalMs } from "./live.mjs";
import { METRICS_BREAKS, METRICS_PATH, Metrics, OPENMETRICS_TYPE, TEXT_TYPE, upstreamOutcome } from "./metrics.mjs";

const BREAK_NAMES = new Set([
  "no_version_header", "wrong_version_header", "no_cache_header", "sequential_upstreams", "no_timeout",
  "short_timeout_500ms", "count_panes", "two_worker_calls", "zero_metrics", "strict_thresholds", "no_405",
  "parse_error_offline", "cached_response", "latency_seconds", "cpu_percent", "bool_is_int", "ignore_region",
  "extra_field", "status_500_on_upstream_error",
]);
for (const name of METRICS_BREAKS) BREAK_NAMES.add(name); // the metrics profile, in its own file
for (const name of DEV_BREAKS) BREAK_NAMES.add(name); // the dev profile, in its own file
for (const name of LIVE_BREAKS) BREAK_NAMES.add(name); // the live profile (WebSocket push), in its own file
const WINDOW_MS = 60_000;
const STATUS_PATH = "/api/dev/status";
const WORKERS_PATH = "/api/dev/workers";

function fail(message) {
  process.stderr.write(`status-server.mjs: ${message}\n`);
  process.exit(2);
}

function readSettings(env) {
  const breaks = new Set((env.TES_BREAK || "").split(",").map((s) => s.trim()).filter(Boolean));
  for (const name of breaks) if (!BREAK_NAMES.has(name)) fail(`unknown TES_BREAK mode ${JSON.stringify(name)}`);
  const host = env.TES_HOST || "127.0.0.1";
  const portText = env.TES_PORT || "3002";
  if (!/^[0-9]+$/.test(portText) || Number(portText) > 65535) fail(`TES_PORT must be 0-65535, got ${portText}`);
  const timeoutText = env.TES_UPSTREAM_TIMEOUT_MS || "5000";
  if (!/^[0-9]+$/.test(timeoutText) || Number(timeoutText) <= 0) {
    fail(`TES_UPSTREAM_TIMEOUT_MS must be a positive integer of milliseconds, got ${timeoutText}`);
  }
  let timeoutMs = Number(timeoutText);
  if (breaks.has("short_timeout_500ms")) timeoutMs = 500;
  if (breaks.has("no_timeout")) timeoutMs = null;
  const region = breaks.has("ignore_region") ? "us-east-1" : (env.TES_PRIMARY_REGION || "us-east-1");
  return {
    breaks, host, port: Number(portText), timeoutMs, region, pushIntervalMs: pushIntervalMs(env, breaks, fail),
    tmuxUrl: env.TES_TMUX_STATUS_URL || null, // null: our own /api/dev/tmux/status, known once listening
    workerBase: (env.TES_WORKER_API_URL || "http://127.0.0.1:3003").replace(/\/+$/, ""),
  };
}

const settings = readSettings(process.env);
const broken = (name) => settings.breaks.has(name);
const metrics = new Metrics(settings.breaks);
const dev = new DevPart(process.env, settings.breaks, settings.timeoutMs);
let lastFields = { tmux: 0, activeWorkers: 0, telemetry: "offline" }; // of the last status's calls

// --- one upstream call: {answered, status, body} where body is parsed JSON or undefined ----------------
async function callUpstream(url) {
  const options = settings.timeoutMs === null ? {} : { signal: AbortSignal.timeout(settings.timeoutMs) };
  let response, text;
  const started = performance.now();
  try {
    // The signal bounds the whole exchange: connect, headers and the body read below.
    response = await fetch(url, options);
    text = await response.text();
  } catch (err) {
    // Refused, reset, closed mid-body, or timed out: no answer.
    const code = (err && err.cause && err.cause.code) || "";
    const failure = err && err.name === "TimeoutError" ? "timeout" : code === "ECONNREFUSED" ? "refused"
      : ["ECONNRESET", "UND_ERR_SOCKET", "UND_ERR_CLOSED"].includes(code) ? "reset" : "error";
    return { answered: false, status: null, body: undefined, failure, seconds: (performance.now() - started) / 1000 };
  }
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { answered: true, status: response.status, body, seconds: (performance.now() - started) / 1000 };
}

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
const ok = (status) => status !== null && status >= 200 && status < 300;

function tmuxCount(result) {
  const b = result.body;
  if (!result.answered || !ok(result.status)) return 0;
  if (!isObject(b) || typeof b.online !== "boolean" || !Array.isArray(b.sessions)) return 0;
  if (!b.online) return 0;
  if (broken("count_panes")) {
    return b.sessions.reduce((n, s) => n + (isObject(s) && Array.isArray(s.panes) ? s.panes.length : 0), 0);
  }
  return b.sessions.length;
}

function workerConnected(body) {
  if (!isObject(body)) return null;
  const c = body.connected;
  if (broken("bool_is_int") && typeof c === "boolean") return c ? 1 : 0;
  return Number.isInteger(c) && c >= 0 ? c : null;
}

function workerFields(result) {
  if (!result.answered) return [0, "offline"];
  if (broken("parse_error_offline") && result.body === undefined) return [0, "offline"];
  const connected = ok(result.status) ? workerConnected(result.body) : null;
  if (connected === null || connected === 0) return [0, "degraded"];
  return [connected, "healthy"];
}

// --- traffic accounting -------------------------------------------------------------------------------
const completed = []; // {at, latencyMs, status}, oldest first
let inFlight = 0;
let lastCpu = null; // for the cpu_percent break: [cpuMicros, wallMs]

function prune(now) {
  while (completed.length && completed[0].at < now - WINDOW_MS) completed.shift();
}

function trafficMode(rate) {
  if (broken("strict_thresholds")) return rate > 0.5 ? "isolated" : rate > 0.1 ? "degraded" : "normal";
  return rate < 0.1 ? "normal" : rate <= 0.5 ? "degraded" : "isolated";
}

function cpuField() {
  const usage = process.cpuUsage();
  const micros = usage.user + usage.system;
  if (!broken("cpu_percent")) return Math.floor(micros / 1000);
  // The original's mistake: a 0-100 percentage since the previous call, 0 on the first.
  const now = performance.now();
  const previous = lastCpu;
  lastCpu = [micros, now];
  if (previous === null || now <= previous[1]) return 0;
  return Math.round(((micros - previous[0]) / 1000 / (now - previous[1])) * 10000) / 100 + 0.01;
}

// --- routes: the route table is the source of totalRoutes / totalEndpoints ----------------------------
const ROUTES = [
  ["GET", STATUS_PATH], ["HEAD", STATUS_PATH],
  ["GET", WORKERS_PATH], ["HEAD", WORKERS_PATH],
  ["GET", METRICS_PATH], ["HEAD", METRICS_PATH], ...DEV_ROUTES,
  ["GET", LIVE_PATH],
];
const PATHS = [...new Set(ROUTES.map(([, path]) => path))];

let cached = null; // cached_response break: {until, text}

function windowFigures(now) {
  prune(now);
  const uptime = process.uptime();
  if (!completed.length) return { avgLatency: 0, rps: 0, errorRate: 0 };
  return {
    avgLatency: completed.reduce((s, r) => s + r.latencyMs, 0) / completed.length,
    errorRate: completed.filter((r) => r.status >= 500).length / completed.length,
    rps: uptime > 0 ? completed.length / Math.min(60, uptime) : 0,
  };
}

async function upstreamAnswers() {
  const workerUrl = `${settings.workerBase}/workers/status`;
  let tmuxResult, workerResult, secondWorker;
  if (broken("sequential_upstreams")) {
    tmuxResult = await callUpstream(settings.tmuxUrl);
    workerResult = await callUpstream(workerUrl);
  } else if (broken("two_worker_calls")) {
    [tmuxResult, workerResult, secondWorker] = await Promise.all(
      [callUpstream(settings.tmuxUrl), callUpstream(workerUrl), callUpstream(workerUrl)]);
  } else {
    [tmuxResult, workerResult] = await Promise.all([callUpstream(settings.tmuxUrl), callUpstream(workerUrl)]);
  }
  for (const [name, result] of [["tmux", tmuxResult], ["worker", workerResult], ["worker", secondWorker]]) {
    if (result !== undefined) metrics.upstream(name, upstreamOutcome(name, result), result.seconds);
  }
  lastAnswers = [tmuxResult, workerResult, secondWorker];
  return lastAnswers;
}

let lastAnswers = null; // the last status's upstream answers, for change pushes between ticks

// One status document (null: the status_500_on_upstream_error break wants a 500). fresh: call the upstreams,
// else reuse their last answers; a push counts apiSessions as a status answer would (in flight plus one).
async function assembleDocument(fresh = true, pushing = false) {
  const [tmuxResult, workerResult, secondWorker] = !fresh && lastAnswers ? lastAnswers : await upstreamAnswers();
  if (broken("status_500_on_upstream_error") && !workerResult.answered) return null;
  let [activeWorkers, telemetryStatus] = workerFields(workerResult);
  if (secondWorker !== undefined) telemetryStatus = workerFields(secondWorker)[1];
  lastFields = { tmux: tmuxCount(tmuxResult), activeWorkers, telemetry: telemetryStatus };

  const now = Date.now();
  const uptime = process.uptime();
  let { avgLatency, rps, errorRate } = windowFigures(now);
  if (broken("latency_seconds")) avgLatency /= 1000;
  if (broken("zero_metrics")) avgLatency = rps = errorRate = 0;
  const routes = ROUTES.length;
  const body = {
    timestamp: new Date(now).toISOString(),
    vector: {
      sessions: { tmux: tmuxCount(tmuxResult), activeWorkers, apiSessions: inFlight + (pushing ? 1 : 0),
        websocketConnections: live.count() },
      directions: {
        primaryRegion: settings.region,
        trafficMode: trafficMode(errorRate),
        requestFlow: { totalRoutes: routes, activeRoutes: routes, avgLatency, requestsPerSecond: rps },
        activeRoutes: routes,
      },
      others: { memory: process.memoryUsage().rss, cpu: cpuField(), errorRate, uptime },
    },
    meta: { totalEndpoints: PATHS.length, telemetryStatus, statusVersion: "2.0" },
  };
  if (broken("extra_field")) body.meta.buildId = "broken-node";
  return body;
}

async function assembleStatus() {
  const doc = await assembleDocument();
  if (doc !== null) live.observed(doc);
  return doc === null ? null : JSON.stringify(doc);
}

function record(status, seconds, method = "GET", route = LIVE_PATH) {
  completed.push({ at: Date.now(), latencyMs: seconds * 1000, status });
  metrics.request(method, route, status, seconds);
  live.requestDone();
}

const live = new Live({
  intervalMs: settings.pushIntervalMs, breaks: settings.breaks, render: (fresh) => assembleDocument(fresh, true),
  trafficMode: () => trafficMode(broken("zero_metrics") ? 0 : windowFigures(Date.now()).errorRate), record,
});

function send(res, status, body, headers = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", ...headers,
    "Content-Length": Buffer.byteLength(text) });
  res.end(res.req.method === "HEAD" ? undefined : text);
}

async function status(req, res) {
  let text;
  if (broken("cached_response") && cached && Date.now() < cached.until) {
    text = cached.text;
  } else {
    text = await assembleStatus();
    if (text === null) {
      send(res, 500, { error: "worker API unavailable" });
      return;
    }
    if (broken("cached_response")) cached = { until: Date.now() + 10_000, text };
  }
  const headers = {};
  if (!broken("no_cache_header")) headers["Cache-Control"] = "no-cache";
  if (!broken("no_version_header")) headers["X-TES-Status-Version"] = broken("wrong_version_header") ? "2.1" : "2.0";
  send(res, 200, text, headers);
}

async function workers(req, res) {
  const result = await callUpstream(`${settings.workerBase}/workers/status`);
  const b = result.body;
  if (!result.answered || !ok(result.status) || !isObject(b) || !Array.isArray(b.workers)) {
    send(res, 503, { error: "the worker API cannot be reached", resolution: `check ${settings.workerBase}` });
    return;
  }
  const list = { workers: b.workers };
  if (Number.isInteger(b.connected) && b.connected >= 0) list.connected = b.connected;
  send(res, 200, list, { "Cache-Control": "no-cache" });
}

async function scrape(req, res) {
  const { avgLatency, rps, errorRate } = windowFigures(Date.now());
  const figures = { ...lastFields, trafficMode: trafficMode(errorRate), errorRate, avgLatencyMs: avgLatency, rps,
    inFlight, region: settings.region };
  const openmetrics = (req.headers.accept || "").includes("application/openmetrics-text");
  const text = metrics.render(figures, openmetrics);
  res.writeHead(200, { "Content-Type": openmetrics ? OPENMETRICS_TYPE : TEXT_TYPE,
    "Content-Length": Buffer.byteLength(text) });
  res.end(req.method === "HEAD" ? undefined : text);
}

const HANDLERS = { [STATUS_PATH]: status, [WORKERS_PATH]: workers, [METRICS_PATH]: scrape,
  [LIVE_PATH]: (req, res) => live.plain(req, res, send) };

async function dispatch(req, res) {
  const path = new URL(req.url, "http://placeholder").pathname; // query strings are ignored
  const handler = HANDLERS[path];
  if (!handler) {
    send(res, 404, { error: `no route for ${path}` });
    return;
  }
  const methods = ROUTES.filter(([, p]) => p === path).map(([m]) => m);
  if (!methods.includes(req.method)) {
    if (broken("no_405")) send(res, 404, { error: `no route for ${req.method} ${path}` });
    else send(res, 405, { error: `method ${req.method} not allowed on ${path}`, resolution: "use GET" },
      { Allow: methods.join(", ") });
    return;
  }
  await handler(req, res);
}

const server = http.createServer((req, res) => {
  const started = performance.now();
  inFlight += 1;
  let counted = true;
  res.on("close", () => {
    if (counted) inFlight -= 1;
    counted = false;
  });
  res.on("finish", () => {
    const path = new URL(req.url, "http://placeholder").pathname;
    record(res.statusCode, (performance.now() - started) / 1000, req.method, metrics.route(path, path in HANDLERS));
  });
  const devPath = new URL(req.url, "http://placeholder").pathname;
  if (dev.refusal(req, res)) return; // DEV-HOST: every route, first
  if (dev.handles(devPath)) {
    dev.dispatch(req, res, devPath).catch((err) => {
      process.stderr.write(`status-server.mjs: ${err && err.stack ? err.stack : err}\n`);
      if (!res.headersSent) send(res, 500, { error: "dev request failed", resolution: "see the server log" });
      else res.destroy();
    });
    return;
  }
  req.resume(); // bodies are ignored
  dispatch(req, res).catch((err) => {
    process.stderr.write(`status-server.mjs: ${err && err.stack ? err.stack : err}\n`);
    if (!res.headersSent) send(res, 500, { error: "status assembly failed", resolution: "see the server log" });
    else res.destroy();
  });
});

server.on("upgrade", (req, socket, head) => {
  if (!dev.originOk(req.headers.origin)) { // DEV-ORIGIN covers the WebSocket upgrade
    socket.on("error", () => {});
    const text = JSON.stringify({ error: "origin not allowed", resolution: "see TES_ALLOWED_ORIGINS" });
    socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${text.length}\r\n`
      + `Connection: close\r\n\r\n${text}`);
    record(403, 0);
    return;
  }
  live.upgrade(req, socket, head);
});
server.on("error", (err) => fail(`cannot listen on ${settings.host}:${settings.port}: ${err.message}`));
server.listen(settings.port, settings.host, () => {
  const { port } = server.address();
  dev.port = port;
  const base = `http://${settings.host.includes(":") ? `[${settings.host}]` : settings.host}:${port}`;
  if (settings.tmuxUrl === null) settings.tmuxUrl = `${base}/api/dev/tmux/status`;
  process.stdout.write(`listening ${base}\n`);
  process.stderr.write(JSON.stringify({ event: "listening", url: base, breaks: [...settings.breaks] }) + "\n");
  live.start();
});

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => live.closeAll().then(() => process.exit(0)));
