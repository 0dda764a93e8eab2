"""Abuse corpus (issue 15): hostile paths, headers, slowloris, WebSocket churn, huge frames and bad bodies.

One real stack for the module (mock upstreams, `tes-contract serve` with every feature on: live, metrics,
history, dev on a private tmux, alerts to the webhook mock). Every abuse is answered with a clear 4xx (JSON
wherever the HTTP parser lets the application answer; aiohttp's parser refuses some request lines itself,
as text), and a well-behaved client polling the status beside it keeps its P99 within 20 ms x TOLERANCE
(abuse_tools.py says why a CI tolerance). Every count is bounded and every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator

import aiohttp
import pytest

from tes_contract.server.cli import KEEPALIVE_TIMEOUT_S
from tests.server.abuse_tools import AlertStack, beside, exchange, json_error, request_head

#: Connections of the slowloris abuse, each trickling one header byte a second.
SLOWLORIS = 1000
#: WebSocket connect/close cycles: 10,000 for the note (`TES_ABUSE_WS_CYCLES=10000`); CI runs 2,000 (about
#: 10 s on the shared machine) to keep the suite's budget.
WS_CYCLES = int(os.environ.get("TES_ABUSE_WS_CYCLES", "2000"))
MIB = 1024 * 1024

pytestmark = pytest.mark.tmux


@pytest.fixture(scope="module")
def stack() -> Iterator[AlertStack]:
    with AlertStack(TES_PUSH_INTERVAL_MS="1000") as running:
        yield running


def test_quiet_baseline(stack: AlertStack):
    """The well-behaved client alone, for comparison with the figures beside each abuse."""
    with beside(stack) as seen:
        pass
    seen.check("no abuse (baseline)")


# (raw path, status, answered by the application as JSON): %-escapes reach the app; raw control bytes, raw
# UTF-8 and request lines past 8190 bytes are refused by aiohttp's parser before any handler runs.
PATHS = [
    (b"/api/dev/status%00", 404, True),
    (b"/%0A", 404, True),
    (b"/api/dev/status%0D%0AX-Injected:%201", 404, True),
    (b"/" + b"a" * 8000, 404, True),
    (b"/api/dev/%E7%8A%B6%E6%80%81/%F0%9F%94%A5", 404, True),
    (b"/%ff%fe%00", 404, True),
    (b"/api/dev/status\x00", 400, False),
    (b"/a\x01b", 400, False),
    (b"/a\x7f", 400, False),
    ("/api/dév/状态".encode(), 400, False),
    (b"/" + b"a" * 8192, 400, False),
]


def test_hostile_paths_answer_a_clear_4xx(stack: AlertStack):
    async def run() -> None:
        for path, status, by_app in PATHS:
            answered, headers, body = await exchange(stack.port, request_head("GET", path))
            assert answered == status, (path[:60], answered, body[:200])
            assert "x-injected" not in headers
            if by_app:
                document = json_error(answered, headers, body)
                assert "\n" not in str(document["error"]) and "\x00" not in str(document["error"])
            else:
                assert body, f"{path[:60]!r}: the parser's 400 names no problem"

    with beside(stack) as seen:
        for _ in range(5):
            asyncio.run(run())
    seen.check(f"{len(PATHS) * 5} hostile paths")


def test_oversized_headers_answer_400(stack: AlertStack):
    cases = [
        request_head("GET", b"/api/dev/status", "X-Big: " + "a" * 16 * 1024),
        request_head("GET", b"/api/dev/status", *(f"X-{i}: {'a' * 100}" for i in range(1000))),
        request_head("GET", b"/api/dev/status", "Host: " + "h" * 9000),
    ]

    async def run() -> None:
        for head in cases:
            status, _, body = await exchange(stack.port, head)
            assert status == 400, (head[:80], status, body[:200])
            assert body

    with beside(stack) as seen:
        for _ in range(10):
            asyncio.run(run())
    seen.check(f"{len(cases) * 10} oversized header blocks")


async def _slowloris(port: int, count: int, seconds: float) -> list[float]:
    """Open `count` connections that trickle a request head forever; seconds until the server closed each."""
    started = time.monotonic()
    streams = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/dev/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        streams.append((reader, writer))

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> float:
        try:
            while time.monotonic() - started < seconds:
                writer.write(b"X")  # one byte of a header that never ends
                await writer.drain()
                if await asyncio.wait_for(reader.read(1024), 1.0) == b"":
                    return time.monotonic() - started
        except TimeoutError:
            return await trickle(reader, writer) if time.monotonic() - started < seconds else float("inf")
        except ConnectionError:
            return time.monotonic() - started
        finally:
            writer.close()
        return float("inf")

    return await asyncio.gather(*(trickle(reader, writer) for reader, writer in streams))


def test_slowloris_connections_are_closed_within_the_keepalive_bound(stack: AlertStack):
    # Slack for 1,000 connects and the shared machine; the close itself comes at KEEPALIVE_TIMEOUT_S.
    deadline = KEEPALIVE_TIMEOUT_S + 15
    before = stack.open_fds()
    with beside(stack) as seen:
        closed = asyncio.run(_slowloris(stack.port, SLOWLORIS, deadline))
    seen.check(f"{SLOWLORIS} slowloris connections")
    assert max(closed) <= deadline, f"{sum(c > deadline for c in closed)} slow connections still open"
    assert min(closed) >= KEEPALIVE_TIMEOUT_S - 1, "a trickling connection was closed before the bound"
    assert stack.open_fds() <= before + 5


async def _ws_cycles(url: str, cycles: int, parallel: int = 2) -> None:
    async with aiohttp.ClientSession() as session:
        async def worker(share: int) -> None:
            for _ in range(share):
                async with session.ws_connect(url) as ws:
                    first = await ws.receive(timeout=10)
                    assert first.type is aiohttp.WSMsgType.TEXT and json.loads(first.data)["type"] == "status"

        await asyncio.gather(*(worker(cycles // parallel) for _ in range(parallel)))


def test_websocket_connect_close_cycles_leave_nothing_behind(stack: AlertStack):
    url = stack.url.replace("http://", "ws://") + "/api/dev/status/ws"
    before = stack.open_fds()
    started = time.monotonic()
    with beside(stack) as seen:
        asyncio.run(_ws_cycles(url, WS_CYCLES))
    print(f"\n{WS_CYCLES} WebSocket cycles in {time.monotonic() - started:.1f} s")
    seen.check(f"{WS_CYCLES} WebSocket connect/close cycles")
    deadline = time.monotonic() + 1.0  # LIVE-COUNT: 0 within 1 s of the last close

    def open_sockets() -> int:
        return int(stack.get("/api/dev/status").json()["vector"]["sessions"]["websocketConnections"])

    while open_sockets() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_sockets() == 0
    assert stack.open_fds() <= before + 5


async def _big_frames(url: str) -> list[int | None]:
    """Send a 1 MiB binary and a 1 MiB text frame on two sockets; the close codes, after a bystander's push."""
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as bystander:
        await bystander.receive(timeout=10)
        codes = []
        for payload in (b"x" * MIB, "x" * MIB):
            async with session.ws_connect(url) as ws:
                await ws.receive(timeout=10)
                await (ws.send_bytes(payload) if isinstance(payload, bytes) else ws.send_str(payload))
                while (await ws.receive(timeout=10)).type is aiohttp.WSMsgType.TEXT:
                    pass
                codes.append(ws.close_code)
        # The bystander still gets its pushes (one a second) after the offenders were dropped.
        pushed = await bystander.receive(timeout=3)
        assert pushed.type is aiohttp.WSMsgType.TEXT, f"the bystander lost its push: {pushed}"
        return codes


