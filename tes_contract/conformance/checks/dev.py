"""Checks of the dev profile: the worker proxy, tmux control, the server's security.

Each check judges what a dev group saw: answers (`Exchange`), tmux's own session list (read by the harness
with `tmux -L SOCKET`, never through the server) and the worker mock's journal.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

from tes_contract.conformance.model import Exchange, Failure
from tes_contract.conformance.registry import check
from tes_contract.contract.schemas import validator_for

#: What a group compares before and after a refused request: tmux's sessions and the worker mock's calls.
Effects = tuple[tuple[str, ...], int]


def _seen(ex: Exchange) -> str:
    if ex.status is None:
        return f"no answer ({ex.error})"
    return f"status {ex.status}: {ex.text[:160]!r}"


def _json_error(ex: Exchange) -> bool:
    return isinstance(ex.body, dict) and isinstance(ex.body.get("error"), str)


@check("DEV-WORKERS")
def worker_list_unavailable_is_503(ex: Exchange) -> Iterator[Failure]:
    """GET /api/dev/workers answers 503 with a JSON error body when the worker API cannot be reached."""
    if ex.status not in (404, 503):  # 404: the server has no dev profile
        observed = f"status {ex.status}" if ex.status is not None else f"no answer ({ex.error})"
        yield Failure("DEV-WORKERS", "503 while the worker API is down", observed)


# ---------------------------------------------------------------- tmux control
@check("DEV-TMUX-CONTROL")
def session_created(ex: Exchange, name: str, real: Sequence[str], listed: Sequence[str], count: Any
                    ) -> Iterator[Failure]:
    """A create answers 201 with the session, and tmux, /api/dev/tmux/status and the status count show it."""
    if ex.status != 201:
        yield Failure("DEV-TMUX-CONTROL", f"201 for a new session {name!r}", _seen(ex))
        return
    # The session shape is tmux-status's `$defs/Session`: judged inside a listing of one.
    errors = [e.message for e in validator_for("tmux-status").iter_errors({"online": True, "sessions": [ex.body]})]
    if errors or not isinstance(ex.body, dict) or ex.body.get("name") != name:
        yield Failure("DEV-TMUX-CONTROL", f"the session {name!r} in the tmux-status session shape",
                      f"{ex.text[:200]!r} ({'; '.join(errors[:2]) or 'another name'})")
    if name not in real:
        yield Failure("DEV-TMUX-CONTROL", f"tmux itself lists {name!r} after the 201", f"tmux lists {list(real)}")
    if name not in listed:
        yield Failure("DEV-TMUX-CONTROL", f"/api/dev/tmux/status lists {name!r} after the 201", f"it lists {listed}")
    if count != len(real):
        yield Failure("DEV-TMUX-CONTROL", f"the status's tmux count = {len(real)} (tmux's sessions)", f"{count!r}")


@check("DEV-TMUX-CONTROL")
def session_killed(ex: Exchange, name: str, real: Sequence[str], listed: Sequence[str], count: Any
                   ) -> Iterator[Failure]:
    """A kill of an existing session answers 204, and the session is gone from tmux, the listing and the count."""
    if ex.status != 204:
        yield Failure("DEV-TMUX-CONTROL", f"204 for killing the session {name!r}", _seen(ex))
    if name in real:
        yield Failure("DEV-TMUX-CONTROL", f"tmux no longer lists {name!r} after the kill", f"tmux lists {list(real)}")
    if name in listed:
        yield Failure("DEV-TMUX-CONTROL", f"/api/dev/tmux/status no longer lists {name!r}", f"it lists {listed}")
    if count != len(real):
        yield Failure("DEV-TMUX-CONTROL", f"the status's tmux count = {len(real)} (tmux's sessions)", f"{count!r}")


@check("DEV-TMUX-CONTROL")
def tmux_answer_is(ex: Exchange, status: int, what: str) -> Iterator[Failure]:
    """A tmux control request gets the status tmux's real state calls for (409 duplicate, 404 none, 400 bad)."""
    if ex.status != status:
        yield Failure("DEV-TMUX-CONTROL", f"{status} for {what}", _seen(ex))
    elif status >= 400 and not _json_error(ex):
        yield Failure("DEV-TMUX-CONTROL", f"a JSON error body with the {status}", repr(ex.text[:200]))


@check("DEV-TMUX-CONTROL")
def command_ran_as_argv(text: str, expected: str, marker_made: bool, extra: Sequence[str]) -> Iterator[Failure]:
    """The command ran as the argv given: its arguments arrive verbatim, no shell and no tmux command ran."""
    if expected not in text:
        yield Failure("DEV-TMUX-CONTROL", f"the pane shows the arguments verbatim: {expected!r}", repr(text[-300:]))
    if marker_made:
        yield Failure("DEV-TMUX-CONTROL", "no shell expands the arguments", "`$(touch FILE)` in an argument ran")
    if extra:
        yield Failure("DEV-TMUX-CONTROL", "an argument ending in ';' is no tmux command separator",
                      f"tmux ran a command from the arguments: sessions {list(extra)} appeared")


