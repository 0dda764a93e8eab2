// What the control panels share: the lock (no dev token: controls disabled, with the reason) and one
// place per panel that shows the server's real answer to the last action.

import { describe, lockReason } from "./api.js";
import { el } from "./dom.js";

/** Disable every `[data-needs-token]` inside `root` while there is no token; `notice` says why. */
export function applyLock(root, notice) {
  const reason = lockReason();
  for (const control of root.querySelectorAll("[data-needs-token]")) control.disabled = Boolean(reason);
  notice.textContent = reason;
  notice.hidden = !reason;
  root.classList.toggle("is-locked", Boolean(reason));
}

/** Keep `root`'s controls locked or unlocked as the token comes and goes. */
export function watchLock(root, notice) {
  const apply = () => applyLock(root, notice);
  document.addEventListener("tes-token", apply);
  apply();
  return () => document.removeEventListener("tes-token", apply);
}

export function lockNotice() {
  return el("p", { class: "lock-notice", role: "note", hidden: true });
}

/** The answer area of a panel: `show(verb, result, successText)` says what the server really answered. */
export function outcome() {
  const node = el("p", { class: "outcome", role: "status", "aria-live": "polite" });
  node.show = (verb, result, success) => {
    node.dataset.status = String(result.status);
    node.className = `outcome ${result.ok ? "ok" : "failed"}`;
    node.textContent = result.ok ? `${verb}: ${success}` : `${verb} failed: ${describe(result)}`;
  };
  return node;
}
