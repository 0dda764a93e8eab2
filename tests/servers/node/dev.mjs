// The dev profile of the independent Node.js server: tmux control through `tmux -L TES_TMUX_SOCKET`
// (execFile, argv only), the streamed snapshot proxy and the Host/Origin/token guard. Node built-ins only.
// Hooked into status-server.mjs: `dev.refusal(req)` first on every request, `dev.handles(path)` and
// `dev.dispatch(req, res)` for its routes. Break modes: DEV_BREAKS (tests/servers/README.md, "Dev breaks").
import { execFile, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export const DEV_BREAKS = [
  "dev_start_unchecked", "dev_stop_nothing", "dev_fixed_token", "dev_token_prefix", "dev_no_origin_check",
  "dev_origin_startswith", "dev_no_host_check", "dev_snapshot_cut_500ms", "dev_snapshot_buffered",
  "dev_no_rate_limit", "dev_no_retry_after", "dev_shell_command",
];
const TMUX_PATH = "/api/dev/tmux/status";
const SESSIONS = "/api/dev/tmux/sessions";
export const DEV_ROUTES = [
  ["GET", TMUX_PATH], ["HEAD", TMUX_PATH], ["POST", SESSIONS], ["DELETE", `${SESSIONS}/{name}`],
  ["GET", `${SESSIONS}/{name}/panes/{index}/capture`], ["GET", "/api/dev/workers/{id}/snapshot"],
];
const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const WORKER_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const CAPTURE = /^\/api\/dev\/tmux\/sessions\/([^/]+)\/panes\/([^/]+)\/capture$/;
const SNAPSHOT = /^\/api\/dev\/workers\/([^/]+)\/snapshot$/;
const KILL = /^\/api\/dev\/tmux\/sessions\/([^/]+)$/;
const MAX_BODY = 64 * 1024;

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", ...headers, "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}
const error = (res, status, message, headers = {}) => send(res, status, { error: message, resolution: "see openapi.yaml" }, headers);

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY + 1) chunks.push(chunk);
    });
    req.on("end", () => resolve(size > MAX_BODY ? null : Buffer.concat(chunks)));
    req.on("error", () => resolve(null));
  });
}

export class DevPart {
  constructor(env, breaks, timeoutMs) {
    this.broken = (name) => breaks.has(name);
    this.socket = env.TES_TMUX_SOCKET || null;
    this.workerBase = (env.TES_WORKER_API_URL || "http://127.0.0.1:3003").replace(/\/+$/, "");
    this.timeoutMs = timeoutMs || 5000;
    this.port = 0;
    this.hosts = env.TES_ALLOWED_HOSTS ? new Set(env.TES_ALLOWED_HOSTS.split(",").map((h) => h.trim().toLowerCase().replace(/:\d+$/, ""))) : null;
    this.origins = env.TES_ALLOWED_ORIGINS ? new Set(env.TES_ALLOWED_ORIGINS.split(",").map((o) => o.trim().toLowerCase())) : null;
    this.token = env.TES_DEV_TOKEN || this.generate(env.TES_STATE_DIR || ".tes");
    this.slots = new Map();
  }

  generate(stateDir) {
    const token = this.broken("dev_fixed_token") ? "tes-dev-token" : crypto.randomBytes(32).toString("base64url");
    fs.mkdirSync(stateDir, { recursive: true });
    const file = path.join(stateDir, "dev-token");
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    return token;
  }

