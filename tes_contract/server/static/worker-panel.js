// <worker-snapshot-panel>: the worker API's workers (status, queue depth, last seen), a snapshot download
// per worker through the proxy, a 429 shown with a countdown from Retry-After, a worker API that is down.

import { call, describe } from "./api.js";
import { afterFirstStatus, ago, el, format } from "./dom.js";
import { lockNotice, outcome, watchLock } from "./controls.js";

export const WORKERS_PATH = "/api/dev/workers";
const REFRESH_MS = 5000;

/** The file name of a snapshot: Content-Disposition's, else the contract's `worker-{id}-snapshot.json`. */
export function snapshotName(disposition, id) {
  const match = /filename="([^"]+)"/.exec(disposition || "");
  const name = match ? match[1] : `worker-${id}-snapshot.json`;
  return name.replace(/[^A-Za-z0-9_.:-]/g, "_");
}

class WorkerSnapshotPanel extends HTMLElement {
  connectedCallback() {
    this.notice = lockNotice();
    this.answer = outcome();
    this.countdowns = new Map();
    this.body = el("tbody");
    this.state = el("p", { class: "muted" }, "Loading workers…");
    const head = el("thead", {}, el("tr", {}, ["worker", "status", "queue", "processed", "last seen", "snapshot"]
      .map((name) => el("th", { scope: "col" }, name))));
    this.replaceChildren(el("header", { class: "panel-head" }, el("h2", {}, "Workers")), this.notice, this.state,
      this.answer, this.table = el("div", { class: "table-wrap" }, el("table", {}, head, this.body)));
    this.unwatch = watchLock(this, this.notice);
    afterFirstStatus(() => this.refresh());
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  disconnectedCallback() {
    clearInterval(this.timer);
    for (const timer of this.countdowns.values()) clearInterval(timer);
    this.unwatch();
  }

  async refresh() {
    const result = await call(WORKERS_PATH);
    if (!result.ok || !result.body || !Array.isArray(result.body.workers)) {
      const down = result.status === 503 || result.status === 0;
      const link = el("a", { href: "#tmux" }, "tmux sessions");
      this.state.className = "problem";
      this.state.dataset.state = down ? "down" : "failed";
      this.state.replaceChildren(down ? "Worker API down: " : "Worker API answered badly: ", describe(result),
        ". Start it from the ", link, " panel.");
      this.body.replaceChildren();
      this.table.hidden = true;
      return;
    }
    const { connected, workers } = result.body;
    this.state.className = "muted";
    this.state.dataset.state = "up";
    this.state.textContent = `${format(connected, "count")} connected, ${workers.length} listed`;
    this.table.hidden = false;
    this.body.replaceChildren(...workers.map((worker) => this.row(worker)));
  }

  row(worker) {
    const id = String(worker.id);
    const seen = Date.parse(worker.lastSeen);
    const button = el("button", { type: "button", "data-needs-token": true, "data-worker": id }, "Download");
    button.addEventListener("click", () => this.download(id, button));
    if (this.notice.hidden === false || this.countdowns.has(id)) button.disabled = true;
    return el("tr", { "data-worker": id },
      el("td", {}, el("code", {}, id)),
      el("td", { class: `worker-${String(worker.status)}` }, String(worker.status ?? "—")),
      el("td", {}, format(worker.queueDepth, "count")),
      el("td", {}, format(worker.messagesProcessed, "count")),
      el("td", { title: String(worker.lastSeen ?? "") }, Number.isFinite(seen) ? ago(Date.now() - seen) : "—"),
      el("td", {}, button));
  }

  async download(id, button) {
    button.disabled = true;
    const result = await call(`${WORKERS_PATH}/${encodeURIComponent(id)}/snapshot`, { auth: true, raw: true,
      timeoutMs: 30000 });
    if (result.ok && result.body instanceof Blob) {
      const url = URL.createObjectURL(result.body);
      const link = el("a", { href: url, download: snapshotName(result.headers.get("Content-Disposition"), id) });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      this.answer.show(`Snapshot of ${id}`, result, `downloaded ${result.body.size} bytes`);
      button.disabled = false;
    } else if (result.status === 429) {
      this.countdown(id, button, Number.parseInt(result.headers.get("Retry-After") || "", 10));
    } else {
      this.answer.show(`Snapshot of ${id}`, result, "");
      button.disabled = Boolean(this.notice.hidden === false);
    }
  }

  countdown(id, button, seconds) {
    let left = Number.isFinite(seconds) && seconds > 0 ? seconds : 1;
    const tell = () => {
      this.answer.className = "outcome failed";
      this.answer.dataset.status = "429";
      this.answer.textContent = `Snapshot of ${id}: 429 rate limited, retry in ${left} s`;
    };
    tell();
    const timer = setInterval(() => {
      left -= 1;
      if (left > 0) { tell(); return; }
      clearInterval(timer);
      this.countdowns.delete(id);
      this.answer.textContent = `Snapshot of ${id}: you may download again`;
      for (const b of this.querySelectorAll("button[data-worker]")) if (b.dataset.worker === id) b.disabled = Boolean(this.notice.hidden === false);
    }, 1000);
    this.countdowns.set(id, timer);
  }
}

customElements.define("worker-snapshot-panel", WorkerSnapshotPanel);
