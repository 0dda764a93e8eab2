/* Generated from schemas/mock-journal-entry.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * One request a mock upstream received, as GET /upstreams/{name}/journal of the mock control API lists it. Times are epoch seconds (time.time()). `client_gave_up_at` is set when the client closed the connection before the answer completed; `completed_at` when the mock finished sending its answer (for `truncated`, the partial one).
 */
export interface MockJournalEntry {
  /**
   * 1, 2, ... per upstream; continues across DELETE of the journal, restarts at POST /reset.
   */
  seq: number;
  upstream: "tmux" | "worker" | "webhook";
  method: string;
  /**
   * Path and query string.
   */
  path: string;
  headers: {
    [k: string]: string;
  };
  /**
   * Name of the scenario set on the upstream (e.g. chaos).
   */
  scenario: string;
  /**
   * What this request got: the scenario applied with its parameters; for flapping and chaos also `request` (index since the scenario was set), for chaos `seed` and `draw` (the random number in [0, 1)); `phase` when a timeline runs.
   */
  decision: {
    scenario: string;
    request?: number;
    seed?: number;
    draw?: number;
    phase?: number;
    [k: string]: unknown;
  };
  arrived_at: number;
  completed_at: number | null;
  client_gave_up_at: number | null;
  /**
   * Status code sent, null when none was.
   */
  status: number | null;
  /**
   * The webhook mock only: the delivery's body as UTF-8 text (its first 64 KiB).
   */
  body?: string;
}
