"""Commands for documents: ingest, list, show, export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.common import (
    DOC_TYPES,
    UnlockSpec,
    available_passphrase,
    json_option,
    opened,
    passphrase_options,
    print_json,
    quarantine_options,
    refused,
    report_set_aside,
    unlock_options,
    unlocked,
    verbose_option,
)
from vault.display import escaped, escaped_lines
from vault.errors import PartialBatchError
from vault.outfile import check_destination

if TYPE_CHECKING:
    from ingest.pipeline import Outcome


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--type",
    "doc_type",
    type=click.Choice(DOC_TYPES),
    default=None,
    help="The kind of document (default: found from its text by the keyword rules).",
)
@click.option(
    "--family",
    metavar="REF",
    help="Pseudonymous family reference, e.g. F-0042 (default: an F-nnnn code in the text).",
)
@quarantine_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no per-file lines.")
@verbose_option
@passphrase_options
@click.pass_obj
def ingest(
    root: Path,
    paths: tuple[Path, ...],
    doc_type: str | None,
    family: str | None,
    quarantine_dir: Path | None,
    max_pages: int | None,
    quiet: bool,
    verbose: bool,
    passphrase_file: Path | None,
) -> None:
    """Read (OCR) and encrypt files (PDF, TIFF, JPEG, PNG) into the vault.

    PATHS may be files or folders; types are found from the files' content.
    Each document gets a type (referral, court-order, letter, other), a family
    reference and fields such as case numbers and dates from its text, all
    kept encrypted. No passphrase is needed: documents are encrypted to the
    vault's public key and checked for duplicates the next time the vault is
    unlocked. If VAULT_PASSPHRASE or --passphrase-file is given, duplicates
    are caught straight away, without OCR. Stored files are left where they
    are; files that cannot be read (empty, corrupt, password-protected, too
    many pages) are moved to the quarantine folder beside a .reason.txt file,
    and the rest of the batch goes on (exit status 6). Files the computer
    could not store (disk full, no permission) stay where they are, the rest
    of the batch is still tried, and the exit status is 1.

    \b
    Example:
        vault ingest ~/Scans/2026-11-25 --type referral --family F-0042
    """
    from ingest.pipeline import Ingested, collect, ingest_paths, require_paths
    from ingest.progress import IngestProgress
    from ingest.settings import ingest_settings

    require_paths(paths)
    items = list(collect(list(paths)))
    passphrase = available_passphrase(passphrase_file)
    with opened(root) as vault:
        settings = ingest_settings(
            vault.root,
            vault.config,
            quarantine=quarantine_dir,
            max_pages=max_pages,
            doc_type=doc_type,
            family=family,
            verbose=verbose,
        )
        if passphrase:
            vault.unlock(passphrase)
            vault.catalog  # noqa: B018 - fold earlier work before checking duplicates
        bar = None if quiet or not sys.stderr.isatty() else IngestProgress(sys.stderr, len(items))

        def show(outcome: Outcome) -> None:
            if bar is not None:
                bar.clear()
            if isinstance(outcome, Ingested):
                if not quiet:
                    click.echo(escaped(outcome.message(verbose=verbose)))
            else:
                click.echo(escaped(outcome.message(verbose=verbose)), err=True)

        try:
            report = ingest_paths(
                vault,
                items,
                settings,
                on_start=bar.start_file if bar else None,
                on_page=bar.page if bar else None,
                on_outcome=show,
            )
        finally:
            if bar is not None:
                bar.clear()
        if vault.key is not None:
            vault.fold_journal()
    if not quiet or report.not_stored:
        click.echo(escaped(report.summary(settings.quarantine.folder)), err=True)
    if vault.set_aside:  # earlier entries the unlocked fold did not trust
        report_set_aside(vault)
    if report.failed:  # the computer refused (disk full): status 1, never 4 or 6
        raise refused(report.failed, f"{len(report.failed)} of {len(items)} inputs")
    if report.not_stored:
        raise PartialBatchError(f"{report.not_stored} of {len(items)} inputs were not stored")


def _row_summary(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: row[k]
        for k in ("id", "received", "doc_type", "family", "pages", "media_type", "size", "name")
    }


@click.command(name="list")
@json_option
@unlock_options
@click.pass_obj
def list_documents(root: Path, as_json: bool, unlock: UnlockSpec) -> None:
    """List the documents in the vault, oldest first.

    \b
    Example:
        vault list --json
    """
    with unlocked(root, unlock, reading=True) as vault:
        rows = [_row_summary(row) for row in vault.documents()]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("The vault has no documents yet.")
        return
    click.echo(f"{'ID':<10} {'RECEIVED':<11} {'TYPE':<12} {'FAMILY':<8} NAME")
    for row in rows:
        cells = [escaped(row[k] or "-") for k in ("id", "received", "doc_type", "family", "name")]
        click.echo(f"{cells[0]:<10} {cells[1][:10]:<11} {cells[2]:<12} {cells[3]:<8} {cells[4]}")


@click.command()
@click.argument("doc_id", metavar="ID")
@json_option
@unlock_options
@click.pass_obj
def show(root: Path, doc_id: str, as_json: bool, unlock: UnlockSpec) -> None:
    """Show a document's details and text.

    \b
    Example:
        vault show D-7K3M9Q
    """
    from sync.progress import human_bytes

    with unlocked(root, unlock, reading=True) as vault:
        row = vault.document(doc_id)
        text = vault.text(row["id"])
        vault.audit.append("show", [row["id"]])
    if as_json:
        print_json({**row, "text": text})
        return
    shown = {**row, "size": human_bytes(row["size"]) if row["size"] is not None else None}
    for key in ("id", "name", "received", "doc_type", "family", "media_type", "size", "pages"):
        value = escaped(shown[key]) if shown[key] is not None else "-"
        click.echo(f"{key.replace('_', ' '):>10}: {value}")
    for n, page in enumerate(text, 1):
        click.echo(f"\n--- page {n} ---\n{escaped_lines(page)}")


@click.command()
@click.argument("doc_id", metavar="ID")
@click.option(
    "--out", "out", required=True, type=click.Path(path_type=Path), help="The file to write."
)
@click.option(
    "--original",
    "version",
    flag_value="original",
    default=True,
    help="The file exactly as it was stored (default).",
)
@click.option(
    "--searchable", "version", flag_value="searchable", help="The searchable PDF made by OCR."
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@unlock_options
@click.pass_obj
def export(
    root: Path, doc_id: str, out: Path, version: str, force: bool, unlock: UnlockSpec
) -> None:
    """Decrypt a document to a file (private to you, mode 0600).

    The exported file is not protected: delete it when done. An existing
    file is never replaced without --force, even one made while the vault
    was being unlocked, and nothing is left beside it if the export is
    interrupted.

    \b
    Example:
        vault export D-7K3M9Q --out ~/Desktop/referral.pdf
    """
    out = out.expanduser()
    check_destination(out, force=force)
    with unlocked(root, unlock, reading=True) as vault:
        row = vault.export(doc_id, out, version=version, force=force)
    click.echo(f"Wrote {row['id']} to {escaped(out)}", err=True)

