"""`tes-contract mock record`: poll a real upstream and write what it saw as a replayable timeline.

Each poll is bounded by the upstream timeout (connect, headers and body, as a status server's call is)
and becomes one phase of `schemas/mock-timeline.json`: an answer is `fixed` with its status, content type,
exact body and latency (`delay_ms`), a poll that timed out is `hang`, a reset is `reset`, a refused
connection is `down` for the time until the next poll. `tes-contract mock --timeline FILE` replays it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp

from tes_contract.contract.schemas import validator_for
from tes_contract.errors import ConfigError

UPSTREAM_PATHS = {"worker": "/workers/status", "tmux": ""}


def poll_url(upstream: str, target: str) -> str:
    """The URL polled: `TARGET/workers/status` for the worker API (its base URL), TARGET itself for tmux."""
    if upstream not in UPSTREAM_PATHS:
        raise ConfigError(f"--upstream {upstream!r}: expected one of {', '.join(UPSTREAM_PATHS)}")
    if not target.startswith(("http://", "https://")):
        raise ConfigError(f"--target {target!r}: expected http://HOST:PORT[/path]")
    return target.rstrip("/") + UPSTREAM_PATHS[upstream] if upstream == "worker" else target


async def observe(session: aiohttp.ClientSession, url: str, timeout_ms: float) -> dict[str, Any]:
    """One bounded GET: the phase that replays it, with the latency measured."""
    started = time.monotonic()
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout_ms / 1000)) as response:
            raw = await response.read()
            latency_ms = round((time.monotonic() - started) * 1000, 1)
            return {"scenario": "fixed", "status": response.status, **_body(raw),
                    "content_type": response.headers.get("Content-Type", "application/octet-stream"),
                    "delay_ms": latency_ms, "requests": 1}
    except TimeoutError:
        return {"scenario": "hang", "requests": 1}
    except aiohttp.ClientConnectorError:
        return {"scenario": "down"}  # its length is set by the caller: the time until the next poll
    except (aiohttp.ClientError, OSError):
        return {"scenario": "reset", "requests": 1}


def _body(raw: bytes) -> dict[str, Any]:
    try:
        return {"body": json.loads(raw)}
    except ValueError:
        pass
    try:
        return {"raw": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"raw_base64": base64.b64encode(raw).decode("ascii")}


async def record(upstream: str, target: str, *, polls: int, interval_s: float, timeout_ms: float,
                 repeat: bool = False, on_poll: Callable[[int, dict[str, Any]], None] | None = None
                 ) -> dict[str, Any]:
    """Poll `polls` times, `interval_s` apart (from start to start); return the timeline document."""
    if polls < 1 or interval_s < 0 or timeout_ms <= 0:
        raise ConfigError("--polls must be >= 1, --interval-ms >= 0 and --timeout-ms > 0")
    url = poll_url(upstream, target)
    phases: list[dict[str, Any]] = []
    began = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    async with aiohttp.ClientSession() as session:
        for index in range(polls):
            started = time.monotonic()
            phase = await observe(session, url, timeout_ms)
            if phase["scenario"] == "down":
                phase["seconds"] = max(interval_s, 0.05)
            phases.append(phase)
            if on_poll is not None:
                on_poll(index, phase)
            if index < polls - 1:
                await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))
    description = (f"recorded from {url} at {began}: {polls} polls, {interval_s * 1000:g} ms apart, "
                   f"timeout {timeout_ms:g} ms")
    document: dict[str, Any] = {"description": description, "client_timeout_ms": timeout_ms,
                                "upstreams": {upstream: {"phases": phases, "repeat": repeat}}}
    validator_for("mock-timeline.json").validate(document)  # what we write, `mock --timeline` must accept
    return document


def describe(index: int, phase: dict[str, Any]) -> str:
    """One line per poll for the console."""
    if phase["scenario"] == "fixed":
        return f"poll {index + 1}: {phase['status']} in {phase['delay_ms']} ms"
    return f"poll {index + 1}: {phase['scenario']}"