def test_client_frames_of_1_mib_close_with_1009(stack: AlertStack):
    url = stack.url.replace("http://", "ws://") + "/api/dev/status/ws"
    with beside(stack, minimum_s=2) as seen:
        codes = asyncio.run(_big_frames(url))
    seen.check("1 MiB client frames")
    assert codes == [1009, 1009]


def _bad_bodies(token: str) -> list[tuple[str, bytes, tuple[str, ...], int]]:
    """(method + path, body, extra headers, status) for every state-changing route, with the token."""
    auth = f"Authorization: Bearer {token}"
    sessions = "POST /api/dev/tmux/sessions"
    big = b"{" + b"x" * MIB
    return [
        (sessions, b'{"name": "abuse"', ("Content-Type: application/json", auth), 400),
        (sessions, b"\xff\xfe{}", ("Content-Type: application/json", auth), 400),
        (sessions, b"[]", ("Content-Type: application/json", auth), 400),
        (sessions, b'{"name": "abuse", "command": "rm -rf /"}', ("Content-Type: application/json", auth), 400),
        (sessions, b"name=abuse", ("Content-Type: application/x-www-form-urlencoded", auth), 400),
        (sessions, b"--b\r\n\r\nname=abuse\r\n--b--", ("Content-Type: multipart/form-data; boundary=b", auth), 400),
        (sessions, b"<name>abuse</name>", ("Content-Type: text/xml", auth), 400),
        (sessions, big, ("Content-Type: application/json", auth), 413),
        (sessions, big, ("Content-Type: text/plain", auth), 413),
        ("DELETE /api/dev/tmux/sessions/abuse", big, (auth,), 413),
        (sessions, big, ("Content-Type: application/json",), 401),
        ("POST /api/dev/status", big, ("Content-Type: application/json",), 405),
        ("POST /api/dev/status/history", b"{", ("Content-Type: application/json",), 405),
        ("POST /api/dev/events", b"{", ("Content-Type: application/json",), 405),
        ("POST /api/dev/alerts", big, ("Content-Type: application/json",), 405),
        ("POST /api/dev/metrics", b"{", ("Content-Type: application/json",), 405),
        ("POST /api/dev/workers/w-1/snapshot", big, ("Content-Type: application/json", auth), 405),
        ("PUT /api/dev/tmux/sessions", big, ("Content-Type: application/json", auth), 405),
    ]


def test_bad_bodies_on_every_state_changing_route_answer_json_4xx(stack: AlertStack):
    cases = _bad_bodies(stack.token)

    async def run() -> None:
        for line, body, headers, status in cases:
            method, path = line.split(" ", 1)
            head = request_head(method, path.encode(), f"Content-Length: {len(body)}", *headers)
            answered, answer_headers, answer = await exchange(stack.port, head, body)
            assert answered == status, (line, headers[:1], body[:40], answered, answer[:200])
            json_error(answered, answer_headers, answer)
        # The same 1 MiB without a Content-Length (chunked): refused while reading, at 64 KiB.
        chunked = b"".join(b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024) for _ in range(16)) + b"0\r\n\r\n"
        head = request_head("POST", b"/api/dev/tmux/sessions", "Transfer-Encoding: chunked",
                            "Content-Type: application/json", f"Authorization: Bearer {stack.token}")
        answered, answer_headers, answer = await exchange(stack.port, head, chunked)
        assert answered == 413, answer[:200]
        json_error(answered, answer_headers, answer)

    with beside(stack) as seen:
        asyncio.run(run())
    seen.check(f"{len(cases) + 1} bad bodies")
    assert "abuse" not in stack.tmux_sessions(), "a refused request made a tmux session (DEV-NOSIDE)"
