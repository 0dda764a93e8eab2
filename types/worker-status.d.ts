/* Generated from schemas/worker-status.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * Body of the worker-status upstream, GET {TES_WORKER_API_URL}/workers/status (UPSTREAM-WORKER-SHAPE). The status endpoint reads only `connected` (UPSTREAM-WORKER-VALID); the other fields are informative.
 */
export interface WorkerStatus {
  /**
   * UPSTREAM-WORKER-VALID: workers connected, an integer >= 0 (a JSON boolean is not an integer); the only field the status endpoint reads.
   */
  connected: number;
  workers: Worker[];
}
/**
 * This interface was referenced by `WorkerStatus`'s JSON-Schema
 * via the `definition` "Worker".
 */
export interface Worker {
  id: string;
  status: "idle" | "working" | "error" | "terminated";
  lastSeen: string;
  queueDepth: number;
  messagesProcessed: number;
}