  // --- the guard -----------------------------------------------------------------------------------
  refusal(req, res) {
    if (this.broken("dev_no_host_check")) return false;
    const host = (req.headers.host || "").toLowerCase();
    const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d*$/, "");
    const allowed = this.hosts || new Set(["localhost", "127.0.0.1", "[::1]"]);
    if (allowed.has(name)) return false;
    req.resume();
    error(res, 403, "host not allowed");
    return true;
  }

  originOk(origin) {
    if (origin === undefined || this.broken("dev_no_origin_check")) return true;
    const allowed = this.origins || new Set(["localhost", "127.0.0.1", "[::1]"].map((h) => `http://${h}:${this.port}`));
    if (this.broken("dev_origin_startswith")) return [...allowed].some((a) => origin.toLowerCase().startsWith(a));
    return allowed.has(origin.trim().toLowerCase());
  }

  tokenOk(authorization) {
    const [scheme, ...rest] = (authorization || "").trim().split(" ");
    const given = rest.join(" ").trim();
    if (scheme.toLowerCase() !== "bearer" || !given) return false;
    if (this.broken("dev_token_prefix")) return this.token.startsWith(given);
    const a = Buffer.from(given), b = Buffer.from(this.token);
    return a.length === b.length && crypto.timingSafeEqual(a, b);
  }

  handles(p) {
    return p === TMUX_PATH || p === SESSIONS || p.startsWith(`${SESSIONS}/`) || SNAPSHOT.test(p);
  }

  route(p) {
    if (p === SESSIONS) return ["POST", this.create];
    if (CAPTURE.test(p)) return ["GET", this.capture];
    if (SNAPSHOT.test(p)) return ["GET", this.snapshot];
    if (KILL.test(p)) return ["DELETE", this.kill];
    return [null, null];
  }

  async dispatch(req, res, p) {
    if (p === TMUX_PATH) {
      req.resume();
      if (req.method !== "GET" && req.method !== "HEAD") return error(res, 405, "use GET", { Allow: "GET, HEAD" });
      return send(res, 200, await this.listing());
    }
    const [allow, handler] = this.route(p);
    if (!allow) return req.resume(), error(res, 404, `no route for ${p}`);
    if (req.method !== allow) return req.resume(), error(res, 405, `use ${allow}`, { Allow: allow });
    if (!this.originOk(req.headers.origin)) return req.resume(), error(res, 403, "origin not allowed");
    if (!this.tokenOk(req.headers.authorization)) {
      req.resume();
      return error(res, 401, "missing or wrong token", { "WWW-Authenticate": "Bearer" });
    }
    const body = await readBody(req);
    if (body === null) return error(res, 413, "body too large");
    return handler.call(this, req, res, p, body);
  }

  // --- tmux ----------------------------------------------------------------------------------------
  tmux(...args) {
    const argv = [...(this.socket ? ["-L", this.socket] : []), ...args];
    return new Promise((resolve) => {
      execFile("tmux", argv, { timeout: 3000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, out: stdout, err: String(stderr).trim() });
      });
    });
  }

  async listing() {
    const s = await this.tmux("list-sessions", "-F", "#{session_name}\t#{session_windows}\t#{session_attached}\t#{session_created}");
    if (s.code !== 0) return { online: false, sessions: [], error: s.err || "tmux failed" };
    const p = await this.tmux("list-panes", "-a", "-F", "#{session_name}\t#{pane_index}\t#{pane_current_command}\t#{pane_title}");
    const panes = {};
    for (const line of p.out.split("\n")) {
      const f = line.split("\t");
      if (f.length === 4 && /^\d+$/.test(f[1])) (panes[f[0]] ||= []).push({ index: Number(f[1]), command: f[2], title: f[3] });
    }
    const sessions = [];
    for (const line of s.out.split("\n")) {
      const f = line.split("\t");
      if (f.length !== 4 || !f.slice(1).every((x) => /^\d+$/.test(x))) continue;
      const created = new Date(Number(f[3]) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
      sessions.push({ name: f[0], windows: Number(f[1]), attached: Number(f[2]) > 0, created, panes: panes[f[0]] || [] });
    }
    return { online: true, sessions };
  }

  async create(req, res, p, body) {
    let doc;
    try { doc = JSON.parse(body.toString("utf8")); } catch { return error(res, 400, "body is not JSON"); }
    if (doc === null || typeof doc !== "object" || Array.isArray(doc) || Object.keys(doc).some((k) => k !== "name" && k !== "command")) {
      return error(res, 400, "body must be an object with name and command only");
    }
    const { name, command } = doc;
    if (typeof name !== "string" || !NAME.test(name)) return error(res, 400, "name must match ^[A-Za-z0-9_-]{1,64}$");
    if (command !== undefined && (!Array.isArray(command) || !command.length || !command.every((a) => typeof a === "string") || command[0].includes("="))) {
      return error(res, 400, "command must be a non-empty array of strings");
    }
    const args = ["new-session", "-d", "-s", name, "-x", "200", "-y", "50"];
    let result;
    if (this.broken("dev_shell_command")) { // the whole line through sh -c: `;` and `$(...)` run
      const line = ["tmux", ...(this.socket ? ["-L", this.socket] : []), ...args, ...(command || [])].join(" ");
      result = await new Promise((resolve) => {
        const child = spawn("sh", ["-c", line], { stdio: "ignore" });
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        child.on("exit", (code) => { clearTimeout(timer); resolve({ code: code ?? 1, err: "" }); });
      });
    } else {
      if (command) args.push("--", "env", "--", ...command.map((a) => (a.endsWith(";") ? `${a.slice(0, -1)}\\;` : a)));
      result = await this.tmux(...args);
    }
    if (this.broken("dev_start_unchecked")) {
      await new Promise((r) => setTimeout(r, 200));
      return send(res, 201, { name, windows: 1, attached: false, created: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"), panes: [] });
    }
    if (result.code !== 0) return error(res, result.err.includes("duplicate session") ? 409 : 503, result.err || "tmux failed");
    const found = (await this.listing()).sessions.filter((s) => s.name === name);
    return found.length ? send(res, 201, found[0]) : error(res, 422, "the session ended at once");
  }

  async kill(req, res, p) {
    const name = KILL.exec(p)[1];
    if (!NAME.test(name)) return error(res, 400, "bad session name");
    const r = await this.tmux("kill-session", "-t", `=${name}`);
    if (r.code !== 0 && !this.broken("dev_stop_nothing")) return error(res, 404, r.err || "no such session");
    res.writeHead(204);
    res.end();
  }

  async capture(req, res, p) {
    const [, name, index] = CAPTURE.exec(p);
    const lines = new URL(req.url, "http://placeholder").searchParams.get("lines") ?? "200";
    if (!NAME.test(name) || !/^\d+$/.test(index) || !/^\d+$/.test(lines) || Number(lines) < 1 || Number(lines) > 5000) {
      return error(res, 400, "bad name, pane index or lines (1..5000)");
    }
    const r = await this.tmux("capture-pane", "-p", "-J", "-S", `-${lines}`, "-t", `=${name}:.${index}`);
    if (r.code !== 0) return error(res, 404, r.err || "no such pane");
    const rows = r.out.replace(/\n+$/, "").split("\n");
    while (rows.length && !rows[rows.length - 1].trim()) rows.pop();
    return send(res, 200, { text: rows.slice(-Number(lines)).join("\n") });
  }

  // --- snapshots -----------------------------------------------------------------------------------
  slot(worker) {
    const now = performance.now();
    const taken = this.slots.get(worker);
    if (taken !== undefined && now - taken < 10_000 && !this.broken("dev_no_rate_limit")) {
      return Math.max(1, Math.ceil((10_000 - (now - taken)) / 1000));
    }
    this.slots.set(worker, now);
    return null;
  }

  async snapshot(req, res, p) {
    const worker = decodeURIComponent(SNAPSHOT.exec(p)[1]);
    if (!WORKER_ID.test(worker) || worker === "." || worker === "..") return error(res, 400, "bad worker id");
    const retry = this.slot(worker);
    if (retry !== null) return error(res, 429, "one snapshot per worker per 10 s", this.broken("dev_no_retry_after") ? {} : { "Retry-After": String(retry) });
    const url = `${this.workerBase}/workers/${worker}/snapshot`;
    const disposition = `attachment; filename="worker-${worker}-snapshot.json"`;
    if (this.broken("dev_snapshot_buffered")) return this.buffered(res, url, disposition);
    const cut = this.broken("dev_snapshot_cut_500ms");
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), cut ? 500 : this.timeoutMs);
    try {
      const upstream = await fetch(url, { signal: controller.signal });
      if (upstream.status !== 200) {
        await upstream.body?.cancel();
        return error(res, [400, 404].includes(upstream.status) ? upstream.status : 502, `worker answered ${upstream.status}`);
      }
      const headers = { "Content-Type": "application/json", "Content-Disposition": disposition };
      const length = upstream.headers.get("content-length");
      if (length !== null && !cut) headers["Content-Length"] = length;
      res.writeHead(200, headers);
      try {
        for await (const chunk of upstream.body) {
          if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
        }
        res.end();
      } catch {
        if (cut) res.end(); // the original: the body stops at 500 ms and ends as if complete
        else res.destroy(); // headers are out: abort, never a short body that looks complete
      }
    } catch (err) {
      if (res.headersSent) res.destroy();
      else if (err.name === "AbortError" || err.name === "TimeoutError") error(res, 504, "worker snapshot too slow");
      else error(res, 503, "worker API unreachable");
    } finally {
      clearTimeout(timer);
    }
  }

  async buffered(res, url, disposition) {
    try { // the whole body first (bounded only by 3 timeouts), then sent: late and all in memory
      const upstream = await fetch(url, { signal: AbortSignal.timeout(3 * this.timeoutMs) });
      const raw = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(upstream.status, { "Content-Type": "application/json", "Content-Disposition": disposition, "Content-Length": raw.length });
      res.end(raw);
    } catch (err) {
      error(res, err.name === "TimeoutError" ? 504 : 503, "worker snapshot failed");
    }
  }
}
