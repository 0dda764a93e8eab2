// A small Bun status server typed with the generated declarations (../*.d.ts), checked by `tsc --noEmit`.
//   bun run types/example/server.ts        (reads the TES_* variables of the contract)
// Bun's own typings are not needed for the check: the few Bun APIs used are declared below.
import type { EnhancedStatusData } from "../enhanced-status";
import type { ErrorBody } from "../error";
import type { TmuxStatus } from "../tmux-status";
import type { WorkerStatus } from "../worker-status";

declare const Bun: {
  env: Record<string, string | undefined>;
  serve(options: { hostname: string; port: number; fetch(request: Request): Promise<Response> }): { port: number };
};

const env = Bun.env;
const port = Number(env.TES_PORT ?? "3002");
const timeoutMs = Number(env.TES_UPSTREAM_TIMEOUT_MS || "5000");
const tmuxUrl = env.TES_TMUX_STATUS_URL || `http://127.0.0.1:${port}/api/dev/tmux/status`;
const workerUrl = `${env.TES_WORKER_API_URL || "http://127.0.0.1:3003"}/workers/status`;
const started = Date.now();

type Upstream<T> = { answered: false } | { answered: true; ok: boolean; body: T | undefined };

async function call<T>(url: string, valid: (body: unknown) => body is T): Promise<Upstream<T>> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body: unknown = JSON.parse(await response.text());
    return { answered: true, ok: response.ok, body: valid(body) ? body : undefined };
  } catch (error) {
    return error instanceof SyntaxError ? { answered: true, ok: false, body: undefined } : { answered: false };
  }
}

const isWorkerStatus = (body: unknown): body is WorkerStatus =>
  typeof body === "object" && body !== null && Number.isInteger((body as { connected?: unknown }).connected) &&
  ((body as { connected: number }).connected >= 0);
const isTmuxStatus = (body: unknown): body is TmuxStatus =>
  typeof body === "object" && body !== null && typeof (body as { online?: unknown }).online === "boolean" &&
  Array.isArray((body as { sessions?: unknown }).sessions);

async function status(): Promise<EnhancedStatusData> {
  const [tmux, worker] = await Promise.all([call(tmuxUrl, isTmuxStatus), call(workerUrl, isWorkerStatus)]);
  const connected = worker.answered && worker.ok && worker.body ? worker.body.connected : 0;
  const telemetry = !worker.answered ? "offline" : connected > 0 ? "healthy" : "degraded";
  const sessions = tmux.answered && tmux.ok && tmux.body?.online ? tmux.body.sessions.length : 0;
  return {
    timestamp: new Date().toISOString(),
    vector: {
      sessions: { tmux: sessions, activeWorkers: connected, apiSessions: 1, websocketConnections: 0 },
      directions: {
        primaryRegion: env.TES_PRIMARY_REGION || "us-east-1",
        trafficMode: "normal",
        requestFlow: { totalRoutes: 2, activeRoutes: 2, avgLatency: 0, requestsPerSecond: 0 },
        activeRoutes: 2,
      },
      others: { memory: 1, cpu: 0, errorRate: 0, uptime: (Date.now() - started) / 1000 },
    },
    meta: { totalEndpoints: 1, telemetryStatus: telemetry, statusVersion: "2.0" },
  };
}

const headers = { "Content-Type": "application/json", "Cache-Control": "no-cache", "X-TES-Status-Version": "2.0" };

Bun.serve({
  hostname: env.TES_HOST || "127.0.0.1",
  port,
  async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname !== "/api/dev/status") {
      const missing: ErrorBody = { error: "not found" };
      return new Response(JSON.stringify(missing), { status: 404, headers });
    }
    if (request.method !== "GET") {
      const refused: ErrorBody = { error: "method not allowed", resolution: "use GET" };
      return new Response(JSON.stringify(refused), { status: 405, headers: { ...headers, Allow: "GET" } });
    }
    return new Response(JSON.stringify(await status()), { headers });
  },
});
