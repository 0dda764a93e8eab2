/* Generated from schemas/worker-validity.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * UPSTREAM-WORKER-VALID: what the status endpoint requires of a worker-status body to count it: a JSON object whose `connected` is an integer >= 0 (a JSON boolean is not an integer). Anything else is an invalid body (telemetryStatus degraded).
 */
export interface WorkerStatusAsRead {
  connected: number;
  [k: string]: unknown;
}
