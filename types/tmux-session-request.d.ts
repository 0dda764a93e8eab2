/* Generated from schemas/tmux-session-request.json by scripts/gen-types.mjs (json-schema-to-typescript); do not edit. */

/**
 * DEV-TMUX-CONTROL: body of POST /api/dev/tmux/sessions. `command` is an argv list, never run through a shell; without it the session runs tmux's default shell.
 */
export interface TmuxSessionRequest {
  /**
   * DEV-TMUX-CONTROL: the session name (tmux turns '.' and ':' into '_', so neither is allowed).
   */
  name: string;
  /**
   * DEV-TMUX-CONTROL: the program and its arguments, exec'd as given.
   *
   * @minItems 1
   * @maxItems 64
   */
  command?: [string, ...string[]];
}
