"""Command line: `tes-contract validate|lint|...`; parses and prints, the work lives in plain functions."""

from __future__ import annotations

import sys
from typing import Any

import click

from tes_contract import __version__
from tes_contract import validate as validate_module
from tes_contract.conformance.cli import conform_command, demo_command
from tes_contract.contract.schemas import KINDS
from tes_contract.errors import ContractFailure, TesContractError
from tes_contract.mocks.cli import mock as mock_command
from tes_contract.server.cli import serve_command


class _Group(click.Group):
    """Prints the kit's own errors as `error: ...` and exits with their code (2 tool error, 1 contract failure).

    Done here rather than in `main()` so `CliRunner` sees the same exit codes as a user does.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (TesContractError, ContractFailure) as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="tes-contract")
def cli() -> None:
    """Contract-first kit for the TES Enhanced Status API v2.0."""


@cli.command()
@click.argument("paths", nargs=-1, metavar="[PATH|-]...")
@click.option("--kind", type=click.Choice(sorted(KINDS)), default="status", show_default=True,
              help="What the documents are.")
@click.option("--schema-only", is_flag=True, help="Check the schema only, not the cross-field invariants.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def validate(paths: tuple[str, ...], kind: str, schema_only: bool, output_format: str) -> None:
    """Validate JSON documents or JSON Lines (one document a line) against the contract.

    Exit 0 when all are valid, 1 when any is invalid, 2 when the input cannot be read or is not JSON.
    """
    sys.exit(validate_module.run(list(paths), kind, schema_only, output_format, sys.stdin, sys.stdout))


@cli.command()
@click.argument("specs", nargs=-1, metavar="[SPEC]...")
def lint(specs: tuple[str, ...]) -> None:
    """Validate OpenAPI documents (default: the bundled ones) and every example against its schema."""
    # Imported here: openapi-spec-validator takes ~0.3 s to import, which every other command would pay.
    from tes_contract import lint as lint_module

    sys.exit(lint_module.run(list(specs), sys.stdout))


cli.add_command(serve_command)
cli.add_command(conform_command)
cli.add_command(demo_command)
cli.add_command(mock_command)


def main() -> None:
    """Entry point: run the CLI; the kit's own errors print `error: ...` and exit with their code."""
    cli(prog_name="tes-contract")
