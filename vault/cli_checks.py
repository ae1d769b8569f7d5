"""Commands that check the vault: verify, audit, rebuild-catalog."""

from __future__ import annotations

from pathlib import Path

import click

from vault.cli_common import UnlockSpec, json_option, opened, print_json, unlock_options, unlocked
from vault.errors import IntegrityError


@click.command()
@json_option
@click.pass_obj
def verify(root: Path, as_json: bool) -> None:
    """Re-hash every stored object; report corrupt and missing ones.

    Needs no passphrase. Exits with status 4 if anything is wrong.

    \b
    Example:
        vault verify
    """
    with opened(root) as vault:
        result = vault.verify()
    if as_json:
        print_json(
            {
                "checked": result.checked,
                "ok": result.ok,
                "bad": [{"id": b.id, "problem": b.problem} for b in result.bad],
            }
        )
    else:
        for bad in result.bad:
            click.echo(f"{bad.problem}: {bad.id}")
        click.echo(
            f"Checked {result.checked} objects: "
            + ("all good." if result.ok else f"{len(result.bad)} bad."),
            err=True,
        )
    if not result.ok:
        raise IntegrityError(
            f"{len(result.bad)} objects are missing or corrupt",
            hint="a backup copy can replace them",
        )


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def audit(ctx: click.Context, as_json: bool) -> None:
    """List the audit log (event types and ids only, never names or text).

    \b
    Example:
        vault audit
        vault audit verify
    """
    if ctx.invoked_subcommand is not None:
        return
    with opened(ctx.obj) as vault:
        entries = [entry.as_dict() for entry in vault.audit.entries()]
    if as_json:
        print_json(entries)
        return
    for e in entries:
        detail = " ".join(f"{k}={v}" for k, v in sorted(e["detail"].items()))
        ids = " ".join(i[:12] for i in e["ids"])
        click.echo(f"{e['seq']:>5} {e['time']} {e['event']:<14} {ids} {detail}".rstrip())


@audit.command(name="verify")
@click.pass_obj
def audit_verify(root: Path) -> None:
    """Check the audit log's hash chain; exit 4 if an entry was edited or removed.

    \b
    Example:
        vault audit verify
    """
    with opened(root) as vault:
        problems = vault.audit.verify(vault.audit_anchor())
    for problem in problems:
        click.echo(f"entry {problem.seq}: {problem.problem}")
    if problems:
        raise IntegrityError("the audit log has been altered")
    click.echo("The audit log is intact.", err=True)


@click.command(name="rebuild-catalog")
@unlock_options
@click.pass_obj
def rebuild_catalog(root: Path, unlock: UnlockSpec) -> None:
    """Rebuild the catalog and search index from the document manifests.

    Done automatically when the catalog is missing or unreadable.

    \b
    Example:
        vault rebuild-catalog
    """
    with unlocked(root, unlock) as vault:
        result = vault.rebuild_catalog()
        vault.fold_journal()
        count = vault.catalog.count()
    click.echo(f"Rebuilt the catalog: {count} documents.", err=True)
    if result.rejected:
        raise IntegrityError(
            f"{len(result.rejected)} manifests failed their checks and were left out"
        )


COMMANDS = [verify, audit, rebuild_catalog]
