"""The dev profile's snapshot and security groups (managed mode).

dev-snapshot drives the worker mock's snapshot modes (each on its own worker id, as one worker's slot is
taken for 10 s) and compares bytes by sha256 with what the mock sent. dev-security sends every guarded
route of the spec (an operation with `security`) each refusal PROFILES.md names, judging DEV-NOSIDE on
tmux and the mock journal around each, then restarts the server for a token of an earlier start.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

from tes_contract.conformance.checks.dev import (
    host_refused,
    no_wildcard_cors,
    origin_refused,
    rate_limited,
    refusal_order,
    snapshot_answer_is,
    snapshot_delivered,
    snapshot_never_short,
    token_accepted,
    token_file_private,
    token_not_logged,
    token_refused,
)
from tes_contract.conformance.groups.base import GroupContext
from tes_contract.conformance.groups.dev import SESSIONS, TMUX_STATUS, auth, own_origin, read_token, refused, token_path
from tes_contract.conformance.model import Exchange
from tes_contract.contract.schemas import load_yaml_file, openapi_path
from tes_contract.mocks.snapshots import snapshot_digest

SNAPSHOT = "/api/dev/workers/{id}/snapshot"
SIZE = 256 * 1024
#: Ids the proxy must refuse with 400 before calling the worker (`.` and `..` are sent raw, below).
BAD_IDS = ("a%20b", "b@d", "x" * 129, "semi;colon", "%00")
#: Path parameters of the guarded routes: the session the refused kills and captures aim at, a worker.
FILLS = {"name": "conf-keep", "index": "0", "id": "worker-guard"}
#: Bodies that would pass validation, per operation (others get none).
BODIES = {"createTmuxSession": b'{"name": "conf-guard"}'}


@cache
def guarded_routes() -> tuple[tuple[str, str, bytes | None, str], ...]:
    """(METHOD, path, body, operationId) of every operation the spec guards (`security`), parameters filled."""
    spec = load_yaml_file(openapi_path())
    return tuple((method.upper(), path.format(**FILLS), BODIES.get(op["operationId"]), op["operationId"])
                 for path, item in spec["paths"].items() for method, op in item.items()
                 if isinstance(op, dict) and op.get("security"))

FOREIGN_HOSTS = ("evil.example", "127.0.0.1.evil.example", "localhost.evil")


def _path(worker: str) -> str:
    return SNAPSHOT.format(id=worker)


async def _snapshot(ctx: GroupContext, token: str, worker: str, **plan: Any) -> Exchange:
    assert ctx.mocks is not None
    if plan:
        await ctx.mocks.set("worker", "healthy", snapshot=plan)
    return await ctx.client.request("GET", _path(worker), headers=auth(token))


async def run_dev_snapshot(ctx: GroupContext) -> None:
    """Bytes equal the mock's; 0.8 x whole; 2 x and hang never a complete-looking 200; errors; 429."""
    if (await ctx.client.request("GET", "/api/dev/workers")).status == 404:
        return
    token = read_token(ctx)
    bound_ms = ctx.timeout_ms + ctx.slack_ms
    ok = await _snapshot(ctx, token, "w-whole", mode="healthy", size=SIZE)
    ctx.check(snapshot_delivered, ctx.scenario("healthy"), ok, "w-whole", snapshot_digest("w-whole", SIZE), SIZE,
              ok.text.encode())
    slow = await _snapshot(ctx, token, "w-slow", mode="slow_body", size=SIZE, duration="0.8x")
    ctx.check(snapshot_delivered, ctx.scenario("slow-0.8x"), slow, "w-slow", snapshot_digest("w-slow", SIZE), SIZE,
              slow.text.encode())
    for name, plan in (("slow-2x", {"mode": "slow_body", "size": SIZE, "duration": "2x"}),
                       ("hang", {"mode": "hang"})):
        late = await _snapshot(ctx, token, f"w-{name}", **plan)
        ctx.check(snapshot_never_short, ctx.scenario(name), late, SIZE, bound_ms)
    cut = await _snapshot(ctx, token, "w-reset", mode="reset", size=SIZE)  # a proxy that buffers sees it first
    ctx.check(snapshot_never_short, ctx.scenario("reset"), cut, SIZE, bound_ms, (502, 503, 504),
              "a body the worker cut by a reset")
    for name, mode, status in (("not-found", "not_found", 404), ("bad-request", "bad_request", 400)):
        answer = await _snapshot(ctx, token, f"w-{name}", mode=mode)
        ctx.check(snapshot_answer_is, ctx.scenario(name), answer, status, f"the worker's {status}")
    await _rate_limit(ctx, token)
    for worker in BAD_IDS:
        answer = await refused(ctx, ctx.scenario("bad-id"), "GET", _path(worker), auth(token))
        ctx.check(snapshot_answer_is, ctx.scenario("bad-id"), answer, 400, f"the id {worker!r}")
    for worker in ("%2E", "%2E%2E"):  # sent raw: a server whose router removes dot segments has no route (404)
        answer = await refused(ctx, ctx.scenario("bad-id"), "GET", _path(worker), auth(token), raw=True)
        ctx.check(snapshot_answer_is, ctx.scenario("bad-id"), answer, 400, f"the id {worker!r}", (404,))
    assert ctx.mocks is not None
    await ctx.mocks.set("worker", "down")
    down = await ctx.client.request("GET", _path("w-down"), headers=auth(token))
    ctx.check(snapshot_answer_is, ctx.scenario("down"), down, 503, "a worker API that refuses connections")
    await ctx.mocks.set("worker", "healthy")


