"""aioresponses helpers: the mock scenarios for unit tests of aiohttp client code, without sockets.

Apart from the socket mocks on purpose: aioresponses replaces aiohttp's request machinery, so nothing
here goes through a socket, a timeout or a parser. Each fault therefore raises the exception a real
aiohttp client raises against the socket mock (a test keeps the two in step):

| scenario | raises |
| --- | --- |
| down | `aiohttp.ClientConnectorError` (ECONNREFUSED) |
| hang, slow_body, slow >= timeout | `TimeoutError`, as `ClientTimeout(total=...)` raises: not a `ClientError`! |
| reset | `aiohttp.ClientOSError` (ECONNRESET) |
| empty | `aiohttp.ServerDisconnectedError` |
| truncated | `aiohttp.ClientPayloadError` (raised by the request here, by the body read for real) |

Answers (healthy, zero, http_error, malformed_json, wrong_content_type, invalid_shape, fixed, slow under
the timeout) are the same bytes and content types the socket mocks send. Requires `aioresponses`.

aioresponses 0.7.x builds `ClientResponse` without the `stream_writer` argument aiohttp 3.14 requires
(pnuckowski/aioresponses#289); the helpers pass `CompatResponse`, which supplies it, so they work on
both sides of that change without patching anything global.

Example:
    with aioresponses() as m:
        add_worker(m, "http://workers.test", "healthy", connected=4)
        add_tmux(m, "http://tmux.test/api/dev/tmux/status", "reset")
"""

from __future__ import annotations

import asyncio
import errno
import inspect
from typing import Any

import aiohttp
from aiohttp import ClientResponse
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from tes_contract.errors import ScenarioError
from tes_contract.mocks.bodies import answer_for
from tes_contract.mocks.scenarios import Scenario, parse_scenario


class _SentWriter:
    """Stands for the request writer of a request already sent: aiohttp only reads its output size."""

    output_size = 0


class CompatResponse(ClientResponse):
    """A ClientResponse aioresponses can build on aiohttp 3.14 too (it omits `stream_writer`)."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        if "stream_writer" in inspect.signature(ClientResponse.__init__).parameters:
            kwargs.setdefault("stream_writer", _SentWriter())
        super().__init__(method, url, **kwargs)


def fault_exception(scenario: str, url: str) -> BaseException | None:
    """Return the exception a real aiohttp client raises for a fault scenario, or None for an answer."""
    target = URL(url)
    if scenario == "down":
        key = ConnectionKey(target.host or "", target.port, target.scheme == "https", True, None, None, None)
        return aiohttp.ClientConnectorError(key, ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"))
    if scenario in ("hang", "slow_body"):
        return TimeoutError()
    if scenario == "reset":
        return aiohttp.ClientOSError(errno.ECONNRESET, "Connection reset by peer")
    if scenario == "empty":
        return aiohttp.ServerDisconnectedError()
    if scenario == "truncated":
        return aiohttp.ClientPayloadError("Response payload is not completed: not enough data for Content-Length")
    return None


def add_scenario(m: aioresponses, url: str, upstream: str, scenario: str | dict[str, Any] = "healthy", *,
                 repeat: bool = True, client_timeout_ms: float = 5000, **params: Any) -> Scenario:
    """Register `scenario` of `upstream` for GET `url` on an aioresponses mock; return the parsed scenario.

    Flapping and chaos need a request count and a socket; use the socket mocks (`MockUpstreams`) for them.
    """
    request = {"scenario": scenario, **params} if isinstance(scenario, str) else {**scenario, **params}
    parsed = parse_scenario(upstream, request)
    if parsed.name in ("flapping", "chaos"):
        raise ScenarioError(f"{parsed.name} is not available with aioresponses; use MockUpstreams")
    delay_s = parsed.params["delay"].seconds(client_timeout_ms) if parsed.name == "slow" else 0.0
    exception = fault_exception(parsed.name, url)
    if exception is None and delay_s >= client_timeout_ms / 1000.0:
        exception = TimeoutError()
    if exception is not None:
        m.get(url, exception=exception, repeat=repeat)
        return parsed
    prepared = answer_for(parsed)
    assert prepared is not None, f"{parsed.name} answers (fault_exception covers those that do not)"

    async def answer(url: URL, **_: Any) -> CallbackResult:
        if delay_s:
            await asyncio.sleep(delay_s)
        return CallbackResult(status=prepared.status, body=prepared.body, content_type=prepared.content_type,
                              headers=dict(prepared.headers), response_class=CompatResponse)

    m.get(url, callback=answer, repeat=repeat, response_class=CompatResponse)
    return parsed


def add_tmux(m: aioresponses, url: str, scenario: str | dict[str, Any] = "healthy", **kwargs: Any) -> Scenario:
    """Register a tmux-status scenario on the full URL of the endpoint."""
    return add_scenario(m, url, "tmux", scenario, **kwargs)


def add_worker(m: aioresponses, base_url: str, scenario: str | dict[str, Any] = "healthy",
               **kwargs: Any) -> Scenario:
    """Register a worker-status scenario on `{base_url}/workers/status`."""
    return add_scenario(m, base_url.rstrip("/") + "/workers/status", "worker", scenario, **kwargs)
