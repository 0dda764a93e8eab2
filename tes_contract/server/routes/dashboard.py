"""The dashboard at `/`: static HTML, ES modules and CSS from the package's `server/static/` folder.

No build step and nothing from a CDN: the files are read once at start, each answered with a strong
ETag (`If-None-Match` gets a 304) and `Cache-Control: no-cache` (a browser keeps them and revalidates),
`X-Content-Type-Options: nosniff` and a Content-Security-Policy that allows this origin's scripts,
styles and sockets only, with no inline script. The API's JSON answers are `no-store` (`http.py`).
"""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import NamedTuple

from aiohttp import hdrs, web

from tes_contract.server.http import add_endpoint, error_response

DASHBOARD_PATH = "/"
ASSET_PATH = "/dashboard/{name}"
#: The folder of the page's files, inside the package (so a wheel carries it).
STATIC_PACKAGE = "tes_contract.server"
STATIC_FOLDER = "static"
INDEX = "index.html"

#: No inline script or style, nothing from elsewhere; `connect-src 'self'` covers the same-origin
#: WebSocket (CSP 3), `blob:` the snapshot download link, `frame-ancestors 'none'` clickjacking.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


class Asset(NamedTuple):
    """One file of the page: its bytes, media type and strong ETag."""

    body: bytes
    content_type: str
    etag: str


def load_assets() -> dict[str, Asset]:
    """Every file of the static folder with a known media type, by name (read once at start)."""
    folder = resources.files(STATIC_PACKAGE).joinpath(STATIC_FOLDER)
    assets: dict[str, Asset] = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in CONTENT_TYPES:
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            assets[entry.name] = Asset(body, CONTENT_TYPES[suffix], etag)
    return assets


def _etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: `If-None-Match` is `*` or a list of tags compared weakly."""
    if header is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def answer_asset(request: web.Request, asset: Asset) -> web.Response:
    """200 with the file, or 304 when the browser's copy is current; the security headers on both."""
    headers = {hdrs.ETAG: asset.etag, hdrs.CACHE_CONTROL: "no-cache", "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": CONTENT_SECURITY_POLICY, "Referrer-Policy": "no-referrer",
               "Cross-Origin-Opener-Policy": "same-origin"}
    if _etag_matches(request.headers.get(hdrs.IF_NONE_MATCH), asset.etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=asset.body, headers={**headers, hdrs.CONTENT_TYPE: asset.content_type})


def setup(app: web.Application) -> None:
    """Register `/` (the page) and `/dashboard/{name}` (its modules and style sheet)."""
    assets = load_assets()
    index = assets.pop(INDEX)

    async def page(request: web.Request) -> web.StreamResponse:
        return answer_asset(request, index)

    async def asset(request: web.Request) -> web.StreamResponse:
        found = assets.get(request.match_info["name"])
        if found is None:
            return error_response(404, f"no dashboard file {request.match_info['name']!r}",
                                  f"files: {', '.join(sorted(assets))}")
        return answer_asset(request, found)

    add_endpoint(app, DASHBOARD_PATH, page)
    add_endpoint(app, ASSET_PATH, asset)
