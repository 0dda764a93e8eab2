/* Generated from schemas/alert.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * ALERT-SHAPE: the body POSTed to TES_ALERT_WEBHOOK_URL, one per event (ALERT-FIRE); the Idempotency-Key header is the same on every retry.
 */
export interface Alert {
  status: "firing" | "resolved";
  kind: "trafficMode" | "telemetryStatus";
  value: "normal" | "degraded" | "isolated" | "healthy" | "offline";
  previous: "normal" | "degraded" | "isolated" | "healthy" | "offline";
  /**
   * ALERT-FIRE: the id of the event that raised the alert.
   */
  event: number;
  /**
   * ALERT-FIRE: when the bad spell began.
   */
  startsAt: string;
  /**
   * ALERT-FIRE: when the bad spell ended (resolved alerts).
   */
  endsAt?: string;
}
