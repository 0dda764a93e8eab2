/* Generated from schemas/tmux-status.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * Body of the tmux-status upstream, GET {TES_TMUX_STATUS_URL} (UPSTREAM-TMUX-SHAPE). The status endpoint reads only `online` and the length of `sessions` (UPSTREAM-TMUX-VALID); the other fields are informative.
 */
export interface TmuxStatus {
  /**
   * UPSTREAM-TMUX-VALID: whether tmux answered; when false, tmux counts 0.
   */
  online: boolean;
  /**
   * UPSTREAM-TMUX-VALID: the sessions; tmux = len(sessions) when online is true.
   */
  sessions: Session[];
  /**
   * Why tmux could not be read (present when online is false).
   */
  error?: string;
}
/**
 * This interface was referenced by `TmuxStatus`'s JSON-Schema
 * via the `definition` "Session".
 */
export interface Session {
  name: string;
  windows: number;
  attached: boolean;
  created: string;
  panes: Pane[];
}
/**
 * This interface was referenced by `TmuxStatus`'s JSON-Schema
 * via the `definition` "Pane".
 */
export interface Pane {
  index: number;
  title: string;
  command: string;
}
