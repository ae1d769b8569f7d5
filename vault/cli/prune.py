"""``vault prune``: delete the files nothing names, here and on the backups."""

from __future__ import annotations

from pathlib import Path

import click

from vault.cli.common import UnlockSpec, unlock_options, unlocked


@click.command()
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@click.option(
    "--local-only", is_flag=True, help="Leave the backups alone (no full sync afterwards)."
)
@unlock_options
@click.pass_obj
def prune(root: Path, dry_run: bool, local_only: bool, unlock: UnlockSpec) -> None:
    """Delete objects and manifests that no document names.

    Such files are left by a crash at the wrong moment (a file stored
    whose record was never written: its source stayed in the inbox and was
    stored again). They hold no document the vault shows, but they are
    encrypted copies all the same. Then each backup gets a full sync
    ('vault sync NAME --full'), which lists the whole remote and deletes
    there what this computer no longer names. Refused while a key rotation
    is under way.

    \b
    Example:
        vault prune --dry-run
        vault prune
    """
    from sync.progress import human_bytes
    from vault.prune import prune as prune_files

    with unlocked(root, unlock) as vault:
        found = prune_files(vault, dry_run=dry_run)
    if found.erasure is not None:
        click.echo(f"An erasure cut short was finished ({found.erasure} files deleted here).")
    verb = "would be deleted" if dry_run else "deleted"
    click.echo(f"{found.files} files nothing names ({human_bytes(found.bytes)}) {verb} here.")
    if dry_run or local_only:
        return
    from sync.backup import sync_remote
    from sync.remotes import remotes
    from vault.repository import Vault

    vault = Vault.open(root)
    for name, path in sorted(remotes(vault.config).items()):
        result = sync_remote(vault, name, path, full=True)
        click.echo(f"{name}: {result.deleted} files deleted there.")
