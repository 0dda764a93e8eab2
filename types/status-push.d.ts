/* Generated from schemas/status-push.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * LIVE-DATA: a text frame pushed on /api/dev/status/ws: a status message on connect, every push interval and within 100 ms of a trafficMode or telemetryStatus change; an event message where the history profile is implemented (EVENTS-PUSH). Clients ignore types they do not know.
 */
export type StatusPush = {
  /**
   * LIVE-DATA: the message type: status, or event where the history profile is implemented.
   */
  type: "status" | "event";
  /**
   * LIVE-DATA: EnhancedStatusData for a status message, the Event for an event message.
   */
  data: {
    [k: string]: unknown;
  };
};