async def _rate_limit(ctx: GroupContext, token: str) -> None:
    """The slot is taken whatever the worker answers (a 404 here); the second request calls nothing."""
    first = await _snapshot(ctx, token, "w-limit", mode="not_found")
    second = await refused(ctx, ctx.scenario("rate-limit"), "GET", _path("w-limit"), auth(token))
    other = await _snapshot(ctx, token, "w-other", mode="healthy", size=SIZE)
    ctx.check(rate_limited, ctx.scenario("rate-limit"), first, second, other)


def _token_variants(token: str) -> tuple[tuple[str, dict[str, str]], ...]:
    swapped = token.swapcase() if token.swapcase() != token else token + "A"
    return (("no Authorization", {}), ("a wrong token", auth("wrong-" + token[:8])),
            ("a prefix of the token", auth(token[:-1])), ("the token in another case", auth(swapped)),
            ("the token and one more character", auth(token + "x")), ("the Basic scheme", auth(token, "Basic")),
            ("the token without a scheme", {"Authorization": token}))


async def _auth_cases(ctx: GroupContext, token: str) -> None:
    # A session the refused kills and captures aim at: a refusal that still acted would show in tmux.
    keep = await ctx.client.request("POST", SESSIONS, headers=auth(token, "bearer"),
                                    data=json.dumps({"name": "conf-keep", "command": ["sleep", "600"]}).encode())
    ctx.check(token_accepted, ctx.scenario("auth-scheme"), keep, "`bearer` in lower case (RFC 7235)")
    for method, path, body, name in guarded_routes():
        for variant, headers in _token_variants(token):
            answer = await refused(ctx, ctx.scenario(f"auth-{name}"), method, path, headers, body)
            ctx.check(token_refused, ctx.scenario(f"auth-{name}"), answer, variant)


