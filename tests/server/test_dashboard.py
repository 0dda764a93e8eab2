"""The dashboard's files over HTTP: served at `/` from package data, CSP and nosniff, ETag validators, no CDN.

What the page does in a browser is `test_dashboard_browser.py`; this is what any HTTP client sees.
"""

from __future__ import annotations

import re
from importlib import resources

from tes_contract.server.routes.dashboard import CONTENT_SECURITY_POLICY, load_assets

STATIC = resources.files("tes_contract.server").joinpath("static")
#: The issue's budget for HTML + JS + CSS, uncompressed.
PAGE_WEIGHT_LIMIT = 60 * 1024


async def test_the_page_and_its_files_carry_csp_nosniff_and_validators(start_server, tiny_upstream, http):
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url)
    async with http.get(f"{base}/") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        page = await response.text()
        headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-cache" and re.fullmatch(r'"[0-9a-f]{32}"', headers["ETag"])
    assert '<system-status data-polling-interval="5000">' in page
    # No inline script (the CSP would refuse it) and nothing from another origin (offline use).
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)

    for name in re.findall(r'(?:src|href)="/dashboard/([^"]+)"', page):
        async with http.get(f"{base}/dashboard/{name}") as response:
            assert response.status == 200, name
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            etag = response.headers["ETag"]
        async with http.get(f"{base}/dashboard/{name}", headers={"If-None-Match": etag}) as again:
            assert again.status == 304 and await again.read() == b"", name
            assert again.headers["ETag"] == etag


async def test_module_media_types_unknown_files_and_methods(start_server, tiny_upstream, http):
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url)
    async with http.get(f"{base}/dashboard/app.js") as response:
        assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    async with http.get(f"{base}/dashboard/dashboard.css") as response:
        assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    for path in ("/dashboard/..%2Fapp.py", "/dashboard/index.html", "/dashboard/nope.js"):
        async with http.get(f"{base}{path}") as response:
            assert response.status == 404, path
            assert (await response.json())["error"].startswith(("no dashboard file", "no endpoint"))
    async with http.post(f"{base}/") as response:
        assert response.status == 405 and response.headers["Allow"] == "GET, HEAD"
    async with http.get(f"{base}/", headers={"Host": "evil.example"}) as response:
        assert response.status == 403  # DEV-HOST holds for the page too (DNS rebinding)


async def test_the_api_is_not_stored_by_caches(start_server, tiny_upstream, http):
    base = await start_server(tmux_status_url=tiny_upstream.tmux_url, worker_api_url=tiny_upstream.url)
    for path in ("/api/dev/status", "/api/dev/workers", "/api/dev/tmux/status", "/no/such/path"):
        async with http.get(f"{base}{path}") as response:
            directives = {d.strip() for d in response.headers["Cache-Control"].split(",")}
            assert {"no-cache", "no-store"} <= directives, path


def test_every_static_file_is_served_and_the_page_fits_its_weight_budget():
    served = load_assets()
    on_disk = {entry.name for entry in STATIC.iterdir() if entry.is_file()}
    assert set(served) == on_disk  # no stray file the server would not serve (or a typo in a suffix)
    weight = sum(asset.body.__len__() for asset in served.values())
    assert weight <= PAGE_WEIGHT_LIMIT, f"page weight {weight} bytes > {PAGE_WEIGHT_LIMIT}"


def test_no_api_text_becomes_markup():
    """Nothing from an API ever becomes markup: the page's code has no HTML sink at all."""
    sinks = re.compile(r"\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval|Function)\b\s*[(=]")
    for entry in STATIC.iterdir():
        if entry.name.endswith(".js"):
            assert not sinks.findall(entry.read_text(encoding="utf-8")), entry.name
