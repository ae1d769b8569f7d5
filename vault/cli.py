"""The ``vault`` command: the only place errors become messages and exit codes.

Each area's commands live in their own module (``cli_setup``, ``cli_documents``,
``cli_checks``) and are registered here. Commands parse their options, call
one library function and show the result; they raise ``VaultError``s, which
``VaultGroup.invoke`` turns into ``vault: error: …`` / ``vault: hint: …`` and the
exit code of DESIGN.md's contract. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vault.errors import ExitCode, VaultError

EXIT_STATUSES = """\b
Exit status: 0 ok, 1 failure, 2 usage, 3 wrong passphrase or key,
4 integrity failure, 5 remote unreachable, 6 some inputs skipped, 130 interrupted."""


def report_error(error: VaultError) -> None:
    click.echo(f"vault: error: {error.message}", err=True)
    if error.hint:
        click.echo(f"vault: hint: {error.hint}", err=True)


class VaultGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VaultError as error:
            report_error(error)
            ctx.exit(int(error.exit_code))
        except KeyboardInterrupt:
            click.echo("vault: interrupted", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))


@click.group(cls=VaultGroup, epilog=EXIT_STATUSES)
@click.option(
    "--vault",
    "vault_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="VAULT_DIR",
    help="The vault folder (default: VAULT_DIR, or a folder in your user data folder).",
)
@click.version_option(package_name="centre-vault", prog_name="vault")
@click.pass_context
def cli(ctx: click.Context, vault_dir: Path | None) -> None:
    """An encrypted, searchable vault for a centre's confidential documents.

    Scanned post is encrypted with age as soon as it is stored; only the
    coordinator's passphrase (or the sealed emergency key) opens it.

    \b
    Example:
        vault init --emergency-sheet ~/emergency-sheet.pdf
        vault ingest ~/Scans/referral.pdf
        vault list
    """
    from vault.repository import locate

    ctx.obj = locate(vault_dir)


def _register() -> None:
    from vault import (
        cli_checks,
        cli_documents,
        cli_records,
        cli_search,
        cli_setup,
        cli_sync,
        cli_watch,
    )

    for module in (
        cli_setup, cli_documents, cli_search, cli_records, cli_checks, cli_watch, cli_sync,
    ):  # fmt: skip
        for command in module.COMMANDS:
            _add_epilog(command)
            cli.add_command(command)


def _add_epilog(command: click.Command) -> None:
    command.epilog = command.epilog or EXIT_STATUSES
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _add_epilog(sub)


_register()


def main() -> None:
    cli.main(prog_name="vault")


if __name__ == "__main__":  # pragma: no cover
    main()
