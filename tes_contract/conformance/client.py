"""The harness's HTTP client: transport and history. Every request becomes an Exchange; checks judge elsewhere."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from urllib.parse import urlencode

import aiohttp
import yarl

from tes_contract.conformance.model import NOT_JSON, Exchange, Recorder

STATUS_PATH = "/api/dev/status"
#: The most of one answer's body the harness reads: past it the answer counts as none (a server sending
#: 10 MB or an endless body is bounded by this, a slow one by the answer timeout).
MAX_BODY_BYTES = 8 * 1024 * 1024


class BodyTooLarge(aiohttp.ClientError):
    """An answer's body went past MAX_BODY_BYTES."""


class Client:
    """Talks to one server under test; keeps every request (`ledger`) and status answer (`history`)."""

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
                      timeout_s: float | None = None, headers: Mapping[str, str] | None = None,
                      data: bytes | None = None, raw: bool = False) -> Exchange:
        """Send one request (with `data` as its body); return the exchange (status None when no answer came in time).

        `raw`: send the path exactly as given (no dot-segment removal, no requoting), e.g. `%2E%2E`.
        """
        assert self._session is not None, "use the client as an async context manager"
        url = self.base_url + path
        if params:
            url += "?" + urlencode(dict(params))
        exchange = Exchange(method, url, sent_at=time.time(), received_at=0.0)
        self.recorder.count_exchange()
        timeout = aiohttp.ClientTimeout(total=timeout_s or self.answer_timeout_s)
        try:
            target = yarl.URL(url, encoded=True) if raw else url
            async with self._session.request(method, target, timeout=timeout, allow_redirects=False, data=data,
                                             headers=dict(headers or {}), skip_auto_headers=()) as response:
                content = await _read_bounded(response)
                exchange.status = response.status
                exchange.headers = list(response.headers.items())
                exchange.text = content.decode("utf-8", errors="replace")
        except TimeoutError:
            exchange.error = f"no answer within {timeout.total} s"
        except aiohttp.ClientError as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"[:300]
        exchange.received_at = time.time()
        if exchange.text:
            try:
                exchange.body = json.loads(exchange.text)
            except ValueError:
                exchange.body = NOT_JSON
        if exchange.status is not None:
            self.ledger.append(exchange)
        return exchange

    async def status(self, params: Mapping[str, str] | None = None) -> Exchange:
        """GET the status; a 200 with a JSON object is kept in `history`."""
        exchange = await self.request("GET", STATUS_PATH, params=params)
        self.keep(exchange)
        return exchange

    def keep(self, exchange: Exchange) -> None:
        """Keep a status answer (sent by this client or another) for the across-calls checks."""
        if exchange.status == 200 and isinstance(exchange.body, dict):
            self.history.append(exchange)


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes:
    """The whole body, or BodyTooLarge once it passes MAX_BODY_BYTES (the connection is dropped)."""
    body = bytearray()
    while chunk := await response.content.read(65536):
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            response.close()
            raise BodyTooLarge(f"status {response.status} with a body over the harness's read limit of "
                               f"{MAX_BODY_BYTES // (1024 * 1024)} MiB")
    return bytes(body)
