/* Generated from schemas/tmux-validity.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * UPSTREAM-TMUX-VALID: what the status endpoint requires of a tmux-status body to count it: a JSON object with a boolean `online` and an array `sessions`; then tmux = len(sessions) when online is true, else 0. Anything else counts as a failed upstream (tmux 0).
 */
export interface TmuxStatusAsRead {
  online: boolean;
  sessions: unknown[];
  [k: string]: unknown;
}
