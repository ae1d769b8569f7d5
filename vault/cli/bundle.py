"""``vault export --bundle``: several documents, or a family's, in one encrypted file.

The ``export`` command (``vault.cli.documents``) parses the options and hands
a bundle over to ``export_bundle`` here, which chooses the documents, reads
or makes the passphrase, shows progress and says how the file is opened;
``vault.bundle`` writes it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.common import (
    DocumentProgress,
    UnlockSpec,
    available_passphrase,
    read_secret_file,
    unlocked,
)
from vault.display import escaped
from vault.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from vault.repository import Vault

GIVE_SEPARATELY = "Passphrase for this bundle (give it separately from the file):"


def bundle_passphrase(path: Path | None, unlock: UnlockSpec) -> tuple[str, bool]:
    """The bundle's passphrase and whether it was made here: the first line
    of ``path`` (held to the centre's passphrase policy, and never the
    vault's own), else six random words."""
    from vault.bundle import new_passphrase

    if path is None:
        return new_passphrase(), True
    from vault.passphrase_policy import check_passphrase

    given = read_secret_file(path, "bundle passphrase")
    check_passphrase(given)
    if given == available_passphrase(unlock.passphrase_file):
        raise UsageError(
            "the bundle's passphrase is the vault's passphrase",
            hint="give the bundle a passphrase of its own, or leave out "
            "--bundle-passphrase-file to have one made",
        )
    return given, False


def _documents(vault: Vault, doc_ids: tuple[str, ...], family: str | None) -> list[dict[str, Any]]:
    if family is not None:
        from vault.search import select

        rows = select(vault.catalog, family=family)
        if not rows:
            raise NotFoundError(
                f"no documents of family {family} in this vault",
                hint="'vault list --family REF' shows a family's documents",
            )
        return rows
    rows, seen = [], set()
    for doc_id in doc_ids:
        row = vault.document(doc_id)
        if row["id"] not in seen:
            seen.add(row["id"])
            rows.append(row)
    return rows


def export_bundle(
    root: Path,
    doc_ids: tuple[str, ...],
    family: str | None,
    out: Path,
    *,
    passphrase_file: Path | None,
    force: bool,
    purpose: str | None,
    unlock: UnlockSpec,
) -> None:
    """Write the bundle, record it, print the passphrase if it was made here."""
    from vault.bundle import bundle_path, write_bundle
    from vault.outfile import check_destination

    if family is not None:
        from vault import family as families

        family = families.normalise(family)  # a malformed one: refused before unlocking
    label = family or "records"
    path, note = bundle_path(out, label)
    check_destination(path, force=force)
    passphrase, made = bundle_passphrase(passphrase_file, unlock)
    bar = DocumentProgress("bundle") if sys.stderr.isatty() else None
    with unlocked(root, unlock, reading=True) as vault:
        rows = _documents(vault, doc_ids, family)
        try:
            written = write_bundle(
                vault, rows, path, passphrase, force=force, reason=purpose, progress=bar
            )
        finally:
            if bar is not None:
                bar.clear()
    if note:
        click.echo(f"vault: {escaped(note)}", err=True)
    count = len(written.ids)
    click.echo(
        f"Wrote {count} document{'' if count == 1 else 's'} ({written.files} "
        f"file{'' if written.files == 1 else 's'}) to "
        f"{escaped(written.path)}, encrypted with a passphrase.",
        err=True,
    )
    if made:
        click.echo(f"{GIVE_SEPARATELY} {passphrase}")
        click.echo(
            "It is shown only this once and kept nowhere: write it down or pass it on now.",
            err=True,
        )
    name = written.path.name
    tar = _quoted(name[: -len(".age")] + ".tar")
    click.echo(
        f"To open it: age -d -o {tar} {_quoted(name)} (type the passphrase), "
        f"then tar -xf {tar}; index.html lists the documents.",
        err=True,
    )


def _quoted(name: str) -> str:
    """A file name as typed in a shell or Windows' command prompt."""
    return f'"{escaped(name)}"' if any(c.isspace() or c in "'&;()$`" for c in name) else name
