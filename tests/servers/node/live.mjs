// The live profile of the independent Node.js server: WebSocket push at /api/dev/status/ws, written from the
// contract and RFC 6455 alone. Node's built-ins have no WebSocket server, so this is the small subset by hand:
// the handshake (Sec-WebSocket-Accept), unmasked server frames, masked client frames read for ping (answered
// with pong) and close (echoed, then the TCP end). No fragmentation of our frames, no extensions.
//
// status-server.mjs calls upgrade() from the http server's 'upgrade' event, plain() for a GET without an
// upgrade, observed(doc) after each status it assembles and requestDone() after each answered request, so a
// new trafficMode or telemetryStatus is pushed at once. LIVE_BREAKS are this profile's TES_BREAK modes.
import crypto from "node:crypto";

export const LIVE_BREAKS = [
  "live_upgrade_text", "live_no_first_frame", "live_interval_ignored", "live_change_next_tick",
  "live_wrong_type", "live_timer_per_connection", "live_count_zero", "live_never_reads", "live_no_close_frame",
];
export const LIVE_PATH = "/api/dev/status/ws";
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455 section 1.3
const MAX_MESSAGE = 64 * 1024; // clients send nothing we act on; a bigger frame is a protocol abuse (1009)
const MAX_BUFFERED = 1024 * 1024; // a peer this far behind is too slow: closed with 1013

export function pushIntervalMs(env, breaks, fail) {
  const text = env.TES_PUSH_INTERVAL_MS || "1000";
  if (!/^[0-9]+$/.test(text) || Number(text) < 100 || Number(text) > 60000) {
    fail(`TES_PUSH_INTERVAL_MS must be an integer of 100..60000, got ${text}`);
  }
  return breaks.has("live_interval_ignored") ? 1000 : Number(text);
}

function frame(opcode, payload) {
  const length = payload.length;
  let header;
  if (length < 126) {
    header = Buffer.from([0x80 | opcode, length]);
  } else if (length < 65536) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  header[0] = 0x80 | opcode; // FIN, no fragmentation
  return Buffer.concat([header, payload]);
}

const closeFrame = (code) => {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code, 0);
  return frame(0x8, payload);
};

const modesOf = (doc) => [doc.vector.directions.trafficMode, doc.meta.telemetryStatus];

