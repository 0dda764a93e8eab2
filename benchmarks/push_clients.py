#!/usr/bin/env python3
"""Lean WebSocket subscribers for bench_push.py: N raw sockets in one process, read with `selectors` (epoll).

    python benchmarks/push_clients.py HOST PORT N

Why not a WebSocket library: the benchmark times the server's push, and a full client (aiohttp, websockets)
spends ~50-100 us of Python per frame, so 1,000 of them in one process measure the client's queue more than
the server. This one does the least RFC 6455 a subscriber needs: the handshake, reading unmasked server
frames, a masked pong for each ping, a close frame at the end. Each arrival is stamped with
`time.monotonic()` (CLOCK_MONOTONIC, the same clock in every process on Linux) as the poll returns.

Protocol on stdin/stdout, one JSON object a line: prints {"ready": N} once connected; on {"arm": VALUE} prints
{"armed": true}, then {"arrivals": [...], "cpu_ms": ...} once every socket got a status frame whose
telemetryStatus is VALUE (cpu_ms: this process's CPU time from arm to the last arrival); {"quit": true}
closes the sockets and exits. Stops by itself after 600 s.
"""

from __future__ import annotations

import base64
import json
import os
import selectors
import socket
import sys
import time

DEADLINE_S = 600.0


def _handshake(host: str, port: int) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection((host, port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /api/dev/status/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("push_clients: the server closed during the handshake")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise SystemExit(f"push_clients: handshake answered {head[:80]!r}")
    sock.setblocking(False)
    return sock, rest


def _frames(buffer: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Whole server frames (opcode, payload) at the start of `buffer`, and what is left."""
    out: list[tuple[int, bytes]] = []
    i = 0
    while len(buffer) - i >= 2:
        length, head = buffer[i + 1] & 0x7F, 2
        if length == 126:
            if len(buffer) - i < 4:
                break
            length, head = int.from_bytes(buffer[i + 2:i + 4], "big"), 4
        elif length == 127:
            if len(buffer) - i < 10:
                break
            length, head = int.from_bytes(buffer[i + 2:i + 10], "big"), 10
        if len(buffer) - i < head + length:
            break
        out.append((buffer[i] & 0x0F, buffer[i + head:i + head + length]))
        i += head + length
    return out, buffer[i:]


def _masked(opcode: int, payload: bytes) -> bytes:
    # A zero masking key: valid framing (the server unmasks with it); these clients are not browsers.
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


class Clients:
    """N subscribers and the arrival of the armed value at each."""

    def __init__(self, host: str, port: int, n: int) -> None:
        self.selector = selectors.DefaultSelector()
        self.buffers: dict[socket.socket, bytes] = {}
        self.wanted: tuple[bytes, bytes] | None = None
        self.arrivals: dict[socket.socket, float] = {}
        self.cpu_at_arm = 0.0
        for _ in range(n):
            sock, rest = _handshake(host, port)
            self.buffers[sock] = rest
            self.selector.register(sock, selectors.EVENT_READ)
        self.selector.register(sys.stdin, selectors.EVENT_READ)

    def arm(self, value: str) -> None:
        self.wanted = (f'"telemetryStatus":"{value}"'.encode(), f'"telemetryStatus": "{value}"'.encode())
        self.arrivals = {}
        self.cpu_at_arm = time.process_time()

    def _read(self, sock: socket.socket, now: float) -> None:
        try:
            chunk = sock.recv(1 << 20)
        except BlockingIOError:
            return
        if not chunk:
            raise SystemExit("push_clients: the server closed a subscriber")
        frames, self.buffers[sock] = _frames(self.buffers[sock] + chunk)
        for opcode, payload in frames:
            if opcode == 0x9:
                sock.sendall(_masked(0xA, payload))
            elif opcode == 0x8:
                raise SystemExit(f"push_clients: the server closed a subscriber ({payload[:2].hex()})")
            elif opcode == 0x1 and self.wanted is not None and sock not in self.arrivals \
                    and payload.startswith(b'{"type":"status"') and any(w in payload for w in self.wanted):
                self.arrivals[sock] = now

    def run(self) -> None:
        started = time.monotonic()
        print(json.dumps({"ready": len(self.buffers)}), flush=True)
        while time.monotonic() - started < DEADLINE_S:
            events = self.selector.select(timeout=1.0)
            now = time.monotonic()
            for key, _ in events:
                if key.fileobj is sys.stdin:
                    if not self._command(sys.stdin.readline()):
                        return
                else:
                    self._read(key.fileobj, now)  # type: ignore[arg-type]
            if self.wanted is not None and len(self.arrivals) == len(self.buffers):
                cpu_ms = (time.process_time() - self.cpu_at_arm) * 1000
                print(json.dumps({"arrivals": sorted(self.arrivals.values()), "cpu_ms": cpu_ms}), flush=True)
                self.wanted = None

    def _command(self, line: str) -> bool:
        command = json.loads(line) if line.strip() else {"quit": True}
        if "arm" in command:
            self.arm(command["arm"])
            print(json.dumps({"armed": True}), flush=True)
            return True
        for sock in self.buffers:
            try:
                sock.sendall(_masked(0x8, (1000).to_bytes(2, "big")))
            except OSError:
                pass
            sock.close()
        return False


if __name__ == "__main__":
    Clients(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])).run()
