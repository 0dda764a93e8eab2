/* Generated from schemas/mock-scenario.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * This interface was referenced by `MockScenarioRequest`'s JSON-Schema
 * via the `definition` "Duration".
 */
export type Duration = number | string;
/**
 * This interface was referenced by `MockScenarioRequest`'s JSON-Schema
 * via the `definition` "Sub".
 */
export type Sub = string | MockScenarioRequest;

/**
 * Body of PUT /upstreams/{name}/scenario of the mock control API: the scenario name and its parameters. Which parameters a scenario accepts is in docs/mocks.md; the mock answers 400 naming an unknown upstream, scenario or parameter. Delays are milliseconds (number, or "800ms", "1.5s") or a fraction of the client timeout ("0.8x").
 */
export interface MockScenarioRequest {
  scenario:
    | "healthy"
    | "zero"
    | "http_error"
    | "client_error"
    | "down"
    | "hang"
    | "slow"
    | "slow_body"
    | "malformed_json"
    | "wrong_content_type"
    | "invalid_shape"
    | "truncated"
    | "reset"
    | "empty"
    | "flapping"
    | "chaos"
    | "fixed";
  /**
   * tmux body: number of sessions.
   */
  sessions?: number;
  /**
   * tmux body: panes per session.
   */
  panes?: number;
  /**
   * tmux body: the online flag.
   */
  online?: boolean;
  /**
   * worker body: number of worker records.
   */
  workers?: number;
  /**
   * worker body: the connected count.
   */
  connected?: number;
  /**
   * worker body scenarios: how GET /workers/{id}/snapshot answers (a mode name, or the object).
   */
  snapshot?:
    | ("healthy" | "slow_body" | "hang" | "not_found" | "bad_request" | "reset")
    | {
        mode?: "healthy" | "slow_body" | "hang" | "not_found" | "bad_request" | "reset";
        /**
         * bytes of a deterministic body made as it is sent
         */
        size?: number;
        duration?: Duration;
        chunks?: number;
      };
  /**
   * http_error (400-599), client_error (400-499) and fixed (100-599): the status code.
   */
  status?: number;
  delay?: Duration;
  /**
   * slow, and fixed (the answer waits this long, as `mock record` saw it): milliseconds.
   */
  delay_ms?: number;
  duration?: Duration;
  duration_ms?: number;
  /**
   * slow_body: pieces the body is sent in.
   */
  chunks?: number;
  content_type?: string;
  /**
   * invalid_shape: which broken body.
   */
  variant?:
    | "online_missing"
    | "online_string"
    | "sessions_object"
    | "sessions_missing"
    | "not_object"
    | "connected_true"
    | "connected_negative"
    | "connected_string"
    | "connected_float"
    | "connected_missing"
    | "null";
  a?: Sub;
  b?: Sub;
  /**
   * flapping: requests before switching.
   */
  every?: number;
  /**
   * chaos: {scenario: weight} or a list of scenario requests each with a weight.
   */
  weights?:
    | {
        [k: string]: number;
      }
    | [
        MockScenarioRequest & {
          weight?: number;
          [k: string]: unknown;
        },
        ...(MockScenarioRequest & {
          weight?: number;
          [k: string]: unknown;
        })[]
      ];
  /**
   * chaos: the seed; decision n depends only on (seed, n).
   */
  seed?: number;
  /**
   * fixed: the JSON body served.
   */
  body?: {
    [k: string]: unknown;
  };
  /**
   * fixed: the exact text served (UTF-8).
   */
  raw?: string;
  /**
   * fixed: the exact bytes served, base64-encoded (for bodies that are not UTF-8).
   */
  raw_base64?: string;
  /**
   * fixed: extra headers.
   */
  headers?: {
    [k: string]: string;
  };
  [k: string]: unknown;
}
