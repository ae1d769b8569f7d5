"""The ``quarantine`` commands: what could not be stored, and getting it back."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from vault.cli.common import UnlockSpec, json_option, print_json, unlock_options, unlocked
from vault.display import escaped
from vault.outfile import check_destination

F = TypeVar("F", bound=Callable[..., Any])


def _folder_option(func: F) -> F:
    return click.option(
        "--quarantine",
        "quarantine_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="The quarantine folder, if not the usual one (quarantine_dir in config.json, "
        "else 'quarantine' beside the vault folder).",
    )(func)


def _folder(root: Path, option: Path | None) -> Path:
    from ingest.quarantine import quarantine_folder
    from vault.repository import Vault

    vault = Vault.open(root)
    return quarantine_folder(vault.root, option, vault.config)


@click.group()
def quarantine() -> None:
    """The files that could not be stored: list them, or get one back.

    A file that cannot be read (empty, damaged, password-protected, too many
    pages) is moved to the quarantine folder, encrypted to the vault's key
    (NAME.age), beside NAME.reason.txt saying why. 'vault quarantine export'
    gets one back (with the passphrase) so it can be fixed and ingested again.

    \b
    Example:
        vault quarantine list
        vault quarantine export scan.pdf --out ~/Desktop
    """


@quarantine.command(name="list")
@_folder_option
@json_option
@click.pass_obj
def quarantine_list(root: Path, quarantine_dir: Path | None, as_json: bool) -> None:
    """List the quarantined files and why each could not be stored.

    No passphrase is needed.

    \b
    Example:
        vault quarantine list
    """
    from ingest.quarantine import is_encrypted, quarantined, reason_of
    from vault.repository import require_vault

    require_vault(root)
    folder = _folder(root, quarantine_dir)
    rows = [
        {"name": p.name, "encrypted": is_encrypted(p), "reason": reason_of(p)}
        for p in quarantined(folder)
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("The quarantine is empty.")
        return
    for row in rows:
        mark = "" if row["encrypted"] else "  (not encrypted)"
        click.echo(f"{escaped(row['name'])}: {escaped(row['reason'])}{mark}")


@quarantine.command(name="export")
@click.argument("name")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="The file to write, or a folder to write it in under its own name.",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@_folder_option
@unlock_options
@click.pass_obj
def quarantine_export(
    root: Path,
    name: str,
    out: Path,
    force: bool,
    quarantine_dir: Path | None,
    unlock: UnlockSpec,
) -> None:
    """Decrypt quarantined file NAME to a file, to fix it and ingest it again.

    The file written is not protected: delete it (and the quarantined
    NAME.age and its reason file) once it is fixed and stored.

    \b
    Example:
        vault quarantine export scan.pdf --out ~/Desktop
    """
    from ingest.quarantine import export_quarantined, find_quarantined, original_name
    from vault import copies
    from vault.cli.documents import NOT_PROTECTED
    from vault.export import free_name

    src = find_quarantined(_folder(root, quarantine_dir), name)
    out = out.expanduser()
    dest = free_name(out / original_name(src)) if out.is_dir() else out
    check_destination(dest, force=force)
    with unlocked(root, unlock, reading=True) as vault:
        export_quarantined(vault, src, dest, force=force)
    with contextlib.suppress(OSError):
        copies.note(root, copies.EXPORT, dest)
    click.echo(f"Wrote {escaped(src.name)} to {escaped(dest)}", err=True)
    click.echo(NOT_PROTECTED, err=True)
