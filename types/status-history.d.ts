/* Generated from schemas/status-history.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * HISTORY-QUERY: the answer of GET /api/dev/status/history: the sampling interval, the retention and the points in ascending timestamp (merged into buckets past limit).
 */
export interface StatusHistory {
  /**
   * HISTORY-SAMPLE: TES_HISTORY_INTERVAL_MS.
   */
  intervalMs: number;
  /**
   * HISTORY-RETENTION: TES_HISTORY_RETENTION_S.
   */
  retentionS: number;
  points: Point[];
}
/**
 * HISTORY-QUERY: one point (or one bucket's merge), figures as a status answer would show them.
 *
 * This interface was referenced by `StatusHistory`'s JSON-Schema
 * via the `definition` "point".
 */
export interface Point {
  timestamp: string;
  trafficMode: "normal" | "degraded" | "isolated";
  telemetryStatus: "healthy" | "degraded" | "offline";
  errorRate: number;
  avgLatency: number;
  requestsPerSecond: number;
  tmux: number;
  activeWorkers: number;
  apiSessions: number;
  websocketConnections: number;
  memory: number;
  cpu: number;
}
