#!/usr/bin/env python3
"""The independent Python status server, run by a wrapper that misbehaves as a process or on the wire.

    python tests/servers/hostile/misbehave.py MODE

Modes (what the harness must report for each: tests/servers/README.md, tests/test_conformance_hostile.py):
  exit_0          prints a line and exits 0 at once, before listening
  wrong_port      runs the server on another port than TES_PORT
  flood           prints 100 MB to stdout and 100 MB to stderr, then runs the server (blocks for good
                  if nobody reads its output)
  ignore_sigterm  ignores SIGTERM: when the server under it has stopped, it stays, until SIGKILL
  orphan          the wrapper exits 1 two seconds after the server listens; the server (its child, same
                  process group) keeps the port
  silent          accepts connections on TES_PORT and never answers (reads and holds them)
  garbage         answers every connection with random bytes, not HTTP
  huge_body       answers every request 200 with a 10 MB JSON body
  endless_body    answers every request 200 and sends its body forever (chunked)
  fail_third DIR  exits 2 on its third start (counted in DIR), runs the server otherwise: what a server
                  does when two copies fight over one state file or port

It stands for somebody else's server: it imports nothing of tes_contract.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import sys
import threading
import time
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "py_status_server.py"
MODES = ("exit_0", "wrong_port", "flood", "ignore_sigterm", "orphan", "silent", "garbage", "huge_body",
         "endless_body", "fail_third")


def _start_server(env: dict[str, str] | None = None) -> int:
    """Fork and exec the independent server in this process group; return its pid."""
    child = os.fork()
    if child == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.execve(sys.executable, [sys.executable, str(SERVER)], env or dict(os.environ))
    return child


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)


def _flood() -> None:
    line = b"x" * 1023 + b"\n"
    for stream in (sys.stdout.buffer, sys.stderr.buffer):
        for _ in range(100 * 1024):
            stream.write(line)
        stream.flush()
    os.execv(sys.executable, [sys.executable, str(SERVER)])


def _ignore_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = _start_server()
    os.waitpid(child, 0)
    print("the server stopped; this wrapper stays", flush=True)
    while True:
        time.sleep(1)


def _orphan() -> None:
    _start_server()
    _wait_listening(int(os.environ["TES_PORT"]))
    time.sleep(2.0)
    print("wrapper exits, its child keeps serving", flush=True)
    os._exit(1)


def _fail_third(folder: Path) -> None:
    for n in range(1, 1000):
        try:
            os.close(os.open(folder / f"start-{n}", os.O_CREAT | os.O_EXCL))
            break
        except FileExistsError:
            continue
    if n == 3:
        print("state file locked by another copy", flush=True)
        sys.exit(2)
    os.execv(sys.executable, [sys.executable, str(SERVER), str(folder)])  # (the server ignores its arguments)


def _handle(conn: socket.socket, mode: str) -> None:
    with conn:
        conn.settimeout(600)
        if mode == "silent":
            while conn.recv(65536):
                pass
            return
        conn.recv(65536)  # the request (its start is enough)
        if mode == "garbage":
            conn.sendall(random.randbytes(4096) + b"\r\n\r\n")
            return
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        if mode == "huge_body":
            body = b'{"padding": "' + b"x" * (10 * 1024 * 1024) + b'"}'
            conn.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            return
        conn.sendall(f"{head}Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"x" * 65536
        while True:
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def _raw(mode: str) -> None:
    with socket.create_server((os.environ.get("TES_HOST", "127.0.0.1"), int(os.environ["TES_PORT"]))) as server:
        print(f"listening (mode {mode})", flush=True)
        while True:
            conn, _ = server.accept()
            threading.Thread(target=_handle, args=(conn, mode), daemon=True).start()


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode not in MODES:
        sys.exit(f"usage: misbehave.py {'|'.join(MODES)}")
    if mode == "exit_0":
        print("nothing to serve today", flush=True)
        sys.exit(0)
    if mode == "fail_third":
        _fail_third(Path(sys.argv[2]))
    if mode == "wrong_port":
        os.execve(sys.executable, [sys.executable, str(SERVER)], {**os.environ, "TES_PORT": "0"})
    {"flood": _flood, "ignore_sigterm": _ignore_sigterm, "orphan": _orphan}.get(mode, lambda: _raw(mode))()


if __name__ == "__main__":
    main()