@check("DEV-TMUX-CONTROL")
def capture_is_last_lines(ex: Exchange, lines: int, last: str) -> Iterator[Failure]:
    """A capture answers `{"text"}` with at most N lines, ending with the pane's last output line."""
    if ex.status != 200 or not isinstance(ex.body, dict) or set(ex.body) != {"text"} \
            or not isinstance(ex.body["text"], str):
        yield Failure("DEV-TMUX-CONTROL", "200 with {\"text\"} (schemas/pane-capture.json)", _seen(ex))
        return
    text_lines = ex.body["text"].rstrip("\n").split("\n")
    if len(text_lines) > lines:
        yield Failure("DEV-TMUX-CONTROL", f"at most {lines} lines (lines={lines})", f"{len(text_lines)} lines")
    if text_lines[-1].strip() != last:
        yield Failure("DEV-TMUX-CONTROL", f"the last line is the pane's last output {last!r}",
                      repr(ex.body["text"][-200:]))


# ---------------------------------------------------------------- snapshots
@check("DEV-SNAPSHOT")
def snapshot_delivered(ex: Exchange, worker_id: str, digest: str, size: int, raw: bytes) -> Iterator[Failure]:
    """The worker's body arrives byte for byte, as an attachment named after the worker."""
    if ex.status != 200:
        yield Failure("DEV-SNAPSHOT", f"200 with the worker's {size} bytes", _seen(ex))
        return
    disposition = f'attachment; filename="worker-{worker_id}-snapshot.json"'
    if ex.header("Content-Disposition") != disposition:
        yield Failure("DEV-SNAPSHOT", f"Content-Disposition: {disposition}", repr(ex.header("Content-Disposition")))
    if hashlib.sha256(raw).hexdigest() != digest:
        yield Failure("DEV-SNAPSHOT", f"the worker's body byte for byte ({size} bytes)",
                      f"{len(raw)} bytes, sha256 {hashlib.sha256(raw).hexdigest()[:16]}...")


@check("DEV-SNAPSHOT")
def snapshot_never_short(ex: Exchange, size: int, bound_ms: float, allowed: tuple[int, ...] = (504,),
                         what: str = "a body past the timeout") -> Iterator[Failure]:
    """A body past the timeout (or cut by the worker) is an error status or an aborted connection, in time;
    never a 200 that looks complete."""
    if ex.status == 200:
        yield Failure("DEV-SNAPSHOT", f"{'/'.join(map(str, allowed))}, or a connection aborted mid-body, for {what}",
                      f"a complete-looking 200 of {len(ex.text)} bytes (the worker's has {size})")
    elif ex.status is not None and ex.status not in allowed:
        yield Failure("DEV-SNAPSHOT", f"{'/'.join(map(str, allowed))} for {what}", _seen(ex))
    elif ex.status is None and "no answer within" in ex.error:
        yield Failure("DEV-SNAPSHOT", f"504 or an abort within {bound_ms:.0f} ms", ex.error)
    if ex.elapsed_ms > bound_ms:
        yield Failure("DEV-SNAPSHOT", f"the answer ends within {bound_ms:.0f} ms (timeout + slack)",
                      f"{ex.elapsed_ms:.0f} ms")


@check("DEV-SNAPSHOT")
def snapshot_answer_is(ex: Exchange, status: int, what: str, also: tuple[int, ...] = ()) -> Iterator[Failure]:
    """The worker's 404 and 400 pass through, an unreachable worker is a 503, a bad id a 400; as JSON errors.

    `also`: another status the contract allows here (a dot-segment id has no route on a server whose
    router removes dot segments: the 404 comes before validation in DEV-NOSIDE's order)."""
    if ex.status != status and ex.status not in also:
        yield Failure("DEV-SNAPSHOT", f"{status} for {what}", _seen(ex))
    elif not _json_error(ex):
        yield Failure("DEV-SNAPSHOT", f"a JSON error body with the {status}", repr(ex.text[:200]))


@check("DEV-SNAPSHOT")
def rate_limited(first: Exchange, second: Exchange, other: Exchange) -> Iterator[Failure]:
    """A second request for a worker within 10 s is a 429 with Retry-After in whole seconds; others are free."""
    if second.status != 429:
        yield Failure("DEV-SNAPSHOT", "429 for a second snapshot of one worker within 10 s", _seen(second))
    else:
        retry = second.header("Retry-After")
        waited = second.sent_at - first.sent_at
        if retry is None or not re.fullmatch(r"\d+", retry.strip()):
            yield Failure("DEV-SNAPSHOT", "Retry-After in whole seconds with the 429", repr(retry))
        elif not max(1, int(10 - waited) - 1) <= int(retry) <= 10:
            yield Failure("DEV-SNAPSHOT", f"Retry-After about {10 - waited:.1f} s (1..10, the slot's rest)",
                          repr(retry))
    if other.status != 200:
        yield Failure("DEV-SNAPSHOT", "another worker is not limited (200)", _seen(other))


