// <tmux-control-panel>: the real tmux's sessions with windows and panes; start, stop, attach, capture.
// Each action shows the server's answer (201, 204, 409, 404, 401, errors), never an assumed success.

import { call, describe } from "./api.js";
import { afterFirstStatus, el } from "./dom.js";
import { lockNotice, outcome, watchLock } from "./controls.js";

export const TMUX_STATUS_PATH = "/api/dev/tmux/status";
export const SESSIONS_PATH = "/api/dev/tmux/sessions";
export const NAME_PATTERN = "^[A-Za-z0-9_.\\-]{1,64}$";
const REFRESH_MS = 5000;

/** Why a session name is refused, or "" (the server checks again: DEV-TMUX-CONTROL). */
export function nameProblem(name) {
  if (!name) return "a name is required";
  if (name.length > 64) return "at most 64 characters";
  return new RegExp(NAME_PATTERN).test(name) ? "" : "only letters, digits, '_', '.' and '-'";
}

class TmuxControlPanel extends HTMLElement {
  connectedCallback() {
    this.notice = lockNotice();
    this.answer = outcome();
    this.name = el("input", { id: "tmux-name", name: "name", required: true, maxlength: 64, pattern: NAME_PATTERN,
      autocomplete: "off", "aria-describedby": "tmux-name-help", "data-needs-token": true });
    this.command = el("input", { id: "tmux-command", name: "command", autocomplete: "off",
      placeholder: "e.g. python -m http.server", "data-needs-token": true });
    this.help = el("small", { id: "tmux-name-help" }, "letters, digits, _ . - (1-64)");
    const form = el("form", { class: "start", novalidate: true },
      el("label", { for: "tmux-name" }, "Session name"), this.name, this.help,
      el("label", { for: "tmux-command" }, "Command (optional, words separated by spaces)"), this.command,
      el("button", { type: "submit", "data-needs-token": true }, "Start session"));
    form.addEventListener("submit", (e) => { e.preventDefault(); this.start(); });
    this.list = el("div", { class: "sessions" });
    this.capture = el("pre", { class: "capture", tabindex: "0", hidden: true, "aria-label": "pane capture" });
    this.attach = el("div", { class: "attach", hidden: true });
    this.replaceChildren(el("header", { class: "panel-head" }, el("h2", {}, "tmux sessions")), this.notice,
      form, this.answer, this.attach, this.list, this.capture);
    this.unwatch = watchLock(this, this.notice);
    afterFirstStatus(() => this.refresh());
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  disconnectedCallback() {
    clearInterval(this.timer);
    this.unwatch();
  }

  async refresh() {
    const result = await call(TMUX_STATUS_PATH);
    if (!result.ok || !result.body || !Array.isArray(result.body.sessions)) {
      this.list.replaceChildren(el("p", { class: "problem" }, `tmux status unavailable: ${describe(result)}`));
      return;
    }
    if (result.body.online === false) {
      this.list.replaceChildren(el("p", { class: "muted" }, "tmux is not running (no server on its socket)."));
      return;
    }
    const rows = result.body.sessions.map((session) => this.sessionRow(session));
    this.list.replaceChildren(...(rows.length ? rows : [el("p", { class: "muted" }, "No sessions.")]));
    this.dispatchEvent(new CustomEvent("tmux-listed"));
  }

  sessionRow(session) {
    const name = String(session.name);
    const stop = el("button", { type: "button", "data-needs-token": true, "data-action": "stop" }, "Stop");
    stop.addEventListener("click", () => this.stop(name));
    const attach = el("button", { type: "button", "data-action": "attach" }, "Attach");
    attach.addEventListener("click", () => this.showAttach(name));
    const panes = (Array.isArray(session.panes) ? session.panes : []).map((pane) => {
      const capture = el("button", { type: "button", "data-needs-token": true, "data-action": "capture" }, "Capture");
      capture.addEventListener("click", () => this.capturePane(name, pane.index));
      return el("li", {}, `pane ${pane.index}: ${pane.command ?? ""}`, pane.title ? ` (${pane.title})` : "", " ", capture);
    });
    const details = `${session.windows} window${session.windows === 1 ? "" : "s"}, ${session.attached ? "attached" : "detached"}`;
    const row = el("article", { class: "session", "data-session": name },
      el("h3", {}, name), el("p", { class: "muted" }, details, session.created ? `, created ${session.created}` : ""),
      el("ul", { class: "panes" }, panes), el("div", { class: "actions" }, attach, stop));
    if (this.notice.hidden === false) for (const b of row.querySelectorAll("[data-needs-token]")) b.disabled = true;
    return row;
  }

  async start() {
    const name = this.name.value.trim();
    const problem = nameProblem(name);
    this.name.setAttribute("aria-invalid", String(Boolean(problem)));
    if (problem) {
      this.answer.className = "outcome failed";
      this.answer.dataset.status = "invalid";
      this.answer.textContent = `Not sent: session name ${problem}.`;
      this.name.focus();
      return;
    }
    const words = this.command.value.trim().split(/\s+/).filter(Boolean);
    const body = words.length ? { name, command: words } : { name };
    const result = await call(SESSIONS_PATH, { method: "POST", body, auth: true });
    this.answer.show(`Start ${name}`, result, `started (${result.status})`);
    await this.refresh();
  }

  async stop(name) {
    const result = await call(`${SESSIONS_PATH}/${encodeURIComponent(name)}`, { method: "DELETE", auth: true });
    this.answer.show(`Stop ${name}`, result, `stopped (${result.status})`);
    await this.refresh();
  }

  async capturePane(name, index) {
    const path = `${SESSIONS_PATH}/${encodeURIComponent(name)}/panes/${encodeURIComponent(index)}/capture?lines=200`;
    const result = await call(path, { auth: true });
    this.answer.show(`Capture ${name} pane ${index}`, result, `${result.status}, shown below`);
    this.capture.hidden = !result.ok;
    this.capture.textContent = result.ok && result.body && typeof result.body.text === "string" ? result.body.text : "";
  }

  showAttach(name) {
    const quoted = /^[A-Za-z0-9_.-]+$/.test(name) ? name : `'${name.replaceAll("'", "'\\''")}'`;
    const command = `tmux attach -t ${quoted}`;
    const copy = el("button", { type: "button" }, "Copy");
    const said = el("span", { role: "status" });
    copy.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(command); said.textContent = "copied"; } catch {
        said.textContent = "copy refused by the browser: select the command";
      }
    });
    this.attach.replaceChildren(el("code", {}, command), " ", copy, " ", said);
    this.attach.hidden = false;
  }
}

customElements.define("tmux-control-panel", TmuxControlPanel);
