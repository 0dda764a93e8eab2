"""Checks of the history profile's webhook alerts (ALERT-*), from the webhook mock's journal and the events.

A delivery is one journal entry of the webhook mock; an alert is the deliveries that share an
`Idempotency-Key` (its attempts, oldest first). The expected alerts follow from the events alone
(`expected_alerts`), so the checks need nothing of the server but what it answered and sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from tes_contract.conformance.checks.history import epoch_ms
from tes_contract.conformance.model import Exchange, Failure
from tes_contract.conformance.registry import check
from tes_contract.contract.invariants import document_problems

#: The values that fire (ALERT-FIRE); the others resolve.
BAD = {"trafficMode": frozenset({"degraded", "isolated"}), "telemetryStatus": frozenset({"degraded", "offline"})}
KEY = "idempotency-key"


def _header(entry: dict[str, Any], name: str) -> str | None:
    return next((v for k, v in entry.get("headers", {}).items() if k.lower() == name), None)


def _body(entry: dict[str, Any]) -> Any:
    try:
        return json.loads(entry.get("body") or "")
    except ValueError:
        return None


def alerts_of(deliveries: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The deliveries grouped by Idempotency-Key (a delivery without one is its own alert), oldest first."""
    alerts: dict[str, list[dict[str, Any]]] = {}
    for entry in sorted(deliveries, key=lambda e: e["arrived_at"]):
        alerts.setdefault(_header(entry, KEY) or f"(no key, seq {entry['seq']})", []).append(entry)
    return alerts


def expected_alerts(events: Sequence[dict[str, Any]], open_spells: dict[str, str] | None = None
                    ) -> dict[int, dict[str, Any]]:
    """The alert each event must raise, by event id (ALERT-FIRE); `open_spells`: kind -> startsAt of a bad
    spell an alert already fired for when these events began."""
    spells: dict[str, str | None] = {kind: (open_spells or {}).get(kind) for kind in BAD}
    wanted: dict[int, dict[str, Any]] = {}
    for event in sorted(events, key=lambda e: e["id"]):
        kind = event["kind"]
        body = {"kind": kind, "value": event["to"], "previous": event["from"], "event": event["id"]}
        if event["to"] in BAD[kind]:
            spells[kind] = spells[kind] or event["timestamp"]
            wanted[event["id"]] = {"status": "firing", **body, "startsAt": spells[kind]}
        elif spells[kind] is not None:
            wanted[event["id"]] = {"status": "resolved", **body, "startsAt": spells[kind],
                                   "endsAt": event["timestamp"]}
            spells[kind] = None
    return wanted


@check("ALERT-SHAPE")
def alert_deliveries_valid(deliveries: Sequence[dict[str, Any]]) -> Iterator[Failure]:
    """Every delivery is a POST of schemas/alert.json with an Idempotency-Key, the same body on every attempt
    of one key, and a key of its own per alert."""
    for entry in deliveries:
        body = _body(entry)
        if entry.get("method") != "POST":
            yield Failure("ALERT-SHAPE", "alerts POSTed", f"{entry.get('method')} {entry.get('path')}")
        for problem in document_problems("alert", body)[:3]:
            yield Failure("ALERT-SHAPE", f"{problem.pointer or '/'} valid per schemas/alert.json",
                          f"{problem.message}; body {str(entry.get('body'))[:200]!r}")
        if not _header(entry, KEY):
            yield Failure("ALERT-SHAPE", "an Idempotency-Key header on every delivery",
                          f"none on delivery {entry.get('seq')} ({str(entry.get('body'))[:120]})")
    events_by_key: dict[str, set[Any]] = {}
    for key, attempts in alerts_of(deliveries).items():
        bodies = {entry.get("body") for entry in attempts}
        if len(bodies) > 1:
            yield Failure("ALERT-SHAPE", f"the same alert on every attempt of key {key}", f"{len(bodies)} bodies")
        events_by_key[key] = {b.get("event") for b in map(_body, attempts) if isinstance(b, dict)}
    keys_by_event: dict[Any, set[str]] = {}
    for key, events in events_by_key.items():
        for event in events:
            keys_by_event.setdefault(event, set()).add(key)
    for event, keys in keys_by_event.items():
        if len(keys) > 1:
            yield Failure("ALERT-SHAPE", f"one Idempotency-Key for every retry of the alert of event {event}",
                          f"{len(keys)} keys: {sorted(keys)[:3]}")


