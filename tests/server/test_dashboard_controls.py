"""The dashboard's controls in a real headless Chromium: tmux sessions in real tmux, snapshot downloads.

Each action must show the server's real answer (201, 409, 204, 404, 429), never an assumed success.
Stack and browser: `dashboard_stack.py` (module-scoped, tmux on a private socket).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from .dashboard_stack import XSS

SNAPSHOT_SIZE = 200_000


def _outcome(page, status: str, timeout_ms: int = 5000) -> str:
    selector = f"tmux-control-panel .outcome[data-status='{status}']"
    page.wait_for_selector(selector, timeout=timeout_ms)
    return page.locator(selector).text_content()


def test_start_duplicate_capture_attach_and_stop_in_real_tmux(open_page, stack):
    page = open_page()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.fill("#tmux-name", "bad name!")
    page.click("tmux-control-panel button[type=submit]")
    assert _outcome(page, "invalid") == "Not sent: session name only letters, digits, '_', '.' and '-'."
    assert posts == []  # refused in the form, before any request

    page.fill("#tmux-name", "dash-ui")
    page.fill("#tmux-command", "cat")
    page.click("tmux-control-panel button[type=submit]")
    assert _outcome(page, "201") == "Start dash-ui: started (201)"
    assert "dash-ui" in stack.tmux_sessions()  # real tmux has it
    page.wait_for_selector("tmux-control-panel .session[data-session='dash-ui']", timeout=3000)

    page.click("tmux-control-panel button[type=submit]")  # the same name again
    assert _outcome(page, "409").startswith("Start dash-ui failed: 409: ")

    stack.tmux("send-keys", "-t", "=dash-ui:", "hello-pane", "Enter")
    time.sleep(0.3)
    row = page.locator("tmux-control-panel .session[data-session='dash-ui']")
    row.locator("button[data-action=capture]").first.click()
    assert _outcome(page, "200") == "Capture dash-ui pane 0: 200, shown below"
    assert "hello-pane" in page.locator("tmux-control-panel pre.capture").text_content()

    row.locator("button[data-action=attach]").click()
    assert page.locator("tmux-control-panel .attach code").text_content() == "tmux attach -t dash-ui"

    row.locator("button[data-action=stop]").click()
    assert _outcome(page, "204") == "Stop dash-ui: stopped (204)"
    assert "dash-ui" not in stack.tmux_sessions()
    page.wait_for_selector("tmux-control-panel .session[data-session='dash-ui']", state="detached", timeout=3000)


def test_stop_of_a_session_that_is_already_gone_shows_the_404(open_page, stack):
    stack.tmux("new-session", "-d", "-s", "dash-gone", "cat")
    page = open_page()
    page.wait_for_selector("tmux-control-panel .session[data-session='dash-gone']", timeout=5000)
    stack.tmux("kill-session", "-t", "=dash-gone")  # behind the page's back, before its next refresh
    page.locator("tmux-control-panel .session[data-session='dash-gone'] button[data-action=stop]").click()
    assert _outcome(page, "404").startswith("Stop dash-gone failed: 404: ")


def test_without_a_token_the_controls_are_locked(open_page):
    page = open_page(token=False)
    page.wait_for_selector("worker-snapshot-panel tbody tr", timeout=5000)
    for panel in ("tmux-control-panel", "worker-snapshot-panel"):
        assert "no dev token" in page.locator(f"{panel} .lock-notice").text_content()
        disabled = page.eval_on_selector_all(f"{panel} [data-needs-token]", "cs => cs.map(c => c.disabled)")
        assert disabled and all(disabled), panel


def test_snapshot_download_equals_the_mock_and_a_second_click_counts_down_the_429(open_page, stack):
    stack.set_worker("healthy", snapshot={"mode": "healthy", "size": SNAPSHOT_SIZE})
    try:
        expected = httpx.get(f"{stack.worker_url}/workers/worker-2/snapshot", timeout=10).content
        assert len(expected) == SNAPSHOT_SIZE
        page = open_page()
        button = page.locator("worker-snapshot-panel button[data-worker='worker-2']")
        button.wait_for(timeout=5000)
        with page.expect_download(timeout=10000) as download:
            button.click()
        assert download.value.suggested_filename == "worker-worker-2-snapshot.json"
        assert Path(download.value.path()).read_bytes() == expected
        answer = page.locator("worker-snapshot-panel .outcome")
        assert answer.text_content() == f"Snapshot of worker-2: downloaded {SNAPSHOT_SIZE} bytes"

        page.wait_for_function("() => !document.querySelector(\"worker-snapshot-panel button[data-worker='worker-2']\")"
                               ".disabled", timeout=3000)
        button.click()
        page.wait_for_selector("worker-snapshot-panel .outcome[data-status='429']", timeout=5000)
        first = int(re.fullmatch(r"Snapshot of worker-2: 429 rate limited, retry in (\d+) s", answer.text_content())[1])
        assert 1 <= first <= 10
        assert button.is_disabled()
        if first > 2:  # it counts down, a second a step
            page.wait_for_function(f"() => document.querySelector('worker-snapshot-panel .outcome').textContent"
                                   f".includes('retry in {first - 1} s')", timeout=2500)
    finally:
        stack.set_worker("healthy")


def test_pane_text_with_markup_renders_as_text(open_page, stack):
    stack.tmux("new-session", "-d", "-s", "dash-xss", f"printf '%s\\n' '{XSS}'; exec cat")
    try:
        page = open_page()
        row = page.locator("tmux-control-panel .session[data-session='dash-xss']")
        row.wait_for(timeout=5000)
        row.locator("button[data-action=capture]").first.click()
        page.wait_for_selector("tmux-control-panel .outcome[data-status='200']", timeout=5000)
        assert XSS in page.locator("tmux-control-panel pre.capture").text_content()
        time.sleep(0.3)
        assert page.dialogs == [] and page.evaluate("() => window.__xss") is None
        assert page.evaluate("() => document.querySelectorAll('img').length") == 0
    finally:
        stack.tmux("kill-session", "-t", "=dash-xss")


def test_a_session_can_be_started_and_stopped_by_keyboard_alone(open_page, stack):
    page = open_page()
    page.focus("#tmux-name")
    page.keyboard.type("dash-kb")
    page.keyboard.press("Tab")
    page.keyboard.type("cat")
    page.keyboard.press("Enter")  # submits the form
    assert _outcome(page, "201") == "Start dash-kb: started (201)"
    stop = page.locator("tmux-control-panel .session[data-session='dash-kb'] button[data-action=stop]")
    stop.wait_for(timeout=3000)
    stop.focus()
    page.keyboard.press("Enter")
    assert _outcome(page, "204") == "Stop dash-kb: stopped (204)"
    assert "dash-kb" not in stack.tmux_sessions()


def test_a_token_of_an_earlier_start_gets_the_401_and_locks_the_controls(open_page, stack):
    page = open_page()
    stack.restart_server()  # a new token; the page still holds the old one
    page.fill("#tmux-name", "dash-401")
    page.click("tmux-control-panel button[type=submit]")
    assert _outcome(page, "401", timeout_ms=10000).startswith("Start dash-401 failed: 401: missing or wrong dev token")
    assert "dash-401" not in stack.tmux_sessions()  # refused before any side effect
    notice = page.locator("tmux-control-panel .lock-notice")
    assert notice.is_visible() and "refused the dev token" in notice.text_content()
    assert page.locator("tmux-control-panel button[type=submit]").is_disabled()
    assert page.evaluate("() => sessionStorage.getItem('tes-dev-token')") is None
