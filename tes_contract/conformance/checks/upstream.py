"""Checks of how the server treats its upstreams: fields per scenario, isolation, timeouts, fan-out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tes_contract.conformance.model import Exchange, Failure
from tes_contract.conformance.registry import check
from tes_contract.conformance.scenarios import expected_fields
from tes_contract.contract.invariants import document_problems, field
from tes_contract.contract.rules import RECOVERY_S

FIELD_CLAUSE = {"tmux": "STATUS-FIELD-TMUX", "activeWorkers": "STATUS-FIELD-WORKERS",
                "telemetryStatus": "STATUS-FIELD-TELEMETRY"}
UPSTREAM_FIELDS = {"tmux": ("tmux",), "worker": ("activeWorkers", "telemetryStatus")}


def upstream_fields(body: Any) -> dict[str, Any]:
    """The three fields of a status body the upstreams decide: tmux, activeWorkers, telemetryStatus."""
    return {
        "tmux": field(body, "vector", "sessions", "tmux"),
        "activeWorkers": field(body, "vector", "sessions", "activeWorkers"),
        "telemetryStatus": field(body, "meta", "telemetryStatus"),
    }


def _fields_text(fields: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in fields.items())


@check("STATUS-FIELD-TMUX", "STATUS-FIELD-WORKERS", "STATUS-FIELD-TELEMETRY", "UPSTREAM-TMUX-VALID",
       "UPSTREAM-WORKER-VALID")
def upstream_fields_match_contract(ex: Exchange, expected: Mapping[str, Any], also: Sequence[str] = ()
                                   ) -> Iterator[Failure]:
    """tmux, activeWorkers and telemetryStatus equal the contract's function of what the upstream did."""
    if ex.status != 200:
        return
    observed = upstream_fields(ex.body)
    wrong = {k: v for k, v in expected.items() if observed.get(k) != v}
    if wrong:
        for id in dict.fromkeys([*(FIELD_CLAUSE[k] for k in wrong), *also]):
            yield Failure(id, _fields_text({k: expected[k] for k in wrong}),
                          _fields_text({k: observed.get(k) for k in wrong}))


@check("TIMEOUT-COUNTED")
def answer_inside_timeout_counted(ex: Exchange, counted: Mapping[str, Any], delay: str) -> Iterator[Failure]:
    """An upstream answering inside the timeout shows as it does when healthy (the values it showed then)."""
    if ex.status != 200:
        return
    observed = upstream_fields(ex.body)
    if any(observed.get(k) != v for k, v in counted.items()):
        yield Failure("TIMEOUT-COUNTED", f"an answer after {delay} counted: " + _fields_text(counted),
                      _fields_text({k: observed.get(k) for k in counted}))


@check("UPSTREAM-ISOLATION")
def other_upstream_unchanged(ex: Exchange, baseline: Mapping[str, Any]) -> Iterator[Failure]:
    """One upstream's scenario leaves the other upstream's fields at their healthy values."""
    if ex.status != 200:
        return
    observed = upstream_fields(ex.body)
    wrong = {k: v for k, v in baseline.items() if observed.get(k) != v}
    if wrong:
        yield Failure("UPSTREAM-ISOLATION", "the other upstream's fields unchanged: " + _fields_text(
            {k: baseline[k] for k in wrong}), _fields_text({k: observed.get(k) for k in wrong}))


@check("TIMEOUT-BOUND")
def answer_within_timeout(ex: Exchange, timeout_ms: float, slack_ms: float, why: str) -> Iterator[Failure]:
    """With the upstreams stalling, the status answer still comes within the timeout plus slack."""
    bound = timeout_ms + slack_ms
    if ex.status is None or ex.elapsed_ms > bound:
        observed = f"answer after {ex.elapsed_ms:.0f} ms" if ex.status is not None else f"no answer ({ex.error})"
        yield Failure("TIMEOUT-BOUND", f"an answer within {timeout_ms:.0f} + {slack_ms:.0f} ms ({why})", observed)


@check("UPSTREAM-CONCURRENT")
def upstreams_called_concurrently(ex: Exchange, calls: Mapping[str, Sequence[Mapping[str, Any]]],
                                  timeout_ms: float, slack_ms: float) -> Iterator[Failure]:
    """Both hanging: both upstreams are called at once, and the answer takes about one timeout, not two."""
    if ex.status is not None and ex.elapsed_ms > timeout_ms + slack_ms:
        yield Failure("UPSTREAM-CONCURRENT", f"about one timeout ({timeout_ms:.0f} ms + {slack_ms:.0f} ms) with both "
                      "upstreams hanging", f"answer after {ex.elapsed_ms:.0f} ms (two timeouts in a row?)")
    arrivals = {name: min((c["arrived_at"] for c in entries), default=None) for name, entries in calls.items()}
    if None in arrivals.values():
        missing = [name for name, at in arrivals.items() if at is None]
        yield Failure("UPSTREAM-CONCURRENT", "both upstreams called for the status request",
                      f"no call to {', '.join(missing)} while the request was in flight")
        return
    gap_ms = abs(arrivals["tmux"] - arrivals["worker"]) * 1000  # type: ignore[operator]
    if gap_ms > timeout_ms / 2:
        yield Failure("UPSTREAM-CONCURRENT", "both upstream calls started together",
                      f"the second call started {gap_ms:.0f} ms after the first (one after the other)")


#: Mock scenarios that drop the connection before any answer: an HTTP client may resend an idempotent request
#: then (RFC 9110, 9.2.2; Go's net/http and aiohttp do on a reused connection), so those calls are not counted.
RETRYABLE_DROPS = frozenset({"reset", "empty"})


