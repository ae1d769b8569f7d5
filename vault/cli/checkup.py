"""``vault checkup``: the computer and the backups against the centre's policy."""

from __future__ import annotations

from pathlib import Path

import click

from vault.cli.common import json_option, print_json
from vault.display import escaped
from vault.errors import VaultError

MARKS = {"ok": "ok", "warning": "WARNING", "problem": "PROBLEM", "unknown": "unknown"}


@click.command()
@json_option
@click.pass_obj
def checkup(root: Path, as_json: bool) -> None:
    """Check the computer and the backups against the centre's policy.

    No passphrase, no network: each check is answered by the computer
    itself. The disk holding the vault encrypted (LUKS on Linux, FileVault
    on a Mac, BitLocker on Windows); swap none or encrypted, and scanned
    pages worked on in memory; security updates pending and how long ago the
    computer looked for them (Debian and Ubuntu), and automatic updates;
    the versions of tesseract, rclone and the Python packages; a backup away
    from the vault's disk, its provider in plain words, and its last backup,
    check and restore drill within their limits; rclone's configuration
    file (the cloud account's keys) private and encrypted; the passphrase's
    age, emergency key uses not yet acknowledged, keys long unused; the
    vault folder private (folders 0700, files 0600) with no stray plaintext;
    unencrypted copies put on data sticks; mains, battery or UPS.

    Each check says ok, warning, problem or unknown (not known: never
    guessed as ok), the policy it answers, and what to do. The committee
    report and 'vault status --json' carry the same list. Exit status 0 when
    no check is a problem (warnings and unknowns included), 1 when one is.

    \b
    Example:
        vault checkup
        vault checkup --json
    """
    from sync.checkup.checklist import take_checklist
    from sync.status import gather_status
    from sync.verdict import verdict_lines
    from vault.clock import shown
    from vault.repository import Vault, require_vault

    require_vault(root)
    vault = Vault.open(root)
    status = gather_status(vault)
    found = take_checklist(vault, status)
    verdict = verdict_lines(status, found)
    if as_json:
        print_json({**found.as_dict(), "verdict": verdict.colour, "reasons": verdict.lines[1:]})
    else:
        click.echo(f"Policy checklist, taken {shown(found.taken)}:")
        for check in found.checks:
            click.echo(escaped(f"{MARKS[check.state]:>8}  {check.title}: {check.found}"))
            if check.todo and check.state != "ok":
                click.echo(escaped(f"{'':>8}  What to do: {check.todo}."))
        click.echo("")
        click.echo(verdict.lines[0])
    problems = found.problems
    if problems:
        raise VaultError(
            f"the checkup found {len(problems)} problem{'s' if len(problems) != 1 else ''}: "
            + ", ".join(c.title.lower() for c in problems),
            hint="each one says what to do above ('vault checkup' shows them again)",
        )
