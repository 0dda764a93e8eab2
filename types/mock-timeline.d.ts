/* Generated from schemas/mock-timeline.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * The phases of one upstream, as a list, or an object with `phases` and `repeat`.
 *
 * This interface was referenced by `MockTimeline`'s JSON-Schema
 * via the `definition` "Track".
 */
export type Track =
  | Phases
  | {
      phases: Phases;
      /**
       * Start again at the first phase after the last.
       */
      repeat?: boolean;
    };
/**
 * @minItems 1
 *
 * This interface was referenced by `MockTimeline`'s JSON-Schema
 * via the `definition` "Phases".
 */
export type Phases = [Phase, ...Phase[]];
/**
 * This interface was referenced by `MockTimeline`'s JSON-Schema
 * via the `definition` "Phase".
 */
export type Phase =
  | string
  | {
      scenario: string;
      /**
       * The phase ends when this many requests arrived.
       */
      requests?: number;
      /**
       * The phase ends after this long.
       */
      seconds?: number;
      [k: string]: unknown;
    };

/**
 * A timeline of `tes-contract mock --timeline FILE` (YAML) or PUT /timeline of the mock control API (JSON): per upstream, phases that follow each other by request count or by time. The last phase lasts for ever unless `repeat` is true. Scenario names and parameters are those of PUT /upstreams/{name}/scenario (mock-scenario.json).
 */
export interface MockTimeline {
  description?: string;
  /**
   * Default seed of chaos phases.
   */
  seed?: number;
  /**
   * The timeout of the server under test, the base of "0.8x" delays.
   */
  client_timeout_ms?: number;
  upstreams: {
    tmux?: Track;
    worker?: Track;
    webhook?: Track;
  };
}
