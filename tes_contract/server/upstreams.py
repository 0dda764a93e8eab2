"""One bounded upstream call, and what the status endpoint reads from the tmux and worker answers.

Classification (contract clauses STATUS-FIELD-TELEMETRY, UPSTREAM-*-VALID; written here on its own: the
contract's `rules` module is the checks' oracle, and sharing it would hide a bug common to both):

- *no answer* — refused, reset, closed before a complete answer (empty, truncated), timeout over connect,
  headers and body: `offline` / tmux 0;
- *answered* — a complete HTTP answer: non-2xx, a body that is not JSON or breaks the validity rule, or
  `connected: 0` give `degraded` / tmux 0; a valid 2xx body gives its values.

`Content-Type` is not read: the contract's validity rule looks at the body only.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

TelemetryStatus = Literal["healthy", "degraded", "offline"]

#: Stands for a body that is not JSON (distinct from a JSON `null`).
NOT_JSON: Any = object()


@dataclass(frozen=True, slots=True)
class UpstreamAnswer:
    """What one upstream call gave: an answer (status and parsed body) or none, and why."""

    answered: bool
    status: int | None = None
    body: Any = NOT_JSON
    reason: str = ""
    elapsed_ms: float = 0.0
    #: Why there was no answer, for the metrics' `outcome`: timeout, refused, reset or error.
    failure: str = ""

    @property
    def ok(self) -> bool:
        """Answered with a 2xx status."""
        return self.answered and self.status is not None and 200 <= self.status < 300


def no_answer(reason: str, elapsed_ms: float = 0.0, failure: str = "error") -> UpstreamAnswer:
    """An upstream that did not answer (or is known dead and was not called)."""
    return UpstreamAnswer(False, reason=reason, elapsed_ms=elapsed_ms, failure=failure)


async def fetch_json(session: aiohttp.ClientSession, url: str, timeout_s: float) -> UpstreamAnswer:
    """GET `url` once, bounded by `timeout_s` over connect, headers and the whole body; never raises.

    aiohttp's `ClientTimeout(total=...)` covers the call, and `asyncio.timeout` around the body read keeps
    the bound even for a body dribbled byte by byte, whatever the client's internals do.
    """
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout_s),
                                   allow_redirects=False) as response:
                raw = await response.read()
                status = response.status
    except TimeoutError:
        return no_answer(f"timeout after {timeout_s * 1000:.0f} ms", _since(started), "timeout")
    except aiohttp.ClientPayloadError as exc:
        return no_answer(f"closed before the body was complete: {_describe(exc)}", _since(started), "reset")
    except aiohttp.ServerDisconnectedError as exc:
        return no_answer(f"closed without an answer: {_describe(exc)}", _since(started), "reset")
    except aiohttp.ClientConnectorError as exc:
        failure = "refused" if isinstance(exc.os_error, ConnectionRefusedError) else "error"
        return no_answer(f"cannot connect: {_describe(exc)}", _since(started), failure)
    except (aiohttp.ClientError, OSError) as exc:
        failure = "reset" if isinstance(exc, ConnectionResetError) or "reset" in str(exc).lower() else "error"
        return no_answer(f"{type(exc).__name__}: {_describe(exc)}", _since(started), failure)
    try:
        body = json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        body = NOT_JSON
    return UpstreamAnswer(True, status, body, "" if 200 <= status < 300 else f"HTTP {status}", _since(started))


def worker_fields(answer: UpstreamAnswer) -> tuple[int, TelemetryStatus]:
    """(activeWorkers, telemetryStatus) from one worker-status answer."""
    if not answer.answered:
        return 0, "offline"
    if not answer.ok:
        return 0, "degraded"
    body = answer.body
    if not isinstance(body, dict):
        return 0, "degraded"
    connected = body.get("connected")
    # A JSON `true` is a Python bool, and bool is a subclass of int: the contract says it is no integer.
    if type(connected) is not int or connected < 0:
        return 0, "degraded"
    if connected == 0:
        return 0, "degraded"
    return connected, "healthy"


def tmux_count(answer: UpstreamAnswer) -> int:
    """Sessions (not panes) from one tmux-status answer: len(sessions) when online, else 0; 0 on failure."""
    if not answer.ok:
        return 0
    body = answer.body
    if not isinstance(body, dict):
        return 0
    online = body.get("online")
    sessions = body.get("sessions")
    if type(online) is not bool or type(sessions) is not list:
        return 0
    return len(sessions) if online else 0


def outcome(upstream: str, answer: UpstreamAnswer) -> str:
    """The metrics' `outcome` of one call: ok, http_error, invalid, or why there was no answer."""
    if not answer.answered:
        return answer.failure or "error"
    if not answer.ok:
        return "http_error"
    return "ok" if (_tmux_valid(answer.body) if upstream == "tmux" else _worker_valid(answer.body)) else "invalid"


def _tmux_valid(body: Any) -> bool:
    return isinstance(body, dict) and type(body.get("online")) is bool and type(body.get("sessions")) is list


def _worker_valid(body: Any) -> bool:
    connected = body.get("connected") if isinstance(body, dict) else None
    return type(connected) is int and connected >= 0


def worker_reason(answer: UpstreamAnswer) -> str:
    """Why a worker answer is not healthy, for logs and the worker list endpoint."""
    if not answer.answered:
        return answer.reason
    if not answer.ok:
        return answer.reason
    if answer.body is NOT_JSON:
        return "body is not JSON"
    return "body breaks the worker-status contract"


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.replace("\n", " ")[:200]
