"""The harness against hostile servers (tests/servers/hostile/misbehave.py): each scenario ends in a bounded
time with the report it must produce, and leaves no process or port behind."""

from __future__ import annotations

import shlex
import socket
import sys
import time
from pathlib import Path

import pytest

from tes_contract.conformance.managed import ManagedServer, free_port, port_in_use
from tes_contract.conformance.runner import run_conformance
from tes_contract.errors import SetupError

MISBEHAVE = Path(__file__).resolve().parent / "servers" / "hostile" / "misbehave.py"


def _command(mode: str) -> str:
    return shlex.join([sys.executable, str(MISBEHAVE), mode])


def _gone(pgid: int) -> bool:
    """No live process (zombies, waiting for init to reap them, are dead) in the process group."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return False
    return True


def test_free_port_is_below_the_ephemeral_range_and_never_handed_out_twice() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(port < low for port in ports)
    assert not any(port_in_use("127.0.0.1", port) for port in ports[:20])


def test_exit_0_at_once_is_a_setup_error_naming_the_group_and_the_output() -> None:
    began = time.monotonic()
    with pytest.raises(SetupError) as caught:
        run_conformance(server=_command("exit_0"), groups=("recovery",))
    # Bound: the start fails at once; 20 s covers a busy CI machine.
    assert time.monotonic() - began < 20
    message = str(caught.value)
    assert "group recovery" in message and "exited with code 0" in message
    assert "nothing to serve today" in message


def test_wrong_port_names_tes_port_and_shows_where_it_listened() -> None:
    began = time.monotonic()
    with pytest.raises(SetupError) as caught:
        run_conformance(server=_command("wrong_port"), groups=("recovery",), startup_timeout_s=3.0)
    # Bound: the 3 s startup timeout plus stopping the server; 20 s for a busy CI machine.
    assert time.monotonic() - began < 20
    message = str(caught.value)
    assert "did not listen on 127.0.0.1:" in message and "TES_PORT" in message and "within 3 s" in message
    assert "listening http://127.0.0.1:" in message  # its own output says where it went


async def test_flood_of_output_never_blocks_and_keeps_only_a_tail() -> None:
    began = time.monotonic()
    env = {"TES_TMUX_STATUS_URL": "http://127.0.0.1:9/tmux", "TES_WORKER_API_URL": "http://127.0.0.1:9"}
    async with ManagedServer(_command("flood"), env, name="flood", startup_timeout_s=30.0) as server:
        # It listens only after 200 MB went through the pipe: nobody reading would block it for good.
        assert server.output.total >= 200 * 1024 * 1024
        assert server.output.kept <= 2 * server.output.limit
        tail = server.log_tail()
        assert "bytes printed in all" in tail and len(tail) < 20_000
        pgid = server.process.pid if server.process else 0
    # Bound: 200 MB through a pipe takes a few seconds of CPU; 60 s covers a busy CI machine.
    assert time.monotonic() - began < 60
    assert _gone(pgid)


def test_orphan_keeping_the_port_is_killed_with_its_group_and_the_port_freed() -> None:
    began = time.monotonic()
    result = run_conformance(server=_command("orphan"), groups=("recovery",), seed=1)
    # Bound: the wrapper exits 2 s after listening; the recovery group takes ~6 s; 30 s for a busy CI.
    assert time.monotonic() - began < 30
    assert [(e.group, e.returncode) for e in result.server_exits] == [("recovery", 1)], result.server_exits
    assert "wrapper exits" in result.server_exits[0].output, result.server_exits[0].output
    assert result.exit_code == 1 and result.failed_clauses() == {"SERVER-ALIVE"}, result.failures
    [server] = result.servers
    # The child that kept the port went with its group (SIGKILLed: dead within moments, 3 s on a busy CI).
    deadline = time.monotonic() + 3
    while not (gone := _gone(int(server["pid"]))) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone, server
    assert not port_in_use("127.0.0.1", int(server["port"]))


async def test_a_port_taken_by_another_program_is_changed_before_the_start() -> None:
    env = {"TES_TMUX_STATUS_URL": "http://127.0.0.1:9/tmux", "TES_WORKER_API_URL": "http://127.0.0.1:9"}
    server = ManagedServer(shlex.join([sys.executable, str(MISBEHAVE.parent.parent / "py_status_server.py")]), env)
    taken = server.port
    with socket.socket() as other:
        other.bind(("127.0.0.1", taken))
        other.listen()
        async with server:
            assert server.port != taken and server.env["TES_PORT"] == str(server.port)


def test_a_server_that_never_answers_is_stopped_at_the_group_budget() -> None:
    began = time.monotonic()
    result = run_conformance(server=_command("silent"), groups=("recovery",), budget_scale=0.1)  # 12 s
    # Bound: the 12 s budget, the start and the stop; 40 s covers a busy CI machine.
    assert time.monotonic() - began < 40
    assert result.timed_out == ["recovery"] and "budget of 12 s" in result.stopped_groups["recovery"]
    observed = {f.observed for f in result.failures if f.clause == "STATUS-HTTP-1"}
    assert observed and all(o.startswith("no answer (no answer within") for o in observed)
    assert result.exit_code == 1


@pytest.mark.parametrize(("mode", "group", "observed"), [
    ("garbage", "recovery", "no answer (ClientResponseError: 400, message='Bad status line"),
    ("huge_body", "recovery", "no answer (BodyTooLarge: status 200 with a body over the harness's read limit"),
    ("endless_body", "recovery", "no answer (BodyTooLarge: status 200 with a body over the harness's read limit"),
    ("endless_body", "http", "no answer: RequestException: status 200 with a body over the harness's read limit"),
])
def test_garbage_and_bodies_past_the_read_limit_fail_the_clause_in_play(mode: str, group: str, observed: str) -> None:
    began = time.monotonic()
    result = run_conformance(server=_command(mode), groups=(group,), budget_scale=0.05, examples=5)  # 6 s
    # Bound: the 6 s budget (or the group's end), the start and the stop; 40 s covers a busy CI machine.
    assert time.monotonic() - began < 40
    clause = "STATUS-HTTP-4" if group == "http" else "STATUS-HTTP-1"
    failures = [f for f in result.failures if f.clause == clause]
    # Each answer is "no answer" (a reset or a timeout may come first on a busy machine), cut short.
    assert failures and all(f.observed.startswith("no answer") and len(f.observed) < 400 for f in failures), \
        [f.observed[:120] for f in failures]
    assert any(f.observed.startswith(observed) for f in failures), [f.observed[:120] for f in failures]
    assert result.exit_code == 1 and not result.server_exits


def test_max_time_stops_the_run_with_exit_2_and_the_report_of_what_ran() -> None:
    began = time.monotonic()
    result = run_conformance(server=_command("silent"), groups=("recovery", "tmux"), max_time_s=5.0)
    # Bound: --max-time 5 s plus stopping both servers; 30 s covers a busy CI machine.
    assert time.monotonic() - began < 30
    assert result.exit_code == 2 and result.max_time_s == 5.0
    assert set(result.stopped_groups) == {"recovery", "tmux"}
    assert all("--max-time 5 s" in why for why in result.stopped_groups.values())


def _processes_with(text: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def test_one_group_failing_to_start_stops_the_others_and_exits_2(tmp_path: Path) -> None:
    command = shlex.join([sys.executable, str(MISBEHAVE), "fail_third", str(tmp_path)])
    began = time.monotonic()
    with pytest.raises(SetupError) as caught:
        run_conformance(server=command, groups=("tmux", "worker", "timeout", "recovery"), seed=1)
    # Bound: the failing start is seen at once, then every other group is stopped; 30 s for a busy CI.
    assert time.monotonic() - began < 30
    message = str(caught.value)
    assert message.startswith("group ") and "exited with code 2" in message
    assert "state file locked by another copy" in message
    assert len(list(tmp_path.glob("start-*"))) >= 3
    assert _processes_with(str(tmp_path)) == []  # every other group's server was stopped


def test_a_server_ignoring_sigterm_is_killed_after_the_grace_and_fails_server_stop() -> None:
    began = time.monotonic()
    result = run_conformance(server=_command("ignore_sigterm"), groups=("tmux",), seed=1)
    # Bound: the tmux group (~2 s), then the 5 s grace before SIGKILL; 40 s covers a busy CI machine.
    assert time.monotonic() - began < 40
    assert result.failed_clauses() == {"SERVER-STOP"}, result.failures
    [failure] = result.failures
    assert failure.observed.startswith("still running 5.") and failure.observed.endswith("killed with SIGKILL")
    assert result.status_of("SERVER-ALIVE") == "passed" and result.exit_code == 1
    [server] = result.servers
    assert _gone(int(server["pid"]))