async def _origin_cases(ctx: GroupContext, token: str) -> None:
    own = own_origin(ctx)
    foreign = ("http://evil.example", "null", "http://127.0.0.1.evil.example", f"{own}.evil.example",
               f"{own}0", "http://127.0.0.1:1", own.replace("http:", "https:"))
    for method, path, body, name in guarded_routes():
        for origin in foreign:
            answer = await refused(ctx, ctx.scenario(f"origin-{name}"), method, path,
                                   {**auth(token), "Origin": origin}, body)
            ctx.check(origin_refused, ctx.scenario(f"origin-{name}"), answer, origin)
    upgrade = await ctx.client.request("GET", "/api/dev/status/ws", headers={
        "Origin": "http://evil.example", "Connection": "Upgrade", "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    if upgrade.status != 404:  # 404: no live profile, no upgrade to guard
        ctx.check(origin_refused, ctx.scenario("origin-upgrade"), upgrade, "http://evil.example (WebSocket)")


async def _host_cases(ctx: GroupContext, token: str) -> None:
    paths = ("/api/dev/status", TMUX_STATUS, "/api/dev/workers", "/nowhere", *(p for _, p, _, _ in guarded_routes()))
    for path in paths:
        for host in FOREIGN_HOSTS:
            answer = await refused(ctx, ctx.scenario("host"), "GET", path, {**auth(token), "Host": host})
            ctx.check(host_refused, ctx.scenario("host"), answer, host)
    post = await refused(ctx, ctx.scenario("host"), "POST", SESSIONS, {**auth(token), "Host": "evil.example"},
                         b'{"name": "conf-host"}')
    ctx.check(host_refused, ctx.scenario("host"), post, "evil.example")


async def _order_cases(ctx: GroupContext, token: str) -> None:
    """Requests breaking two rules at once get the earlier refusal, and none has a side effect."""
    big = b'{"name": "conf-big", "pad": "' + b"x" * (65 * 1024) + b'"}'
    cases: tuple[tuple[str, str, dict[str, str], bytes | None, int, str], ...] = (
        ("GET", "/nowhere", {"Host": "evil.example"}, None, 403, "Host before no route"),
        ("PUT", SESSIONS, {"Origin": "http://evil.example"}, None, 405, "method before Origin"),
        ("POST", SESSIONS, {"Origin": "http://evil.example"}, b'{"name": "x y"}', 403, "Origin before token"),
        ("POST", SESSIONS, {}, big, 401, "token before body size"),
        ("POST", SESSIONS, auth(token), big, 413, "body size (64 KiB) before validation"),
        ("GET", _path("b@d"), {}, None, 401, "token before id validation"))
    for method, path, headers, body, status, why in cases:
        answer = await refused(ctx, ctx.scenario("order"), method, path, headers, body)
        ctx.check(refusal_order, ctx.scenario("order"), answer, status, why)


def _token_file(ctx: GroupContext) -> tuple[int | None, str]:
    path = token_path(ctx)
    try:
        return (os.stat(path).st_mode & 0o777, read_token(ctx)) if path is not None else (None, "")
    except OSError:
        return None, ""


async def run_dev_security(ctx: GroupContext) -> None:
    """DEV-AUTH, DEV-ORIGIN, DEV-HOST and the refusal order on every guarded route; a restart's new token."""
    if (await ctx.client.request("GET", "/api/dev/workers")).status == 404:
        return
    mode, token = _token_file(ctx)
    ctx.check(token_file_private, ctx.scenario("token-file"), mode, token, None)
    await _auth_cases(ctx, token)
    await _origin_cases(ctx, token)
    await _host_cases(ctx, token)
    await _order_cases(ctx, token)
    assert ctx.server is not None
    ctx.check(token_not_logged, ctx.scenario("token-log"), ctx.server.log_tail(200), token)
    ctx.check(no_wildcard_cors, ctx.scenario("cors"), ctx.client.ledger)
    await ctx.server.stop()
    await ctx.server.start()
    mode, fresh = _token_file(ctx)
    ctx.check(token_file_private, ctx.scenario("restart"), mode, fresh, token)
    if fresh != token:
        stale = await refused(ctx, ctx.scenario("restart"), "POST", SESSIONS, auth(token), b'{"name": "conf-old"}')
        ctx.check(token_refused, ctx.scenario("restart"), stale, "the token of an earlier start")
