"""The reference server: `GET /api/dev/status` keeping every promise of contract v2.0, on aiohttp.

    settings -> upstreams (bounded calls, classification) -> breaker (single-flight, circuit breaker, Upstreams)
             -> snapshot (process metrics, routes, traffic window) -> routes/ (one module per feature) -> app
"""

from __future__ import annotations

from tes_contract.server.app import create_app
from tes_contract.server.breaker import CircuitBreaker, SingleFlight, Upstreams
from tes_contract.server.cli import serve
from tes_contract.server.settings import Settings
from tes_contract.server.traffic import TrafficWindow, traffic_mode
from tes_contract.server.upstreams import UpstreamAnswer, fetch_json, tmux_count, worker_fields
from tes_contract.server.websockets import WebSocketRegistry

__all__ = [
    "CircuitBreaker",
    "Settings",
    "SingleFlight",
    "TrafficWindow",
    "UpstreamAnswer",
    "Upstreams",
    "WebSocketRegistry",
    "create_app",
    "fetch_json",
    "serve",
    "tmux_count",
    "traffic_mode",
    "worker_fields",
]
