/* Generated from schemas/enhanced-status.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * STATUS-FIELD-TIMESTAMP: RFC 3339 UTC instant with exactly three fractional digits and a literal Z, taken when the snapshot is assembled; no leap second (:60).
 *
 * This interface was referenced by `EnhancedStatusData`'s JSON-Schema
 * via the `definition` "Timestamp".
 */
export type Timestamp = string;

/**
 * STATUS-SCHEMA-1: body of GET /api/dev/status, contract v2.0 (docs/contract.md). Every object is closed, except that vector.sessions may carry an optional websocketSubscribers count.
 */
export interface EnhancedStatusData {
  timestamp: Timestamp;
  vector: Vector;
  meta: Meta;
}
/**
 * STATUS-SCHEMA-1: the vector: sessions, directions, others; a closed object.
 *
 * This interface was referenced by `EnhancedStatusData`'s JSON-Schema
 * via the `definition` "Vector".
 */
export interface Vector {
  sessions: Sessions;
  directions: Directions;
  others: Others;
}
/**
 * STATUS-SCHEMA-1: session counts; a closed object.
 *
 * This interface was referenced by `EnhancedStatusData`'s JSON-Schema
 * via the `definition` "Sessions".
 */
export interface Sessions {
  /**
   * STATUS-FIELD-TMUX: number of tmux sessions (not panes) from the tmux-status upstream; 0 when it fails.
   */
  tmux: number;
  /**
   * STATUS-FIELD-WORKERS: `connected` from the worker-status upstream; 0 when it fails.
   */
  activeWorkers: number;
  /**
   * STATUS-FIELD-APISESSIONS: HTTP requests in flight, counting the one being answered.
   */
  apiSessions: number;
  /**
   * STATUS-FIELD-WS: open WebSocket connections to the server.
   */
  websocketConnections: number;
  /**
   * Optional: WebSocket connections subscribed to status pushes.
   */
  websocketSubscribers?: number;
}
/**
 * STATUS-SCHEMA-1: traffic directions; a closed object.
 *
 * This interface was referenced by `EnhancedStatusData`'s JSON-Schema
 * via the `definition` "Directions".
 */
export interface Directions {
  /**
   * STATUS-FIELD-REGION: TES_PRIMARY_REGION when set and non-empty, else us-east-1.
   */
  primaryRegion: string;
  /**
   * STATUS-FIELD-TRAFFICMODE: normal if errorRate < 0.10; degraded if 0.10 <= errorRate <= 0.50; isolated if errorRate > 0.50.
   */
  trafficMode: "normal" | "degraded" | "isolated";
  requestFlow: RequestFlow;
  /**
   * STATUS-FIELD-ROUTES: routes currently served, equal to requestFlow.activeRoutes (STATUS-INV-ROUTES-EQUAL).
   */
  activeRoutes: number;
}
/**
 * STATUS-SCHEMA-1: request flow over the last 60 s; a closed object.
 *
 * This interface was referenced by `EnhancedStatusData`'s JSON-Schema
 * via the `definition` "RequestFlow".
 */
export interface RequestFlow {
  /**
   * STATUS-FIELD-ROUTES: number of (method, path) routes the server registers.
   */
  totalRoutes: number;
  /**
   * STATUS-FIELD-ROUTES: routes currently served; at most totalRoutes.
   */
  activeRoutes: number;
  /**
   * STATUS-FIELD-LATENCY: mean latency in milliseconds of HTTP requests completed in the last 60 s; 0 when none.
   */
  avgLatency: number;
  /**
   * STATUS-FIELD-RPS: requests completed in the last 60 s divided by min(60, uptime) seconds.
   */
  requestsPerSecond: number;
}
/**
 * STATUS-SCHEMA-1: process metrics; a closed object.
 *
 * This interface was referenced by `EnhancedStatusData`'s JSON-Schema
 * via the `definition` "Others".
 */
export interface Others {
  /**
   * STATUS-FIELD-MEMORY: bytes of memory the process uses.
   */
  memory: number;
  /**
   * STATUS-FIELD-CPU: cumulative CPU time (user + system) of the process in milliseconds; never decreases.
   */
  cpu: number;
  /**
   * STATUS-FIELD-ERRORRATE: responses with status >= 500 over all responses completed in the last 60 s; 0 when none.
   */
  errorRate: number;
  /**
   * STATUS-FIELD-UPTIME: seconds since the process started; never decreases.
   */
  uptime: number;
}
/**
 * STATUS-SCHEMA-1: meta data of the snapshot; a closed object.
 *
 * This interface was referenced by `EnhancedStatusData`'s JSON-Schema
 * via the `definition` "Meta".
 */
export interface Meta {
  /**
   * STATUS-FIELD-ENDPOINTS: endpoints the server exposes.
   */
  totalEndpoints: number;
  /**
   * STATUS-FIELD-TELEMETRY: healthy when the worker-status upstream answered 2xx with a valid body and connected > 0; degraded when it answered otherwise; offline when it did not answer.
   */
  telemetryStatus: "healthy" | "degraded" | "offline";
  /**
   * STATUS-FIELD-VERSION: always "2.0", equal to the X-TES-Status-Version header.
   */
  statusVersion: "2.0";
}
