"""Traffic accounting on a fresh server: the harness knows every request it sent and how long each took."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tes_contract.conformance.model import Exchange, Failure
from tes_contract.conformance.registry import check
from tes_contract.contract.invariants import field
from tes_contract.contract.rules import traffic_mode_for

#: errorRate may be rounded by the server; a wrong count moves it far more than this.
RATE_TOLERANCE = 0.005


def expected_error_rate(prior: Sequence[Exchange]) -> float:
    """Responses >= 500 over all responses the server completed before the observation."""
    answered = [e for e in prior if e.status is not None]
    return sum(1 for e in answered if e.status is not None and e.status >= 500) / len(answered) if answered else 0.0


@check("STATUS-FIELD-ERRORRATE", "STATUS-FIELD-TRAFFICMODE")
def error_rate_counts_5xx(observation: Exchange, prior: Sequence[Exchange]) -> Iterator[Failure]:
    """errorRate is the share of 5xx among the responses completed; trafficMode follows it."""
    rate = field(observation.body, "vector", "others", "errorRate")
    expected = expected_error_rate(prior)
    counts = f"{sum(1 for e in prior if (e.status or 0) >= 500)} of {len(prior)} responses were 5xx"
    if not isinstance(rate, int | float) or isinstance(rate, bool) or abs(rate - expected) > RATE_TOLERANCE:
        yield Failure("STATUS-FIELD-ERRORRATE", f"errorRate {expected:.4f} ({counts})", f"errorRate {rate!r}",
                      curl=observation.curl())
    mode = field(observation.body, "vector", "directions", "trafficMode")
    if mode != traffic_mode_for(expected):
        yield Failure("STATUS-FIELD-TRAFFICMODE", f"trafficMode {traffic_mode_for(expected)!r} for errorRate "
                      f"{expected:.4f} (normal < 0.10 <= degraded <= 0.50 < isolated)", f"trafficMode {mode!r}",
                      curl=observation.curl())


@check("STATUS-FIELD-RPS")
def requests_per_second_counts_requests(observation: Exchange, prior: Sequence[Exchange]) -> Iterator[Failure]:
    """requestsPerSecond x min(60, reported uptime) is the number of requests completed."""
    rps = field(observation.body, "vector", "directions", "requestFlow", "requestsPerSecond")
    uptime = field(observation.body, "vector", "others", "uptime")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (rps, uptime)) or uptime <= 0:
        return  # the schema check reports missing or mistyped fields
    window = min(60.0, float(uptime))
    count = len([e for e in prior if e.status is not None])
    # The server may read its clock for the rate and for uptime at different moments, or count uptime from
    # exec rather than from listen: 8 % + half a request. Counting only some requests, per minute, or 0 is far off.
    if abs(float(rps) * window - count) > 0.5 + 0.08 * count:
        yield Failure("STATUS-FIELD-RPS", f"requestsPerSecond {count / window:.3f} ({count} requests completed, "
                      f"reported uptime {uptime})", f"requestsPerSecond {rps!r} (= {float(rps) * window:.1f} "
                      "requests over that window)", curl=observation.curl())


@check("STATUS-FIELD-LATENCY")
def avg_latency_in_milliseconds(observation: Exchange, prior: Sequence[Exchange], held_ms: float = 0.0
                                ) -> Iterator[Failure]:
    """avgLatency is the mean latency in ms of the completed requests (one slow request shows a unit error).

    `held_ms` is how long the server surely spent on the prior requests (an upstream answer it had to wait
    for): the floor of the mean. The harness's own measurements are the ceiling.
    """
    latency = field(observation.body, "vector", "directions", "requestFlow", "avgLatency")
    answered = [e for e in prior if e.status is not None]
    if not answered or not isinstance(latency, int | float) or isinstance(latency, bool):
        return
    measured = sum(e.elapsed_ms for e in answered) / len(answered)
    slowest = max(e.elapsed_ms for e in answered)
    # The server cannot see more than the harness measured (plus clock noise); the time it surely waited on
    # an upstream puts a floor under the mean that a value in seconds, or a hard-coded 0, cannot reach. (The
    # harness's own figures are inflated by its load, so they make a ceiling, never a floor.)
    low, high = 0.9 * held_ms / len(answered), measured * 1.1 + 5.0
    if not low <= float(latency) <= high:
        yield Failure("STATUS-FIELD-LATENCY", f"avgLatency {low:.1f}..{high:.1f} ms (harness measured a mean of "
                      f"{measured:.1f} ms over {len(answered)} requests, the slowest {slowest:.0f} ms)",
                      f"avgLatency {latency!r}", curl=observation.curl())


CHECKS = (error_rate_counts_5xx, requests_per_second_counts_requests, avg_latency_in_milliseconds)
