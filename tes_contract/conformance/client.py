"""The harness's HTTP client: every request is recorded as an Exchange and every status answer is checked."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp

from tes_contract.conformance.checks.response import STATUS_RESPONSE_CHECKS, timestamp_is_current
from tes_contract.conformance.model import NOT_JSON, Exchange, Failure, Recorder, run_check
from tes_contract.contract.invariants import field

STATUS_PATH = "/api/dev/status"


class Client:
    """Talks to one server under test; keeps every status answer for the across-calls checks."""

    def __init__(self, base_url: str, recorder: Recorder, *, answer_timeout_s: float, skew_s: float = 2.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.recorder = recorder
        self.answer_timeout_s = answer_timeout_s
        self.skew_s = skew_s
        self.history: list[Exchange] = []  # status answers, in the order they were sent
        self.ledger: list[Exchange] = []  # every request sent, for traffic accounting
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        # No connection reuse: each request stands alone, as curl would send it, and nothing lingers.
        connector = aiohttp.TCPConnector(force_close=True, limit=0)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                      timeout_s: float | None = None, headers: Mapping[str, str] | None = None) -> Exchange:
        """Send one request; return the exchange (status None when no answer came in time)."""
        assert self._session is not None, "use the client as an async context manager"
        url = self.base_url + path
        if params:
            url += "?" + urlencode(dict(params))
        exchange = Exchange(method, url, sent_at=time.time(), received_at=0.0)
        self.recorder.count_exchange()
        timeout = aiohttp.ClientTimeout(total=timeout_s or self.answer_timeout_s)
        try:
            async with self._session.request(method, url, timeout=timeout, allow_redirects=False,
                                             headers=dict(headers or {}), skip_auto_headers=()) as response:
                raw = await response.read()
                exchange.status = response.status
                exchange.headers = list(response.headers.items())
                exchange.text = raw.decode("utf-8", errors="replace")
        except TimeoutError:
            exchange.error = f"no answer within {timeout.total} s"
        except aiohttp.ClientError as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"
        exchange.received_at = time.time()
        if exchange.text:
            try:
                exchange.body = json.loads(exchange.text)
            except ValueError:
                exchange.body = NOT_JSON
        if exchange.status is not None:
            self.ledger.append(exchange)
        return exchange

    async def status(self, scenario: str, *, mock: str = "", seed: int | None = None, payload: Any = None,
                     params: Mapping[str, str] | None = None) -> Exchange:
        """GET the status and run every response check on the answer, recorded under `scenario`."""
        exchange = await self.request("GET", STATUS_PATH, params=params)
        self.check_status_answer(exchange, scenario, mock=mock, seed=seed, payload=payload)
        return exchange

    def check_status_answer(self, exchange: Exchange, scenario: str, *, mock: str = "", seed: int | None = None,
                            payload: Any = None) -> list[Failure]:
        """Run the every-answer checks on one status answer and keep it for the across-calls checks."""
        context = Failure("", "", "", curl=exchange.curl(), mock=mock, seed=seed, payload=payload)
        failures: list[Failure] = []
        for func in STATUS_RESPONSE_CHECKS:
            if func is timestamp_is_current:
                failures += run_check(self.recorder, func, scenario, exchange, self.skew_s, context=context)
            else:
                failures += run_check(self.recorder, func, scenario, exchange, context=context)
        if exchange.status == 200 and isinstance(exchange.body, dict):
            self.history.append(exchange)
        return failures

    async def statuses(self, scenario: str, count: int, *, mock: str = "") -> list[Exchange]:
        """Send `count` status requests at once; return the exchanges in sending order."""
        return list(await asyncio.gather(*(self.status(scenario, mock=mock) for _ in range(count))))


def upstream_fields(body: Any) -> dict[str, Any]:
    """The three fields the upstreams decide: tmux, activeWorkers, telemetryStatus."""
    return {
        "tmux": field(body, "vector", "sessions", "tmux"),
        "activeWorkers": field(body, "vector", "sessions", "activeWorkers"),
        "telemetryStatus": field(body, "meta", "telemetryStatus"),
    }
