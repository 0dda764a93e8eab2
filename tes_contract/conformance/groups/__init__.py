"""The scenario groups of a run, each against a server process of its own (managed mode)."""

from __future__ import annotations

from tes_contract.conformance.groups.alerts import ALERTS_ENV, run_alerts
from tes_contract.conformance.groups.base import Group, GroupContext, finish_group
from tes_contract.conformance.groups.dev import run_dev_tmux
from tes_contract.conformance.groups.dev_security import run_dev_security, run_dev_snapshot
from tes_contract.conformance.groups.history import HISTORY_ENV, RETENTION_ENV, run_history, run_retention
from tes_contract.conformance.groups.http import run_http
from tes_contract.conformance.groups.live import CHANGE_ENV, LIVE_ENV, run_live, run_live_change
from tes_contract.conformance.groups.metrics import run_metrics
from tes_contract.conformance.groups.payloads import run_tmux_payloads, run_worker_payloads
from tes_contract.conformance.groups.profiles import probe_profiles, run_profiles
from tes_contract.conformance.groups.traffic import run_traffic
from tes_contract.conformance.groups.upstream import (
    run_default_timeout,
    run_recovery,
    run_timeout,
    run_tmux,
    run_worker,
)


async def run_surface(ctx: GroupContext) -> None:
    """Probe the optional profiles, then the HTTP surface with schemathesis, then the profiles' own checks."""
    ctx.notes["not_implemented"] = await probe_profiles(ctx)
    await run_http(ctx)
    await run_profiles(ctx)


#: Every group of the core run, longest first so the parallel run ends soonest. The tmux and worker groups
#: set TES_PRIMARY_REGION (to a value, and empty); the others leave it unset.
GROUPS: tuple[Group, ...] = (
    Group("default-timeout", run_default_timeout, timeout_ms=None, needs_default_timeout=True),
    Group("tmux", run_tmux, region="eu-west-2"),
    Group("worker", run_worker, region=""),
    Group("timeout", run_timeout),
    Group("recovery", run_recovery),
    Group("traffic", run_traffic, needs_fresh=True),
    Group("http", run_surface, needs_mocks=False, heavy=True, budget_per_example_s=2.0),
    Group("payloads-worker", run_worker_payloads, heavy=True, budget_per_example_s=2.0),
    Group("payloads-tmux", run_tmux_payloads, heavy=True, budget_per_example_s=2.0),
    Group("live", run_live, needs_fresh=True, profile="live", env=LIVE_ENV, controls_server=True),
    Group("live-change", run_live_change, needs_fresh=True, profile="live", env=CHANGE_ENV),
    Group("metrics", run_metrics, needs_fresh=True, profile="metrics"),
    Group("dev-tmux", run_dev_tmux, needs_fresh=True, profile="dev", env={"TES_TMUX_STATUS_URL": None}),
    Group("dev-snapshot", run_dev_snapshot, needs_fresh=True, profile="dev"),
    Group("dev-security", run_dev_security, needs_fresh=True, profile="dev", controls_server=True),
    Group("history", run_history, needs_fresh=True, profile="history", env=HISTORY_ENV, controls_server=True,
          budget_s=300.0),
    Group("history-retention", run_retention, needs_fresh=True, profile="history", env=RETENTION_ENV,
          controls_server=True),
    # The default upstream timeout (5 s): a webhook awaited inside a status answer then shows far past the
    # answers' bound (1 s + slack) while the webhook hangs.
    Group("alerts", run_alerts, timeout_ms=None, needs_fresh=True, profile="history", env=ALERTS_ENV,
          webhook=True),
)

__all__ = ["GROUPS", "Group", "GroupContext", "finish_group", "run_surface"]
