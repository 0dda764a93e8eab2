"""Checks of the metrics profile: the Prometheus exposition."""

from __future__ import annotations

from collections.abc import Iterator

from tes_contract.conformance.model import Exchange, Failure
from tes_contract.conformance.registry import check


@check("METRICS-EXPOSITION")
def metrics_parse_as_prometheus_text(ex: Exchange) -> Iterator[Failure]:
    """GET /api/dev/metrics answers Prometheus text format 0.0.4 that a Prometheus parser reads."""
    from prometheus_client.parser import text_string_to_metric_families

    content_type = ex.header("Content-Type") or ""
    if ex.status != 200 or not content_type.startswith("text/plain") or "version=0.0.4" not in content_type:
        yield Failure("METRICS-EXPOSITION", "200 with Content-Type: text/plain; version=0.0.4",
                      f"status {ex.status}, Content-Type {content_type!r}")
        return
    try:
        families = list(text_string_to_metric_families(ex.text))
    except Exception as exc:  # the parser raises ValueError and friends on any malformed line
        yield Failure("METRICS-EXPOSITION", "text a Prometheus parser reads", f"parse error: {exc}")
        return
    if not families:
        yield Failure("METRICS-EXPOSITION", "at least one metric family", "an empty exposition")


CHECKS = (metrics_parse_as_prometheus_text,)
