/* Generated from schemas/events.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * EVENTS-QUERY: the answer of GET /api/dev/events: events with ids increasing.
 */
export interface Events {
  events: Event[];
}
/**
 * EVENTS-CHAIN: one observed change of trafficMode or telemetryStatus (also a line of TES_EVENT_LOG and the data of a pushed event message).
 *
 * This interface was referenced by `Events`'s JSON-Schema
 * via the `definition` "event".
 */
export interface Event {
  id: number;
  timestamp: string;
  kind: "trafficMode" | "telemetryStatus";
  from: "normal" | "degraded" | "isolated" | "healthy" | "offline";
  to: "normal" | "degraded" | "isolated" | "healthy" | "offline";
}
