"""The dashboard in a real headless Chromium (Debian's, driven by playwright-python) against a real stack.

One module-scoped stack (mock upstreams, the reference server pushing every 500 ms, tmux on a private
socket) and one browser. Time bounds carry a tolerance for a busy 2-core CI machine, stated at each.
Chromium missing: the tests fail when CI=true, else skip.
"""

from __future__ import annotations

import json
import os
import re
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from .dashboard_stack import ROOT, XSS

IMG = ROOT / "docs" / "img"
#: Set to 1 to write the screenshots into docs/img/ (the README's); otherwise they go to the test's tmp_path,
#: so a test run never leaves changed pictures in a work tree (every run's differ: times, memory).
UPDATE_SCREENSHOTS = "TES_UPDATE_SCREENSHOTS"
#: Tolerance on the page's time bounds: CI's two cores run the server, the mocks and Chromium at once.
SLACK_S = 1.0


# The page's units, written again here from the issue (ms, MB, %, uptime as d h m): an independent oracle.
def _fixed(value: float, digits: int) -> str:
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if digits else text


def _uptime(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    return f"{d}d {h}h {m}m" if d else f"{h}h {m}m" if h else f"{m}m"


UNITS = {
    "count": lambda v: f"{v:,}", "text": str, "mode": str, "ms": lambda v: f"{_fixed(v, 1)} ms",
    "perSecond": lambda v: f"{_fixed(v, 2)} /s", "percent": lambda v: f"{_fixed(v * 100, 1)} %",
    "megabytes": lambda v: f"{_fixed(v / 1048576, 1)} MB", "cpu": lambda v: f"{_fixed(v, 0)} ms",
    "uptime": _uptime,
}
READ_CARDS = """() => {
  const root = document.querySelector('system-status');
  const fields = {};
  for (const node of root.querySelectorAll('[data-field]')) {
    fields[node.dataset.field] = [node.textContent, node.dataset.unit];
  }
  return {timestamp: root.dataset.timestamp, source: root.dataset.source, fields};
}"""


def _pick(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def test_every_card_equals_the_pushed_answer_it_shows(open_page, stack):
    frames: list[dict[str, Any]] = []
    page = open_page(wait=False)


    def watch(ws: Any) -> None:
        ws.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", watch)
    page.reload()  # the listener sees the socket of this load from its handshake on
    page.wait_for_function("() => document.querySelector('system-status')?.dataset.source === 'push'", timeout=5000)
    time.sleep(1.2)  # a few more pushes, so the cards are read mid-stream
    shown = page.evaluate(READ_CARDS)
    by_time = {frame["data"]["timestamp"]: frame["data"] for frame in frames if frame.get("type") == "status"}
    assert shown["timestamp"] in by_time, "the page shows a status no frame carried"
    document = by_time[shown["timestamp"]]
    assert len(shown["fields"]) == 20
    for path, (text, unit) in shown["fields"].items():
        value = _pick(document, path)
        assert text == ("—" if value is None else UNITS[unit](value)), path
    assert shown["fields"]["vector.directions.primaryRegion"][0] == "us-east-1"
    assert shown["fields"]["vector.sessions.websocketSubscribers"][0] == "—"  # absent, not 0
    assert page.locator("system-status .badge").text_content() == "Live"


def test_worker_down_shows_offline_by_push_within_1_s(open_page, stack):
    page = open_page()
    page.wait_for_function("() => document.querySelector('system-status').dataset.source === 'push'", timeout=5000)
    telemetry = page.locator('[data-field="meta.telemetryStatus"]')
    assert telemetry.text_content() == "healthy"
    try:
        flipped = time.monotonic()
        stack.set_worker("down")
        page.wait_for_function("() => document.querySelector('[data-field=\"meta.telemetryStatus\"]').textContent"
                               " === 'offline'", timeout=5000, polling=20)
        elapsed = time.monotonic() - flipped
        assert page.locator("system-status").get_attribute("data-source") == "push"
        # Push interval 500 ms: the next tick sees the refused worker. Bound: 1 s + SLACK_S.
        assert elapsed <= 1.0 + SLACK_S, f"offline shown {elapsed:.2f} s after the flip"
        assert telemetry.get_attribute("class") == "sev sev-bad"
        assert page.locator('[data-role="announcer"]').text_content() == "Telemetry changed from healthy to offline"
        # The history event arrives by push too and opens an ongoing spell in the timeline.
        page.wait_for_selector("status-history .timeline li.sev-bad:has-text('offline')", timeout=3000)
        print(f"\noffline shown {elapsed * 1000:.0f} ms after the worker mock went down")
    finally:
        stack.set_worker("healthy")
    page.wait_for_function("() => document.querySelector('[data-field=\"meta.telemetryStatus\"]').textContent"
                           " === 'healthy'", timeout=5000)
    page.wait_for_selector("status-history .timeline li.sev-ok:has-text('recovered after')", timeout=3000)
    newest, offline = page.locator("status-history .timeline li").all()[:2]
    assert re.search(r"offline → healthy recovered after \d+s$", newest.text_content())
    assert re.search(r"healthy → offline lasted \d+s$", offline.text_content())


def test_blocked_websocket_falls_back_to_polling_and_still_updates(browser, stack):
    context = browser.new_context()
    try:
        page = context.new_page()
        # The socket is refused before it reaches the server (a proxy that drops upgrades, say).
        page.route_web_socket(re.compile(r".*/api/dev/status/ws$"), lambda ws: ws.close(code=1011))
        page.goto(f"{stack.url}/")
        page.evaluate("document.querySelector('system-status').setAttribute('data-polling-interval', '1000')")
        page.wait_for_function("() => document.querySelector('system-status .badge').textContent === 'Polling'",
                               timeout=5000)
        first = page.locator("system-status").get_attribute("data-timestamp")
        page.wait_for_function(f"() => document.querySelector('system-status').dataset.timestamp !== {first!r}",
                               timeout=1000 * (2 + SLACK_S))  # next poll within one 1 s interval
        assert page.locator("system-status").get_attribute("data-source") == "poll"
        assert page.locator("system-status .badge").text_content() == "Polling"
    finally:
        context.close()


def test_polling_interval_is_validated(open_page):
    page = open_page(token=False)
    intervals = page.evaluate("""async () => {
      const { pollingInterval } = await import('/dashboard/system-status.js');
      return [null, '', 'abc', '2.5', '-3', '10', '999', '1000', '5000', ' 7000 '].map(pollingInterval);
    }""")
    assert intervals == [5000, 5000, 5000, 5000, 5000, 1000, 1000, 1000, 5000, 7000]


def test_page_functions_on_known_inputs(open_page):
    """The page's own helpers, imported in the browser: units, 0 vs missing, slices and gaps, spells."""
    page = open_page(token=False)
    got = page.evaluate("""async () => {
      const dom = await import('/dashboard/dom.js');
      const history = await import('/dashboard/status-history.js');
      const tmux = await import('/dashboard/tmux-panel.js');
      const workers = await import('/dashboard/worker-panel.js');
      const at = (s) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
      const point = (s, trafficMode, telemetryStatus, avgLatency) =>
        ({timestamp: at(s), trafficMode, telemetryStatus, avgLatency, errorRate: 0});
      const since = Date.parse(at(0));
      const slices = history.segments([point(0, 'normal', 'healthy', 2), point(1, 'degraded', 'healthy', 4),
                                       point(119, 'normal', 'offline', 9)], since, since + 120000);
      const events = [{id: 1, kind: 'telemetryStatus', timestamp: at(0), from: 'healthy', to: 'offline'},
                      {id: 2, kind: 'trafficMode', timestamp: at(5), from: 'normal', to: 'degraded'},
                      {id: 3, kind: 'telemetryStatus', timestamp: at(30), from: 'offline', to: 'healthy'}];
      const spells = history.spells(events, since + 100000);
      return {
        formats: [dom.format(0, 'count'), dom.format(undefined, 'count'), dom.format(null, 'ms'), dom.format(0, 'ms'),
                  dom.format(0, 'percent'), dom.format(NaN, 'megabytes'), dom.format(1536 * 1024, 'megabytes'),
                  dom.format(90061, 'uptime'), dom.format('', 'text'), dom.format(1234567, 'count')],
        slices: [slices.length, slices[0].count, slices[0].worst, slices[0].latency, slices[1].count,
                 slices[59].worst],
        spells: spells.map((s) => [s.event.id, s.ongoing, s.recovery, Math.round(s.lasted / 1000),
                                   s.after === null ? null : Math.round(s.after / 1000)]),
        names: [tmux.nameProblem(''), tmux.nameProblem('ok-1.x_y'), tmux.nameProblem('a b'),
                tmux.nameProblem('x'.repeat(65))],
        files: [workers.snapshotName('attachment; filename="worker-w-1-snapshot.json"', 'w-1'),
                workers.snapshotName(null, 'w-2'), workers.snapshotName('attachment; filename="../../x y"', 'w')],
      };
    }""")
    assert got["formats"] == ["0", "—", "—", "0 ms", "0 %", "—", "1.5 MB", "1d 1h 1m", "", "1,234,567"]
    # 2 s slices: the points of seconds 0 and 1 fall in slice 0 (worst: degraded, mean latency 3); slice 1 is
    # a gap; second 119 is in the last slice.
    assert got["slices"] == [60, 2, "warn", 3, 0, "bad"]
    assert got["spells"] == [[3, True, True, 70, 30], [2, True, False, 95, None], [1, False, False, 30, None]]
    assert got["names"][0] and got["names"][1] == "" and got["names"][2] and got["names"][3]
    assert got["files"] == ["worker-w-1-snapshot.json", "worker-w-2-snapshot.json", ".._.._x_y"]


def test_token_is_kept_in_session_storage_and_stripped_from_the_address(open_page, stack):
    page = open_page()
    assert "#token" not in page.url and stack.token not in page.url
    assert page.evaluate("sessionStorage.getItem('tes-dev-token')") == stack.token
    assert page.locator("tmux-control-panel .lock-notice").is_hidden()
    locked = open_page(token=False)
    notice = locked.locator("tmux-control-panel .lock-notice")
    assert notice.is_visible() and "no dev token" in notice.text_content()
    assert locked.locator("tmux-control-panel button[type=submit]").is_disabled()
    assert locked.locator("worker-snapshot-panel .lock-notice").is_visible()


def test_history_bar_sparklines_and_keyboard(open_page, stack):
    page = open_page()
    page.wait_for_selector("status-history .history-bar rect", timeout=5000)
    levels = page.eval_on_selector_all("status-history .history-bar rect", "rs => rs.map(r => r.dataset.level)")
    assert len(levels) == 60
    assert levels[-1] in {"ok", "warn", "bad"}  # the server's points of the last minute
    assert "none" in levels[:-2]  # the server is seconds old: most of the hour is "no data", not healthy
    assert page.locator("status-history [data-series=latency] figcaption").text_content().startswith("average latency")
    page.focus("status-history button[data-range='24h']")
    page.keyboard.press("Enter")
    assert page.locator("status-history button[data-range='24h']").get_attribute("aria-pressed") == "true"


@pytest.mark.parametrize("name, options", [
    ("light", {"color_scheme": "light", "viewport": {"width": 1280, "height": 900}}),
    ("dark", {"color_scheme": "dark", "viewport": {"width": 1280, "height": 900}}),
    ("narrow", {"color_scheme": "light", "viewport": {"width": 360, "height": 800}}),
])
def test_screenshots_for_the_readme(open_page, stack, tmp_path, name, options):
    if not stack.tmux_sessions():
        stack.tmux("new-session", "-d", "-s", "build", "-n", "server", "sleep 600")
        stack.tmux("split-window", "-t", "build", "sleep 600")
    page = open_page(**options)
    page.wait_for_selector("tmux-control-panel .session", timeout=5000)
    page.wait_for_selector("worker-snapshot-panel tbody tr", timeout=5000)
    page.wait_for_selector("status-history .history-bar rect", timeout=5000)
    # Usable at 360 px: nothing wider than the screen (no sideways scrolling of the page).
    assert page.evaluate("document.documentElement.scrollWidth") <= options["viewport"]["width"]
    folder = IMG if os.environ.get(UPDATE_SCREENSHOTS) == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / f"dashboard-{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    width = int.from_bytes(shot.read_bytes()[16:20], "big")  # the PNG's IHDR: the page's own width
    assert width == options["viewport"]["width"]


def test_api_text_with_markup_renders_as_text(open_page, browser, stack):
    worker = {"id": XSS, "status": "idle", "lastSeen": "2026-01-01T00:00:00Z", "queueDepth": 0, "messagesProcessed": 0}
    workers = {"connected": 1, "workers": [worker]}
    made = stack.tmux("new-session", "-d", "-s", XSS, f"printf '%s\\n' '{XSS}'; sleep 120")
    assert made.returncode == 0, made.stderr
    stack.restart_server(TES_PRIMARY_REGION=XSS)
    try:
        # The reference server refuses that worker id (schema pattern: 502); a proxy in between lets it through.
        page = open_page(wait=False)
        page.route(re.compile(r".*/api/dev/workers$"), lambda route: route.fulfill(json=workers))
        page.reload()
        page.wait_for_selector("worker-snapshot-panel tbody tr", timeout=5000)
        page.wait_for_selector("tmux-control-panel .session", timeout=5000)
        assert page.locator("worker-snapshot-panel tbody tr code").first.text_content() == XSS
        names = page.eval_on_selector_all("tmux-control-panel .session h3", "hs => hs.map(h => h.textContent)")
        assert any("<img src=x onerror=" in name for name in names), names  # tmux keeps the name (':' '.' aside)
        assert page.locator('[data-field="vector.directions.primaryRegion"]').text_content() == XSS
        time.sleep(0.5)  # an onerror would have run by now
        assert page.dialogs == []
        assert page.evaluate("() => window.__xss") is None
        assert page.evaluate("() => document.querySelectorAll('img').length") == 0  # no element was injected
        assert page.evaluate("() => document.querySelectorAll('script').length") == 1  # the page's own module
    finally:
        stack.tmux("kill-server")
        stack.extra_env.pop("TES_PRIMARY_REGION")
        stack.restart_server()


def test_worker_api_down_and_bad_answers_are_shown_as_such(open_page, stack):
    try:
        stack.set_worker("down")
        page = open_page()
        state = page.locator("worker-snapshot-panel p[data-state]")
        page.wait_for_selector("worker-snapshot-panel p[data-state=down]", timeout=5000)
        assert state.text_content().startswith("Worker API down: 503: worker API unreachable")
        assert page.locator("worker-snapshot-panel a[href='#tmux']").count() == 1
        stack.set_worker("fixed", body={"connected": 1, "workers": [{"id": XSS}]})
        page.wait_for_selector("worker-snapshot-panel p[data-state=failed]", timeout=8000)
        assert state.text_content().startswith("Worker API answered badly: 502")
    finally:
        stack.set_worker("healthy")


def test_server_stopped_shows_stale_within_2_intervals(open_page, stack):
    page = open_page()
    page.evaluate("document.querySelector('system-status').setAttribute('data-polling-interval', '1000')")
    stopped = time.monotonic()
    stack.stop_server()
    try:
        page.wait_for_function("() => document.querySelector('system-status .badge').textContent === 'Stale'",
                               timeout=1000 * (2 + SLACK_S + 2), polling=50)
        elapsed = time.monotonic() - stopped
        # Stale once data is older than 2 intervals (2 s): the last push came at most 0.5 s before the stop.
        assert elapsed <= 2.0 + SLACK_S, f"Stale after {elapsed:.2f} s"
        assert "is-stale" in page.locator("system-status .cards").get_attribute("class")
        assert re.fullmatch(r"data \d+s ago", page.locator("system-status .age").text_content())
    finally:
        stack.extra_env["TES_PORT"] = stack.url.rsplit(":", 1)[1]  # the same address for any test after this one
        stack.start_server()
    # It reconnects by itself: attempts 1, 2, 4, 8 s apart (+-25 % jitter) since the close, so one falls
    # within 10 s of the server's return however long the restart took (< 10 s); bound 10 s + 2 x SLACK_S.
    page.wait_for_function("() => document.querySelector('system-status .badge').textContent === 'Live'",
                           timeout=1000 * (10 + 2 * SLACK_S))
    assert page.locator("system-status .cards").get_attribute("class") == "cards"
