/* Generated from schemas/worker-list.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * DEV-WORKERS: body of GET /api/dev/workers, the workers the worker API reports.
 */
export interface WorkerList {
  connected?: number;
  workers: Worker[];
}
export interface Worker {
  id: string;
  status: "idle" | "working" | "error" | "terminated";
  lastSeen: string;
  queueDepth: number;
  messagesProcessed: number;
}
