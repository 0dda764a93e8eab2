"""The run's event log (the HTML timeline) and the console view: in place on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from tes_contract.conformance.progress import LiveView, RunLog

EVENTS = [("progress", "http: starting mocks and server"), ("progress", "tmux: starting mocks and server"),
          ("progress", "http: running"), ("verdict", "http: STATUS-HTTP-1 passed"),
          ("failure", "STATUS-HTTP-2 [http/POST] expected 405; observed 404"),
          ("verdict", "http: STATUS-HTTP-2 failed"),
          ("verdict", "http: STATUS-HTTP-2 passed"), ("verdict", "http: STATUS-HTTP-3 passed"),
          ("progress", "http: done in 0.1 s"), ("progress", "tmux: running"),
          ("failure", "STATUS-FIELD-TMUX [tmux/healthy] expected 3; observed 6"), ("progress", "tmux: done in 0.2 s"),
          ("progress", "not a group line")]


def test_run_log_keeps_each_groups_span_and_the_failed_clauses():
    log = RunLog()
    for kind, text in EVENTS:
        log(kind, text)
    rows = log.timeline()
    assert [r["group"] for r in rows] == ["http", "tmux"]
    assert all(r["state"].startswith("done") and r["end_s"] >= r["start_s"] for r in rows)
    assert all(0 <= r["left_pct"] <= 100 and 0 < r["width_pct"] <= 100 for r in rows)
    assert log.failed_clauses == {"STATUS-HTTP-2": 1, "STATUS-FIELD-TMUX": 1}
    assert log.groups["tmux"].failures == 1  # the only group running then
    assert log.groups["http"].passed == {"STATUS-HTTP-1", "STATUS-HTTP-3"}  # a failed clause stays failed
    assert log.groups["http"].failed == {"STATUS-HTTP-2"}
    assert log.groups["tmux"].passed == set() and log.groups["tmux"].failed == set()
    assert len(log.events) == len([e for e in EVENTS if e[0] != "verdict"])


def test_not_a_terminal_gives_one_plain_line_per_event():
    out = io.StringIO()
    view = LiveView(out, RunLog())
    assert view.tty is False
    with view.shown():
        for kind, text in EVENTS:
            view(kind, text)
    lines = out.getvalue().splitlines()
    assert lines[0] == "  .. http: starting mocks and server"
    assert "FAIL STATUS-HTTP-2 [http/POST] expected 405; observed 404" in lines
    assert len(lines) == len([e for e in EVENTS if e[0] != "verdict"])  # verdicts are counted, not printed
    assert "\x1b[" not in out.getvalue()  # no escape codes in CI logs


def test_a_terminal_gets_one_line_per_group_and_the_clauses_failed_so_far():
    out = io.StringIO()
    view = LiveView(out, RunLog(), tty=True)
    with view.shown():
        for kind, text in EVENTS:
            view(kind, text)
    text = out.getvalue()
    assert "http" in text and "tmux" in text and "done in 0.2 s" in text
    assert "failed clauses so far: 2" in text and "STATUS-FIELD-TMUX x1" in text
    assert "2 passed, 1 failed" in text  # the http group's clause counts
    assert "FAIL STATUS-HTTP-2" not in text  # redrawn in place, not one line per event
