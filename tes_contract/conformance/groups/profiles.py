"""The optional profiles: probe whether the server implements each, and the checks of those it does.

A profile whose entry point answers 404 is reported "not implemented", apart from failures. This issue
delivers `core`; `live`, `dev` and `metrics` plug in here with their first checks.
"""

from __future__ import annotations

import aiohttp

from tes_contract.conformance.checks.live import first_push_is_status
from tes_contract.conformance.checks.metrics import metrics_parse_as_prometheus_text
from tes_contract.conformance.groups.base import GroupContext
from tes_contract.contract.clauses import CLAUSES

#: The request whose 404 says a profile is not implemented.
PROBES = {"live": "/api/dev/status/ws", "dev": "/api/dev/workers", "metrics": "/api/dev/metrics",
          "history": "/api/dev/events"}


async def probe_profiles(ctx: GroupContext) -> dict[str, str]:
    """Return {profile: reason} for every requested optional profile the server does not implement."""
    missing: dict[str, str] = {}
    for profile in ctx.profiles:
        if profile not in PROBES:
            continue
        exchange = await ctx.client.request("GET", PROBES[profile])
        if exchange.status == 404:
            missing[profile] = f"GET {PROBES[profile]} answers 404"
            ctx.recorder.not_implemented(profile, missing[profile], [c.id for c in CLAUSES if c.profile == profile])
    return missing


async def _first_ws_message(url: str, timeout_s: float) -> tuple[str | None, str]:
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(
                ws_close=timeout_s)) as ws:
            message = await ws.receive(timeout=timeout_s)
            if message.type == aiohttp.WSMsgType.TEXT:
                return str(message.data), ""
            return None, f"first frame of type {message.type.name}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


async def run_profiles(ctx: GroupContext) -> None:
    """The first checks of live and metrics, where implemented (dev runs through schemathesis)."""
    missing = ctx.notes.get("not_implemented", {})
    if "metrics" in ctx.profiles and "metrics" not in missing:
        exchange = await ctx.client.request("GET", PROBES["metrics"])
        ctx.check(metrics_parse_as_prometheus_text, ctx.scenario("metrics"), exchange)
    if "live" in ctx.profiles and "live" not in missing:
        url = ctx.client.base_url.replace("http", "ws", 1) + PROBES["live"]
        message, error = await _first_ws_message(url, 5.0)
        ctx.check(first_push_is_status, ctx.scenario("websocket-connect"), message, error)
