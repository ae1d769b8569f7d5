"""``vault erase``: documents erased for good, here and from every backup."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.common import UnlockSpec, unlock_options, unlocked
from vault.display import escaped
from vault.errors import UsageError

if TYPE_CHECKING:
    from vault.catalog import Catalog


@click.command()
@click.argument("doc_ids", metavar="[ID]...", nargs=-1)
@click.option("--family", metavar="REF", help="Erase every document of this family reference.")
@click.option("--due", is_flag=True, help="Erase every document past its retention date.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@click.option(
    "--receipt",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a receipt for the subject's file: when, which ids, how many files (no names).",
)
@unlock_options
@click.pass_obj
def erase(
    root: Path,
    doc_ids: tuple[str, ...],
    family: str | None,
    due: bool,
    yes: bool,
    receipt: Path | None,
    unlock: UnlockSpec,
) -> None:
    """Erase documents for good: from the catalog, the search and every file.

    Give ids, or --family REF (every document of a family: a subject's
    request to be forgotten), or --due (every document past its retention
    date: see 'vault retention'). On a terminal it lists what goes and asks
    first; in a script give --yes. The documents' text leaves the catalog
    and its search index (no file the vault keeps holds it any more), and
    their files are deleted here at once; the next 'vault sync' deletes them
    from every backup, and empties the backup's trash or old versions where
    rclone can (else it says so). The audit log records the ids and counts
    only. Exports made earlier are not reached: delete them yourself.
    An e-mail's attachments are documents of their own, kept unless named
    too (or erased with --family); an attachment erased alone is still
    inside the stored original of its e-mail: both are said before erasing.

    \b
    Example:
        vault erase D-7K3M9Q
        vault erase --family F-0042 --receipt ~/erasure-F-0042.txt
        vault erase --due --yes
    """
    from sync.remotes import remotes
    from vault import erasure, retention
    from vault import family as families
    from vault.search import select

    if sum(bool(x) for x in (doc_ids, family, due)) != 1:
        raise UsageError("give the ids to erase, or --family REF, or --due (one of them)")
    if receipt is not None:
        receipt = receipt.expanduser().absolute()
        if receipt.exists():
            raise UsageError(f"{receipt} already exists", hint="choose another --receipt")
        if not receipt.parent.is_dir():
            raise UsageError(f"folder {receipt.parent} does not exist (for --receipt)")
    with unlocked(root, unlock) as vault:
        finished = erasure.finish_interrupted(vault)
        if finished is not None:
            click.echo(f"An erasure cut short was finished ({finished} files deleted here).")
        if doc_ids:
            rows: list[dict[str, Any]] = [vault.document(doc_id) for doc_id in doc_ids]
        elif family is not None:
            rows = select(vault.catalog, family=families.normalise(family))
        else:
            retention.check_types(vault.config)
            rows = retention.due(vault.catalog.documents(), vault.config)
        if not rows:
            click.echo("Nothing to erase: no document matches.")
            return
        for note in _linked(vault.catalog, rows):
            click.echo(f"vault: note: {note}", err=True)
        if not yes and not _confirmed(rows):
            click.echo("Nothing was erased.", err=True)
            return
        result = erasure.erase(vault, [str(row["id"]) for row in rows])
        names = sorted(remotes(vault.config))
    erased, files = len(result.documents), result.files
    click.echo(
        f"Erased {erased} document{'s' if erased != 1 else ''} "
        f"({files} file{'s' if files != 1 else ''} deleted here)."
    )
    if names:
        click.echo("Run 'vault sync' now: the backups delete them too.", err=True)
    if receipt is not None:
        fd = os.open(receipt, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(erasure.receipt_text(result, vault.vault_id, names))
        click.echo(f"Receipt written to {receipt}", err=True)


def _linked(catalog: Catalog, rows: list[dict[str, Any]]) -> list[str]:
    """What an erasure leaves of e-mails and attachments not named with them."""
    from vault.cli.describe import attachment_line

    ids = {str(row["id"]) for row in rows}
    notes = []
    for row in rows:
        found = (attachment_line(catalog, a)[1] for a in row.get("attachments") or [])
        kept = sorted({str(a["id"]) for a in found if a is not None} - ids)
        if kept:
            notes.append(
                f"{row['id']} is an e-mail whose attachments ({', '.join(kept)}) are documents "
                "of their own: they are kept (name them too to erase them)"
            )
        emails = [e for e in catalog.emails_of(str(row["id"])) if e not in ids]
        if emails:
            them = "it" if len(emails) == 1 else "them"
            notes.append(
                f"{row['id']} came attached to e-mail {', '.join(emails)}, whose stored "
                f"original still holds it: erase {them} too to remove it entirely"
            )
    return notes


def _confirmed(rows: list[dict[str, Any]]) -> bool:
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError("erasing asks first on a terminal", hint="add --yes")
    click.echo(f"These {len(rows)} documents will be erased for good:", err=True)
    for row in rows:
        line = f"  {row['id']}  {row['doc_type']}  {row['family'] or '-'}  {row['title'] or ''}"
        click.echo(escaped(line), err=True)
    try:
        return click.confirm("Erase them? This cannot be undone.", default=False, err=True)
    except click.Abort:
        raise KeyboardInterrupt from None
