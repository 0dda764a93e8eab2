"""The command group: the kit's own errors and contract failures leave with their exit codes, never a traceback."""

from __future__ import annotations

import click
from click.testing import CliRunner

from tes_contract.cli import cli
from tes_contract.errors import ConfigError, ContractFailure


def test_errors_leave_with_their_exit_code():
    @cli.command("explode-for-test", hidden=True)
    @click.argument("what")
    def explode(what: str) -> None:
        if what == "config":
            raise ConfigError("TES_PORT='x' is not a port")
        raise ContractFailure("STATUS-HDR-3", "X-TES-Status-Version 2.0", "1.0", "curl -i http://127.0.0.1:3002")

    try:
        config = CliRunner().invoke(cli, ["explode-for-test", "config"])
        assert (config.exit_code, config.output) == (2, "error: TES_PORT='x' is not a port\n")
        failure = CliRunner().invoke(cli, ["explode-for-test", "failure"])
        assert failure.exit_code == 1
        assert failure.output == ("error: [STATUS-HDR-3] expected X-TES-Status-Version 2.0; observed 1.0\n"
                                  "  reproduce: curl -i http://127.0.0.1:3002\n")
    finally:
        cli.commands.pop("explode-for-test")


def test_version_and_help():
    version = CliRunner().invoke(cli, ["--version"])
    assert (version.exit_code, version.output) == (0, "tes-contract, version 0.1.0\n")
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "validate" in result.output and "lint" in result.output
