"""Bodies the mocks serve: healthy documents valid against the upstream schemas, and named invalid ones."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tes_contract.contract.formats import rfc3339_ms

if TYPE_CHECKING:
    from tes_contract.mocks.scenarios import Scenario

JSON = "application/json"
#: The worker id pattern of schemas/worker-status.json (`$defs/Worker/properties/id`).
WORKER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_WORKER_STATES = ("working", "idle", "working", "error", "idle", "terminated")
_COMMANDS = ("bun", "tail", "vim", "htop")


@dataclass(frozen=True)
class Answer:
    """A complete HTTP answer, serialised once so the request path only copies bytes."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()
    #: Worker records the body lists (a snapshot may name them).
    workers: tuple[dict[str, Any], ...] = ()

    @cached_property
    def header_map(self) -> dict[str, str]:
        """Content-Type and the extra headers, built once."""
        return {"Content-Type": self.content_type, **dict(self.headers)}


def dumps(document: Any) -> bytes:
    """Serialise compactly, the way the answers are sent."""
    return json.dumps(document, separators=(",", ":")).encode()


def _rfc3339(moment: datetime) -> str:
    return rfc3339_ms(int(moment.timestamp() * 1000))


def tmux_body(sessions: int = 2, panes: int = 2, online: bool = True) -> dict[str, Any]:
    """Return a tmux-status document with `sessions` sessions of `panes` panes each."""
    now = datetime.now(UTC)
    items = [{
        "name": f"tes-dev-{i + 1}", "windows": max(1, panes // 2), "attached": i == 0,
        "created": _rfc3339(now - timedelta(minutes=5 * (i + 1))),
        "panes": [{"index": p, "title": f"pane {p}", "command": _COMMANDS[p % len(_COMMANDS)]} for p in range(panes)],
    } for i in range(sessions)]
    document: dict[str, Any] = {"online": online, "sessions": items}
    if not online:
        document["error"] = "no server running on /tmp/tmux-1000/default (mock)"
    return document


def worker_records(workers: int) -> list[dict[str, Any]]:
    """Return `workers` worker records with ids `worker-1`..`worker-N`."""
    now = datetime.now(UTC)
    return [{
        "id": f"worker-{i + 1}", "status": _WORKER_STATES[i % len(_WORKER_STATES)],
        "lastSeen": _rfc3339(now - timedelta(seconds=i)), "queueDepth": i % 5, "messagesProcessed": 100 * (i + 1),
    } for i in range(workers)]


def worker_body(workers: int = 3, connected: int | None = None) -> dict[str, Any]:
    """Return a worker-status document; `connected` defaults to the number of workers."""
    return {"connected": workers if connected is None else connected, "workers": worker_records(workers)}


#: What the webhook receiver answers when it accepts a delivery.
WEBHOOK_ACCEPTED: dict[str, Any] = {"accepted": True}


def zero_body(upstream: str) -> dict[str, Any]:
    """Return the valid empty document: no sessions, `connected: 0`, or the webhook's acceptance."""
    if upstream == "webhook":
        return dict(WEBHOOK_ACCEPTED)
    return {"online": True, "sessions": []} if upstream == "tmux" else {"connected": 0, "workers": []}


def healthy_body(upstream: str, params: dict[str, Any]) -> dict[str, Any]:
    """Return the healthy document of an upstream from a scenario's body parameters."""
    if upstream == "tmux":
        return tmux_body(params.get("sessions", 2), params.get("panes", 2), params.get("online", True))
    if upstream == "webhook":
        return dict(WEBHOOK_ACCEPTED)
    return worker_body(params.get("workers", 3), params.get("connected"))


def invalid_body(upstream: str, variant: str) -> Any:
    """Return valid JSON that breaks UPSTREAM-TMUX-VALID or UPSTREAM-WORKER-VALID, by variant name."""
    if upstream == "tmux":
        good = tmux_body(1, 1)
        return {
            "online_missing": {"sessions": good["sessions"]},
            "online_string": {"online": "true", "sessions": good["sessions"]},
            "sessions_object": {"online": True, "sessions": {}},
            "sessions_missing": {"online": True},
            "not_object": [good],
        }[variant]
    workers = worker_records(2)
    return {
        "connected_true": {"connected": True, "workers": workers},
        "connected_negative": {"connected": -1, "workers": workers},
        "connected_string": {"connected": "2", "workers": workers},
        "connected_float": {"connected": 2.5, "workers": workers},
        "connected_missing": {"workers": workers},
        "not_object": [{"connected": 2, "workers": workers}],
        "null": None,
    }[variant]


#: A body cut inside an array: not JSON, whatever parser reads it.
MALFORMED = {"tmux": b'{"online":true,"sessions":[{"name":"tes-dev-1",', "worker": b'{"connected":2,"workers":[{"id":',
             "webhook": b'{"accepted":'}


def error_answer(status: int, message: str, resolution: str = "") -> Answer:
    """Return a JSON error answer (schemas/error.json)."""
    document = {"error": message, **({"resolution": resolution} if resolution else {})}
    return Answer(status, dumps(document))


def fixed_body(params: dict[str, Any]) -> bytes:
    """The exact bytes of a `fixed` scenario: `body` as JSON, `raw` as UTF-8, or `raw_base64` decoded."""
    if "raw_base64" in params:
        return base64.b64decode(params["raw_base64"])
    if "raw" in params:
        return str(params["raw"]).encode()
    return dumps(params["body"])


def http_error_answer(upstream: str, status: int) -> Answer:
    """The answer of the `http_error` scenario."""
    return error_answer(status, f"{upstream} upstream failing on purpose ({status})")


def snapshot_answer(worker_id: str, workers: Sequence[dict[str, Any]]) -> Answer:
    """Answer `GET /workers/{id}/snapshot`: a JSON attachment, 400 for a malformed id, 404 for an unknown one."""
    if not WORKER_ID.match(worker_id):
        return error_answer(400, f"malformed worker id {worker_id!r}", "ids match ^[A-Za-z0-9_-]{1,64}$")
    record = next((w for w in workers if w["id"] == worker_id), None)
    if record is None:
        return error_answer(404, f"unknown worker {worker_id!r}", "GET /workers/status lists the workers")
    snapshot = {**record, "takenAt": _rfc3339(datetime.now(UTC)),
                "recentMessages": [{"seq": n, "kind": "task", "ok": True} for n in range(3)]}
    disposition = f'attachment; filename="{worker_id}-snapshot.json"'
    return Answer(200, dumps(snapshot), JSON, (("Content-Disposition", disposition),))


#: Scenarios that serve the healthy document (with their body parameters) after their own delay or fault.
HEALTHY_BODY_SCENARIOS = frozenset({"healthy", "slow", "slow_body", "truncated", "wrong_content_type"})


def answer_for(scenario: Scenario) -> Answer | None:
    """The HTTP answer a leaf scenario serves (built once when it is set); None for one that never answers.

    The socket mocks and the aioresponses helpers both serve these bytes; what differs is only how a fault
    (a delay, a dribble, a cut) delivers them.
    """
    upstream, name, params = scenario.upstream, scenario.name, dict(scenario.params)
    if name in HEALTHY_BODY_SCENARIOS or name == "zero":
        document = zero_body(upstream) if name == "zero" else healthy_body(upstream, params)
        return Answer(200, dumps(document), params.get("content_type", JSON), (),
                      tuple(document.get("workers", ())))
    if name in ("http_error", "client_error"):
        return http_error_answer(upstream, params["status"])
    if name == "invalid_shape":
        return Answer(200, dumps(invalid_body(upstream, params["variant"])))
    if name == "malformed_json":
        return Answer(200, MALFORMED[upstream])
    if name == "fixed":
        return Answer(params["status"], fixed_body(params), params["content_type"],
                      tuple(params.get("headers", {}).items()))
    return None