# ---------------------------------------------------------------- security
@check("DEV-AUTH")
def token_refused(ex: Exchange, variant: str) -> Iterator[Failure]:
    """Without the exact token: 401 with `WWW-Authenticate: Bearer`."""
    if ex.status != 401:
        yield Failure("DEV-AUTH", f"401 with {variant}", _seen(ex))
    elif not (ex.header("WWW-Authenticate") or "").lower().startswith("bearer"):
        yield Failure("DEV-AUTH", "WWW-Authenticate: Bearer with the 401", repr(ex.header("WWW-Authenticate")))


@check("DEV-AUTH")
def token_accepted(ex: Exchange, variant: str) -> Iterator[Failure]:
    """The right token passes the guard (the scheme in any case)."""
    if ex.status in (401, 403) or ex.status is None:
        yield Failure("DEV-AUTH", f"{variant} passes the guard", _seen(ex))


@check("DEV-AUTH")
def token_file_private(mode: int | None, token: str, earlier: str | None) -> Iterator[Failure]:
    """The generated token is in TES_STATE_DIR/dev-token, mode 0600, 32 random bytes, new at each start."""
    if mode is None:
        yield Failure("DEV-AUTH", "TES_STATE_DIR/dev-token written at start", "no such file")
        return
    if mode & 0o077:
        yield Failure("DEV-AUTH", "dev-token of mode 0600", oct(mode))
    if len(token) < 32:
        yield Failure("DEV-AUTH", "a token of 32 random bytes", f"{len(token)} characters")
    if earlier is not None and token == earlier:
        yield Failure("DEV-AUTH", "a new token at each start (no default token)", "two starts wrote the same token")


@check("DEV-AUTH")
def token_not_logged(output: str, token: str) -> Iterator[Failure]:
    """The log names the token file, never the token (only the one `#token=` dashboard line carries it)."""
    lines = [line for line in output.splitlines() if token in line]
    if len(lines) > 1 or any("#token=" not in line for line in lines):
        yield Failure("DEV-AUTH", "the token only in the one dashboard line (`#token=`)",
                      f"{len(lines)} lines of the server's output carry it")


@check("DEV-ORIGIN")
def origin_refused(ex: Exchange, origin: str) -> Iterator[Failure]:
    """A foreign Origin is a 403, even with the right token."""
    if ex.status != 403:
        yield Failure("DEV-ORIGIN", f"403 for Origin: {origin}", _seen(ex))


@check("DEV-ORIGIN")
def no_wildcard_cors(exchanges: Sequence[Exchange]) -> Iterator[Failure]:
    """No answer carries `Access-Control-Allow-Origin: *`."""
    for ex in exchanges:
        if (ex.header("Access-Control-Allow-Origin") or "").strip() == "*":
            yield Failure("DEV-ORIGIN", "no Access-Control-Allow-Origin: *", f"{ex.method} {ex.url} carries it")
            return


@check("DEV-HOST")
def host_refused(ex: Exchange, host: str) -> Iterator[Failure]:
    """A foreign Host is a 403 on every route."""
    if ex.status != 403:
        yield Failure("DEV-HOST", f"403 for Host: {host}", _seen(ex))


@check("DEV-NOSIDE")
def refusal_left_nothing(ex: Exchange, before: Effects, after: Effects) -> Iterator[Failure]:
    """A refused request made or killed no tmux session and called no upstream."""
    if before[0] != after[0]:
        yield Failure("DEV-NOSIDE", f"no tmux change from a refused request ({_seen(ex)})",
                      f"tmux sessions {list(before[0])} -> {list(after[0])}")
    if after[1] != before[1]:
        yield Failure("DEV-NOSIDE", f"no upstream call from a refused request ({_seen(ex)})",
                      f"the worker mock got {after[1] - before[1]} snapshot call(s)")


@check("DEV-NOSIDE")
def refusal_order(ex: Exchange, status: int, why: str) -> Iterator[Failure]:
    """A request breaking two rules gets the earlier refusal of Host -> route -> Origin -> token -> size -> 400."""
    if ex.status != status:
        yield Failure("DEV-NOSIDE", f"{status} first: {why}", _seen(ex))


CHECKS = (worker_list_unavailable_is_503, session_created, session_killed, tmux_answer_is, command_ran_as_argv,
          capture_is_last_lines, snapshot_delivered, snapshot_never_short, snapshot_answer_is, rate_limited,
          token_refused, token_accepted, token_file_private, token_not_logged, origin_refused, no_wildcard_cors,
          host_refused, refusal_left_nothing, refusal_order)