function refuse(socket, status, reason, body) {
  const text = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: `
    + `${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}

export class Live {
  // render(fresh) -> Promise<doc|null>: fresh calls the upstreams, else reuses their last answers.
  // trafficMode() -> the mode the status would show now; record(status, seconds) counts an answered request.
  constructor({ intervalMs, breaks, render, trafficMode, record }) {
    Object.assign(this, { intervalMs, breaks, render, trafficMode, record });
    this.peers = new Set();
    this.lastModes = null;
    this.ticker = null;
  }

  broken(name) {
    return this.breaks.has(name);
  }

  count() {
    return this.broken("live_count_zero") ? 0 : this.peers.size;
  }

  text(doc) {
    return JSON.stringify({ type: this.broken("live_wrong_type") ? "snapshot" : "status", data: doc });
  }

  plain(req, res, send) {
    if (this.broken("live_upgrade_text")) {
      res.writeHead(400, { "Content-Type": "text/plain" });
      res.end("Bad Request: not a WebSocket upgrade");
      return;
    }
    send(res, 426, { error: `${LIVE_PATH} is a WebSocket endpoint`, resolution: "send a WebSocket upgrade" },
      { Upgrade: "websocket" });
  }

  upgrade(req, socket, head) {
    const started = performance.now();
    socket.on("error", () => {}); // a reset peer is just gone
    const path = new URL(req.url, "http://placeholder").pathname;
    const key = req.headers["sec-websocket-key"];
    if (path !== LIVE_PATH) {
      refuse(socket, 404, "Not Found", { error: `no route for ${path}` });
      this.record(404, (performance.now() - started) / 1000);
      return;
    }
    if (req.method !== "GET" || (req.headers.upgrade || "").toLowerCase() !== "websocket" || !key
        || req.headers["sec-websocket-version"] !== "13") {
      refuse(socket, 400, "Bad Request", { error: "not a WebSocket 13 upgrade", resolution: "see RFC 6455" });
      this.record(400, (performance.now() - started) / 1000);
      return;
    }
    const accept = crypto.createHash("sha1").update(key + GUID).digest("base64");
    socket.setNoDelay(true);
    socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      + `Sec-WebSocket-Accept: ${accept}\r\n\r\n`);
    this.record(101, (performance.now() - started) / 1000); // the handshake is one completed request
    const peer = { socket, buffer: Buffer.alloc(0), closing: false, timer: null };
    this.peers.add(peer);
    socket.on("close", () => {
      this.peers.delete(peer);
      if (peer.timer) clearInterval(peer.timer);
    });
    if (!this.broken("live_never_reads")) {
      socket.on("data", (chunk) => this.read(peer, chunk));
      if (head && head.length) this.read(peer, head);
    } // push-only: the socket stays paused, so pings go unanswered and closes unseen
    if (this.broken("live_timer_per_connection")) {
      peer.timer = setInterval(() => this.render(true).then((doc) => doc && this.write(peer, this.text(doc))),
        this.intervalMs);
    }
    if (!this.broken("live_no_first_frame")) {
      this.render(true).then((doc) => doc && this.write(peer, this.text(doc)));
    }
  }

  read(peer, chunk) {
    peer.buffer = peer.buffer.length ? Buffer.concat([peer.buffer, chunk]) : chunk;
    while (peer.buffer.length >= 2) {
      const b = peer.buffer;
      const opcode = b[0] & 0x0f;
      let length = b[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (length > MAX_MESSAGE) {
        this.close(peer, 1009);
        return;
      }
      const masked = (b[1] & 0x80) !== 0;
      const mask = masked ? b.subarray(offset, offset + 4) : null;
      if (masked) offset += 4;
      if (b.length < offset + length) return;
      const payload = Buffer.from(b.subarray(offset, offset + length));
      if (mask) for (let i = 0; i < payload.length; i += 1) payload[i] ^= mask[i & 3];
      peer.buffer = b.subarray(offset + length);
      if (opcode === 0x9) peer.socket.write(frame(0xa, payload)); // ping -> pong with its payload
      else if (opcode === 0x8) this.close(peer, payload.length >= 2 ? payload.readUInt16BE(0) : 1000);
      // text, binary, continuation and pong frames: nothing we act on
    }
  }

  close(peer, code) {
    if (peer.closing) return;
    peer.closing = true;
    this.peers.delete(peer);
    peer.socket.end(closeFrame(code));
  }

  write(peer, text) {
    if (peer.closing || peer.socket.destroyed) return;
    if (peer.socket.writableLength > MAX_BUFFERED) {
      this.close(peer, 1013); // cannot keep up: dropped, never waited on
      return;
    }
    peer.socket.write(typeof text === "string" ? frame(0x1, Buffer.from(text)) : text);
  }

  sendAll(doc) {
    const bytes = frame(0x1, Buffer.from(this.text(doc))); // rendered once for every socket
    for (const peer of this.peers) this.write(peer, bytes);
  }

  pushEvent(event) {
    const bytes = frame(0x1, Buffer.from(JSON.stringify({ type: "event", data: event })));
    for (const peer of this.peers) this.write(peer, bytes);
  }

  observed(doc) {
    const modes = modesOf(doc);
    const changed = this.lastModes !== null && (modes[0] !== this.lastModes[0] || modes[1] !== this.lastModes[1]);
    this.lastModes = modes;
    if (changed && !this.broken("live_change_next_tick")) this.sendAll(doc);
  }

  requestDone() {
    if (this.lastModes !== null && this.trafficMode() !== this.lastModes[0]) {
      this.render(false).then((doc) => doc && this.observed(doc));
    }
  }

  start() {
    if (this.broken("live_timer_per_connection")) return;
    this.ticker = setInterval(() => {
      if (this.peers.size === 0) return; // nobody listens: no snapshot, no upstream call (UPSTREAM-ONCE counts ours)
      this.render(true).then((doc) => {
        if (!doc) return;
        this.lastModes = modesOf(doc);
        this.sendAll(doc);
      });
    }, this.intervalMs);
  }

  // SIGTERM: every socket closed with 1001, then the TCP end (the no_close_frame break just drops them).
  closeAll() {
    if (this.ticker) clearInterval(this.ticker);
    const peers = [...this.peers];
    const closed = peers.map((peer) => new Promise((resolve) => peer.socket.once("close", resolve)));
    for (const peer of peers) {
      if (this.broken("live_no_close_frame")) peer.socket.destroy();
      else this.close(peer, 1001);
    }
    return Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, 1000))]);
  }
}