@check("ALERT-FIRE")
def one_alert_per_event(deliveries: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]],
                        within_s: float, open_spells: dict[str, str] | None = None,
                        late_ok: frozenset[int] = frozenset()) -> Iterator[Failure]:
    """The alerts are those the events call for, no more, each first attempted within `within_s` of its event
    (1 s plus the run's slack; not those in `late_ok`, whose first attempts the webhook refused), with its
    fields taken from its event and its spell."""
    wanted = expected_alerts(events, open_spells)
    sent: dict[Any, list[list[dict[str, Any]]]] = {}
    for attempts in alerts_of(deliveries).values():
        body = _body(attempts[0])
        sent.setdefault(body.get("event") if isinstance(body, dict) else None, []).append(attempts)
    stamps = {e["id"]: epoch_ms(e["timestamp"]) / 1000 for e in events}
    for event_id, expected in wanted.items():
        alerts = sent.get(event_id, [])
        if not alerts:
            yield Failure("ALERT-FIRE", f"a {expected['status']} alert for event {event_id} "
                          f"({expected['kind']} {expected['previous']} -> {expected['value']})",
                          f"none of {len(deliveries)} deliveries names it")
            continue
        if len(alerts) > 1:
            yield Failure("ALERT-FIRE", f"one alert for event {event_id}", f"{len(alerts)} alerts (distinct keys)")
        body = _body(alerts[0][0])
        wrong = {k: (v, body.get(k)) for k, v in expected.items() if body.get(k) != v}
        extra = sorted(set(body) - set(expected) - {"endsAt"}) if isinstance(body, dict) else []
        if wrong or (expected["status"] == "firing" and "endsAt" in body) or extra:
            yield Failure("ALERT-FIRE", f"the alert of event {event_id}: {json.dumps(expected)}",
                          f"{json.dumps(body)[:300]} (wrong: {', '.join(wrong) or 'endsAt on a firing alert'})")
        late = alerts[0][0]["arrived_at"] - stamps[event_id]
        if late > within_s and event_id not in late_ok:
            yield Failure("ALERT-FIRE", f"the alert of event {event_id} within {within_s:.2f} s of it",
                          f"first attempt {late:.2f} s after the event")
    unwanted = sorted((k for k in sent if k not in wanted), key=str)
    if unwanted:
        yield Failure("ALERT-FIRE", f"alerts only for the events that call for one ({sorted(wanted)})",
                      f"alerts naming events {unwanted[:10]} (e.g. a resolved with nothing fired, or for no event)")


@check("ALERT-RETRY")
def deliveries_follow_the_answers(deliveries: Sequence[dict[str, Any]], timeout_s: float,
                                  slack_s: float) -> Iterator[Failure]:
    """Nothing after a 2xx, 3xx or 4xx of one alert; each attempt held no longer than the upstream timeout."""
    for key, attempts in alerts_of(deliveries).items():
        for index, entry in enumerate(attempts[:-1]):
            status = entry.get("status")
            if isinstance(status, int) and status < 500:
                kind = "2xx: it is never sent again" if status < 300 else "3xx/4xx: it is not retried"
                yield Failure("ALERT-RETRY", f"no attempt of alert {key} after a {kind}",
                              f"attempt {index + 1} answered {status}, then {len(attempts) - index - 1} more")
                break
        for entry in attempts:
            gave_up = entry.get("client_gave_up_at")
            if gave_up is not None and gave_up - entry["arrived_at"] > timeout_s + slack_s:
                yield Failure("ALERT-RETRY", f"each attempt bounded by TES_UPSTREAM_TIMEOUT_MS ({timeout_s:.1f} s)",
                              f"an attempt of alert {key} held {gave_up - entry['arrived_at']:.2f} s")
                break


@check("ALERT-RETRY")
def failed_delivery_retried(deliveries: Sequence[dict[str, Any]], wanted_attempts: int, situation: str
                            ) -> Iterator[Failure]:
    """An alert whose attempts failed (5xx or no answer) is attempted again with growing delays: at least
    `wanted_attempts` attempts (the mock accepts the last), with the same key."""
    alerts = list(alerts_of(deliveries).values())
    if not alerts:
        yield Failure("ALERT-RETRY", f"{situation}: an alert delivered", "no delivery")
        return
    attempts = alerts[0]
    if len(attempts) < wanted_attempts:
        yield Failure("ALERT-RETRY", f"{situation}: retried until accepted ({wanted_attempts} attempts)",
                      f"{len(attempts)} attempts, answered {[e.get('status') for e in attempts]}")
        return
    gaps = [b["arrived_at"] - a["arrived_at"] for a, b in zip(attempts, attempts[1:], strict=False)]
    if any(later <= earlier for earlier, later in zip(gaps, gaps[1:], strict=False)):
        yield Failure("ALERT-RETRY", f"{situation}: retries with growing delays",
                      f"delays {', '.join(f'{g:.2f} s' for g in gaps)}")


@check("ALERT-ISOLATION")
def answers_not_delayed(exchanges: Sequence[Exchange], bound_s: float, situation: str) -> Iterator[Failure]:
    """Every status answer while the webhook hangs or fails comes within `bound_s` (healthy upstreams)."""
    slow = [e for e in exchanges if e.status is None or e.elapsed_ms > bound_s * 1000]
    if slow:
        worst = max(slow, key=lambda e: e.elapsed_ms)
        yield Failure("ALERT-ISOLATION", f"{situation}: every status answer within {bound_s:.2f} s",
                      f"{len(slow)} of {len(exchanges)} slower or failed; worst {worst.elapsed_ms / 1000:.2f} s "
                      f"{worst.error}".strip(), curl=worst.curl())


@check("ALERT-ISOLATION")
def pushes_not_delayed(arrivals: Sequence[float], max_gap_s: float, situation: str) -> Iterator[Failure]:
    """While the webhook hangs, status pushes keep coming: no gap over `max_gap_s` (1.5 push intervals + slack)."""
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    if len(arrivals) < 2 or max(gaps) > max_gap_s:
        observed = f"gaps up to {max(gaps):.2f} s" if gaps else f"{len(arrivals)} pushes"
        yield Failure("ALERT-ISOLATION", f"{situation}: status pushes at most {max_gap_s:.2f} s apart", observed)


CHECKS = (alert_deliveries_valid, one_alert_per_event, deliveries_follow_the_answers, failed_delivery_retried,
          answers_not_delayed, pushes_not_delayed)
