/* Generated from schemas/pane-capture.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * DEV-TMUX-CONTROL: answer of GET /api/dev/tmux/sessions/{name}/panes/{index}/capture: the pane's last N lines, joined by newlines.
 */
export interface PaneCapture {
  /**
   * DEV-TMUX-CONTROL: at most `lines` lines of the pane (history, then the visible screen; trailing blank rows dropped).
   */
  text: string;
}