@check("UPSTREAM-ONCE")
def upstream_called_once_per_request(ledger: Sequence[Exchange], journals: Mapping[str, Sequence[Mapping[str, Any]]],
                                     status_path: str = "/api/dev/status") -> Iterator[Failure]:
    """Each status request alone in flight causes at most one call per upstream.

    Judged over all lone requests: a server that calls twice does so in (nearly) every one, while a call of
    its own now and then (a breaker's probe, a background refresh) may land inside a request's window.
    """
    statuses = [e for e in ledger if e.url.split("?")[0].endswith(status_path) and e.method == "GET"]
    lone = [ex for ex in statuses if not any(o is not ex and o.overlaps(ex) for o in ledger)]
    for name, entries in journals.items():
        counted = [c for c in entries if c.get("scenario") not in RETRYABLE_DROPS]
        excess = [(ex, n) for ex in lone
                  if (n := sum(1 for c in counted if ex.sent_at <= c["arrived_at"] <= ex.received_at)) > 1]
        if len(excess) >= 2 and len(excess) * 2 >= len(lone):
            ex, n = excess[0]
            yield Failure("UPSTREAM-ONCE", f"at most one {name} call per status request",
                          f"{len(excess)} of {len(lone)} lone status requests caused several {name} calls "
                          f"(e.g. {n})", curl=ex.curl())


@check("UPSTREAM-RECOVERY")
def recovered_within_5s(recovered_after_s: float | None, slack_ms: float, what: str) -> Iterator[Failure]:
    """After an upstream comes back, the status shows it within 5 s."""
    bound = RECOVERY_S + slack_ms / 1000
    if recovered_after_s is None or recovered_after_s > bound:
        observed = f"shown after {recovered_after_s:.1f} s" if recovered_after_s is not None else "never shown"
        yield Failure("UPSTREAM-RECOVERY", f"{what} shown within {RECOVERY_S:.0f} s (+ {slack_ms:.0f} ms slack)",
                      observed)


@check("TIMEOUT-DEFAULT")
def default_timeout_is_5s(ex: Exchange, expected: Mapping[str, Any], situation: str, low_ms: float,
                          high_ms: float) -> Iterator[Failure]:
    """TES_UPSTREAM_TIMEOUT_MS unset: an answer at 4 s is counted, a hang is cut by about 5 s."""
    observed = upstream_fields(ex.body) if ex.status == 200 else {}
    wrong = {k: v for k, v in expected.items() if observed.get(k) != v}
    if ex.status is None or not low_ms <= ex.elapsed_ms <= high_ms or wrong:
        timing = f"answer after {ex.elapsed_ms:.0f} ms" if ex.status is not None else f"no answer ({ex.error})"
        yield Failure("TIMEOUT-DEFAULT", f"{situation}: an answer within {low_ms:.0f}..{high_ms:.0f} ms showing "
                      + _fields_text(expected), timing + ("; " + _fields_text(observed) if wrong else ""))


@check("CONFIG-ENV")
def server_reads_environment(journals: Mapping[str, Sequence[Mapping[str, Any]]], requests: int) -> Iterator[Failure]:
    """The server called the upstreams at TES_TMUX_STATUS_URL and TES_WORKER_API_URL."""
    variables = {"tmux": "TES_TMUX_STATUS_URL", "worker": "TES_WORKER_API_URL"}
    for name, entries in journals.items():
        if requests and not entries:
            yield Failure("CONFIG-ENV", f"calls to the {name} upstream at {variables[name]}",
                          f"no call to the {name} mock after {requests} status requests")


@check("UPSTREAM-TMUX-VALID", "UPSTREAM-WORKER-VALID", "STATUS-FIELD-TMUX", "STATUS-FIELD-WORKERS",
       "STATUS-FIELD-TELEMETRY")
def fields_follow_payload(upstream: str, observed: dict[str, Any], status: int, payload: Any) -> Iterator[Failure]:
    """The server's fields equal the contract's function (rules) of the payload it was served."""
    expected = expected_fields(upstream, True, status, payload)
    wrong = {k: v for k, v in expected.items() if observed.get(k) != v}
    if wrong:
        clause = "UPSTREAM-TMUX-VALID" if upstream == "tmux" else "UPSTREAM-WORKER-VALID"
        for id in (clause, *(FIELD_CLAUSE[k] for k in wrong)):
            yield Failure(id, ", ".join(f"{k}={v!r}" for k, v in wrong.items())
                          + f" for a {status} answer with this payload",
                          ", ".join(f"{k}={observed.get(k)!r}" for k in wrong), payload=payload)


@check("UPSTREAM-TMUX-SHAPE", "UPSTREAM-WORKER-SHAPE")
def mock_answers_match_upstream_schema(upstream: str, body: Any) -> Iterator[Failure]:
    """The harness's own healthy upstream bodies follow the upstream API schemas (a self-check of the mocks)."""
    kind = "tmux-status" if upstream == "tmux" else "worker-status"
    clause = "UPSTREAM-TMUX-SHAPE" if upstream == "tmux" else "UPSTREAM-WORKER-SHAPE"
    for problem in document_problems(kind, body):
        yield Failure(clause, f"the mock's healthy body valid per schemas/{kind}.json", problem.message)


CHECKS = (
    upstream_fields_match_contract, answer_inside_timeout_counted, other_upstream_unchanged, answer_within_timeout,
    upstreams_called_concurrently, upstream_called_once_per_request, recovered_within_5s, default_timeout_is_5s,
    server_reads_environment, fields_follow_payload, mock_answers_match_upstream_schema,
)
