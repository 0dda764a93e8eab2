"""Mock upstreams: tmux-status and worker-telemetry servers on real sockets that fail on purpose.

`MockUpstreams` runs both mocks and the control API in this process; `MockControl` drives mocks running
elsewhere (`tes-contract mock`). Socket mocks only: the aioresponses helpers for unit tests of aiohttp
client code live apart, in `tes_contract.mocks.aioresponses_helpers`.
"""

from __future__ import annotations

from tes_contract.errors import MockControlError, ScenarioError
from tes_contract.mocks.api import MockApi
from tes_contract.mocks.bodies import Answer, answer_for
from tes_contract.mocks.control import MockControl
from tes_contract.mocks.control_app import create_control_app
from tes_contract.mocks.journal import Journal
from tes_contract.mocks.scenarios import INVALID_VARIANTS, SCENARIOS, UPSTREAMS, Delay, Scenario, parse_scenario
from tes_contract.mocks.server import MockSettings, UpstreamMock
from tes_contract.mocks.timeline import Phase, Timeline, TimelineRun, load_timeline, parse_timeline
from tes_contract.mocks.upstreams import MockUpstreams

__all__ = [
    "Answer",
    "Delay",
    "INVALID_VARIANTS",
    "Journal",
    "MockApi",
    "MockControl",
    "MockControlError",
    "MockSettings",
    "MockUpstreams",
    "Phase",
    "SCENARIOS",
    "Scenario",
    "ScenarioError",
    "Timeline",
    "TimelineRun",
    "UPSTREAMS",
    "UpstreamMock",
    "answer_for",
    "create_control_app",
    "load_timeline",
    "parse_scenario",
    "parse_timeline",
]
