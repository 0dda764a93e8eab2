"""`--report html:PATH`: a self-contained page with every clause, and nothing the server says becomes markup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from aiohttp import web

from tes_contract.conformance import ConformanceResult, Failure, Options, Outcome, arun_conformance
from tes_contract.conformance.progress import RunLog
from tes_contract.conformance.report_html import render_html
from tes_contract.contract.clauses import CLAUSES
from tests.servers.launch import command

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


class Page(HTMLParser):
    """The DOM as a flat list: every start tag with its attributes, and the text."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(document)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def all_text(self) -> str:
        return "".join(self.text)


def _assert_no_active_content(page: Page) -> None:
    assert page.named("script") == [] and page.named("img") == [] and page.named("iframe") == []
    handlers = [(tag, key) for tag, attrs in page.tags for key in attrs if key.startswith("on")]
    assert handlers == []
    remote = [attrs for tag, attrs in page.tags if tag in ("link", "script", "img") or "src" in attrs]
    assert remote == []  # self-contained: no CDN, nothing fetched


def test_untrusted_strings_are_text_never_markup():
    result = ConformanceResult("python hostile.py", ("core",), 7)
    failure = Failure("STATUS-HDR-3", expected="X-TES-Status-Version: 2.0", observed=HOSTILE + "</pre></dd>",
                      check="status_headers_match_contract", scenario=f"http/{HOSTILE}", curl=f"curl -si '{HOSTILE}'",
                      mock=HOSTILE, seed=7, payload={"connected": HOSTILE})
    result.outcomes[("STATUS-HDR-3", f"http/{HOSTILE}")] = Outcome("STATUS-HDR-3", f"http/{HOSTILE}", "failed",
                                                                   {"status_headers_match_contract"}, [failure])
    result.servers.append({"group": "http", "pid": 1, "url": "http://127.0.0.1:1", "output_tail": HOSTILE})
    page = Page(render_html(result, timeline=[{"group": HOSTILE, "start_s": 0, "running_s": 0, "end_s": 1,
                                               "state": HOSTILE, "left_pct": 0, "width_pct": 100}]))
    _assert_no_active_content(page)
    text = page.all_text()
    assert text.count(HOSTILE) >= 6  # observed, scenario, curl, mock, timeline, output: shown as text
    assert json.dumps(HOSTILE) in text  # the minimal failing payload, pretty-printed


def _hostile_app() -> web.Application:
    """A server whose every answer carries script payloads in its error bodies and headers."""
    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"error": HOSTILE, "path": request.path}, status=500,
                                 headers={"X-TES-Status-Version": "<script>v</script>"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


async def test_a_server_answering_script_payloads_cannot_inject_markup(tmp_path):
    runner = web.AppRunner(_hostile_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        log = RunLog()
        result = await arun_conformance(Options(url=f"http://127.0.0.1:{port}", groups=("http",), examples=3), log)
    finally:
        await runner.cleanup()
    assert result.exit_code == 1 and result.failures
    page = Page(render_html(result, timeline=log.timeline()))
    _assert_no_active_content(page)
    text = page.all_text()
    assert any(HOSTILE in f.observed or "<script>" in f.observed for f in result.failures)  # it did reach the page
    assert "<script>" in text  # as text
    assert [row["group"] for row in log.timeline()] == ["http"]


def test_conform_html_report_of_a_broken_node_server(tmp_path):
    report = tmp_path / "out" / "report.html"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tes_contract", "conform", "--server", command("node", "no_405"),
                           "--group", "http", "--examples", "5", "--report", f"html:{report}"], cwd=ROOT, env=env,
                          text=True, capture_output=True, timeout=180)
    assert done.returncode == 1, done.stdout + done.stderr
    document = report.read_text(encoding="utf-8")
    page = Page(document)
    _assert_no_active_content(page)
    rows = {attrs["data-clause"]: attrs for attrs in page.named("tr") if attrs.get("data-clause")}
    assert set(rows) == {c.id for c in CLAUSES if c.profile == "core"}  # every clause of the profile run
    failed_cells = [attrs for attrs in page.named("td") if "failed" in (attrs.get("class") or "")
                    and "STATUS-HTTP-2" in (attrs.get("title") or "")]
    assert failed_cells, "the matrix colours STATUS-HTTP-2 failed"
    failures = [attrs["data-clause"] for attrs in page.named("div") if attrs.get("class") == "failure"]
    assert "STATUS-HTTP-2" in failures
    text = page.all_text()
    assert "curl -si -X POST" in text and "listening http://127.0.0.1:" in text  # reproduction, server output
    assert "<style>" in document and "http" in [t for t in page.text if t.strip()]  # inline CSS; timeline row
