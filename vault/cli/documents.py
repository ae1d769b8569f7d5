"""Commands for documents: ingest, list, show, export."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.common import (
    DOC_TYPES,
    UnlockSpec,
    available_passphrase,
    json_option,
    max_pages_option,
    opened,
    passphrase_options,
    print_json,
    refused,
    report_set_aside,
    split_options,
    unlock_from_agent,
    unlock_options,
    unlocked,
    verbose_option,
)
from vault.cli.dropped import report_dropped
from vault.cli.filters import filter_options, read_filters
from vault.display import escaped, escaped_lines
from vault.errors import PartialBatchError, UsageError, VaultError
from vault.outfile import check_destination

if TYPE_CHECKING:
    from ingest.pipeline import Outcome
    from ingest.sources import StoredSources
    from vault.repository import Vault


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
    help="Pseudonymous family reference: F- and digits, e.g. F-0042 "
    "(default: an F-nnnn code in the text).",
)
@click.option(
    "--level",
    "levels",
    metavar="LEVEL",
    multiple=True,
    help="Grant the documents to this access level too (e.g. session): its keys open them. "
    "Types config.json's 'levels' names are granted by default. Repeat for several.",
)
@max_pages_option
@click.option(
    "--quarantine",
    "quarantine_dir",
    type=click.Path(file_okay=False, path_type=Path),
    hidden=True,  # ingest moves nothing to the quarantine; kept so older scripts still run
)
@click.option(
    "--remove-source",
    "sources",
    flag_value="remove",
    help="Delete each file once it is stored (or found already in the vault), without asking.",
)
@click.option(
    "--keep-source",
    "sources",
    flag_value="keep",
    help="Leave the files where they are, without asking.",
)
@split_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no per-file lines.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON only: an array with each stored or duplicate document.",
)
@verbose_option
@passphrase_options
@click.pass_obj
def ingest(
    root: Path,
    paths: tuple[Path, ...],
    doc_type: str | None,
    family: str | None,
    levels: tuple[str, ...],
    quarantine_dir: Path | None,
    max_pages: int | None,
    sources: str | None,
    no_split: bool,
    split_on_blank: bool | None,
    quiet: bool,
    as_json: bool,
    verbose: bool,
    passphrase_file: Path | None,
) -> None:
    """Store scans, photos, documents and e-mails (PDF, pictures, text, Word, .eml, .msg).

    PATHS may be files or folders; types are found from the files' content.
    Scans and photos (PDF, TIFF, JPEG, PNG, HEIC/HEIF, WebP, GIF, BMP) are
    read by OCR; a PDF with its own text keeps it. Text files (any common
    encoding; Markdown, CSV), web pages (HTML: the visible text, nothing
    fetched), Word (.docx, .doc),
    OpenDocument (.odt) and RTF documents are stored as they are, with their
    text and a searchable PDF made from it. An e-mail (.eml, Outlook .msg)
    is stored with its headers and body as its text, and each attachment
    as a document of its own (a scanned one OCR'd), linked to it. Each document gets a type
    (referral, court-order, letter, other), a family reference and fields
    such as case numbers and dates from its text, all kept encrypted. No
    passphrase is needed: documents are encrypted to the vault's public key
    and checked for duplicates the next time the vault is unlocked. If
    VAULT_PASSPHRASE or --passphrase-file is given, or the vault is unlocked
    ('vault unlock'), duplicates are caught straight away, without OCR. On a
    terminal, ingest then offers to delete the files it stored (a scanner's
    file is a readable copy outside the vault), and files already in the
    vault; --remove-source deletes them without asking (for scripts),
    --keep-source keeps them without asking; elsewhere they are kept. A file
    is deleted only once it is durably in the vault, and only if it has not
    changed since. A file that cannot be stored (empty, corrupt, locked by a
    password, a zip bomb, too many pages, a type the vault cannot read) is
    named with the reason ("not stored: NAME: why") and left where it is,
    untouched; the rest of the batch goes on (exit status 6). ('vault watch'
    moves such files from its inbox to the quarantine folder.) Files the
    computer could not store (disk full, no permission) stay where they are,
    the rest of the batch is still tried, and the exit status is 1.

    A document of the type and family of expected post ('vault expect')
    is marked received, and the summary says so; stored without the
    passphrase, it is matched when the vault is next unlocked.

    A PDF or TIFF of several documents scanned in one go, with a separator
    sheet ('vault separator-sheet', or a PATCH T sheet) on top of each, is
    split into one document per part: the sheets belong to no document, and
    the type and family a sheet carries go to the document after it (they
    win over --type and --family). The batch file is kept too, whole and
    unchanged ('vault export ID --batch'); the summary says how it was split
    ("batch.pdf: 3 documents, pages 1-2, 4-6, 8"). --no-split stores each
    file whole; --split-on-blank splits at blank pages too. Blank pages (the
    empty backs of a duplex scan) are not read by OCR.

    --level session grants the documents to the access level 'session' as
    they are stored: the session team's keys open them (and only them);
    types that config.json's 'levels' grants to a level are granted to it
    without asking.

    \b
    Example:
        vault ingest ~/Scans/2026-11-25 --type referral --family F-0042
        vault ingest ~/Scans/referral.pdf --remove-source
        vault ingest ~/Scans/session-notes.pdf --level session
    """
    from ingest.pipeline import Ingested, Split, collect, ingest_paths, require_paths
    from ingest.progress import IngestProgress
    from ingest.settings import ingest_settings
    from ingest.sources import StoredSources
    from vault import family as families

    require_paths(paths)
    if family is not None:
        family = families.normalise(family)
    items = list(collect(list(paths)))
    passphrase = available_passphrase(passphrase_file)
    with opened(root) as vault:
        levels = _asked_levels(vault, levels)  # refused before anything is read
        settings = ingest_settings(
            vault.root,
            vault.config,
            quarantine=quarantine_dir,
            max_pages=max_pages,
            doc_type=doc_type,
            family=family,
            verbose=verbose,
            split=not no_split,
            split_on_blank=split_on_blank,
            levels=levels,
        )
        if passphrase:
            vault.unlock(passphrase)
            vault.catalog  # noqa: B018 - fold earlier work before checking duplicates
        elif unlock_from_agent(vault):  # unlocked with 'vault unlock': no question asked
            vault.catalog  # noqa: B018 - as above
        bar = None if quiet or not sys.stderr.isatty() else IngestProgress(sys.stderr, len(items))
        stored_sources = StoredSources()

        def start(number: int, path: Path) -> None:
            stored_sources.taken(path)
            if bar is not None:
                bar.start_file(number, path)

        titled = verbose or sys.stdout.isatty()  # titles name senders: not for a task's log

        def show(outcome: Outcome) -> None:
            stored_sources.outcome(outcome)
            if bar is not None:
                bar.clear()
            parts = outcome.parts if isinstance(outcome, Split) else [outcome]
            for part in parts:
                if isinstance(part, Ingested):
                    if not quiet and not as_json:
                        click.echo(escaped(part.message(verbose=verbose, titled=titled)))
                else:
                    click.echo(escaped(part.message(verbose=verbose)), err=True)
            if isinstance(outcome, Split) and outcome.plan.empty:
                click.echo(f"vault: warning: {escaped(outcome.message(verbose=verbose))}", err=True)

        try:
            report = ingest_paths(
                vault,
                items,
                settings,
                on_start=start,
                on_page=bar.page if bar else None,
                on_outcome=show,
            )
        finally:
            if bar is not None:
                bar.clear()
        if vault.key is not None:
            vault.fold_journal()
        elif report.stored:
            report.expected_waiting = _awaited(vault)
        report.expected = list(vault.matched_expectations)
        vault.matched_expectations.clear()
    report_dropped(vault)
    if as_json:
        print_json([d for o in report.documents for d in o.as_dicts()])
    if not quiet or report.not_stored:
        click.echo(escaped(report.summary(settings.quarantine.folder)), err=True)
    if vault.set_aside:  # earlier entries the unlocked fold did not trust
        report_set_aside(vault)
    _offer_removal(stored_sources, sources)
    if report.failed:  # the computer refused (disk full): status 1, never 4 or 6
        raise refused(report.failed, f"{len(report.failed)} of {len(items)} inputs")
    if report.not_stored:
        raise PartialBatchError(f"{report.not_stored} of {len(items)} inputs were not stored")


def _asked_levels(vault: Vault, asked: tuple[str, ...]) -> tuple[str, ...]:
    """The access levels ``--level`` names, each known and with a key (exit 2)."""
    from vault import levels

    wanted = tuple(sorted({levels.check_level(vault.config, name) for name in asked}))
    vault.level_recipients(wanted)  # each has a key, the one noted for this folder
    return wanted


def _awaited(vault: Vault) -> int:
    """How many expected documents are awaited (from the audit log: no key)."""
    from vault import expected

    return sum(1 for e in expected.register(vault.audit.entries()) if e.open)


_SUMMARY_KEYS = (
    "id", "title", "received", "doc_type", "family", "pages", "media_type", "size", "name"
)  # fmt: skip


def _offer_removal(stored: StoredSources, choice: str | None) -> None:
    """Delete the stored files if asked to, or if the user says so on a terminal."""
    count = len(stored.deletable)
    if not count or choice == "keep":
        return
    if choice is None:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            return
        these = "This file is" if count == 1 else f"These {count} files are"
        also = f" ({stored.duplicates} was there already)" if stored.duplicates == 1 else ""
        if stored.duplicates > 1:
            also = f" ({stored.duplicates} were there already)"
        question = (
            f"{these} now safely in the vault{also}; the originals here can be read by "
            "anyone using this computer. Delete the originals?"
        )
        try:
            agreed = click.confirm(question, default=False, err=True)
        except click.Abort:  # Ctrl-C or Ctrl-D at the question: nothing deleted
            raise KeyboardInterrupt from None
        if not agreed:
            click.echo("Originals kept: delete them when done (or use --remove-source).", err=True)
            return
    deleted, kept = stored.delete()
    click.echo(f"Deleted {deleted} original file{'s' if deleted != 1 else ''}.", err=True)
    for path, why in kept:
        click.echo(f"vault: not deleted: {escaped(path.name)}: {escaped(why)}", err=True)
    if kept:
        raise VaultError(f"{len(kept)} stored files could not be deleted")


def _row_summary(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in _SUMMARY_KEYS}


@click.command(name="list")
@filter_options
@json_option
@unlock_options
@click.pass_obj
def list_documents(
    root: Path,
    doc_type: str | None,
    family: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
    unlock: UnlockSpec,
) -> None:
    """List the documents in the vault, oldest first, by title.

    --type, --family, --since and --until narrow the list; days are written
    as in the UK (04/12/2026, 4/12/26, 4 Dec 2026) or as 2026-12-04, and
    are the days documents were received.

    \b
    Example:
        vault list --family F-0042
        vault list --type court-order --since 1/11/2026 --until 04/12/2026
        vault list --json
    """
    from vault.search import select

    filters = read_filters(doc_type, family, since, until)
    with unlocked(root, unlock, reading=True) as vault:
        rows = [_row_summary(row) for row in select(vault.catalog, **filters.as_kwargs())]
        empty = not rows and vault.catalog.count() == 0
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("The vault has no documents yet." if empty else "No documents match.")
        return
    from vault.cli.describe import received_day

    click.echo(f"{'ID':<10} {'RECEIVED':<11} {'FAMILY':<8} TITLE")
    for row in rows:
        cells = [escaped(row[k] or "-") for k in ("id", "family")]
        title = escaped(row["title"] or row["name"])
        day = received_day(row["received"])
        click.echo(f"{cells[0]:<10} {day:<11} {cells[1]:<8} {title}")


def _show_history(row: dict[str, Any], corrections: list[dict[str, Any]], as_json: bool) -> None:
    """Each correction of a document, oldest first (``vault show --history``)."""
    if as_json:
        print_json({"id": row["id"], "history": corrections})
        return
    if not corrections:
        click.echo(f"{row['id']} has not been corrected since it was stored.")
        return
    from vault.clock import shown

    for number, correction in enumerate(corrections, 1):
        by = correction.get("key") or "the coordinator"
        click.echo(f"Correction {number}, {shown(correction.get('time'))}, with the key '{by}':")
        for name, (before, after) in sorted(correction.get("changed", {}).items()):
            click.echo(escaped(f"  {name}: {_value(before)} -> {_value(after)}"))


def _value(value: Any) -> str:
    if value in (None, "", {}):
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value)


def _family_line(row: dict[str, Any]) -> str:
    """The family as ``show`` gives it; a value stored by an older version
    that is no reference (a name) is shown as stored, with how to correct it."""
    from vault import family as families

    stored = row["family"]
    if not stored:
        return "none given"
    if families.parse(stored) is None:
        return (
            f"{stored} (not a family reference, which is {families.FORM}: "
            f"correct it with 'vault edit {row['id']} --family F-...')"
        )
    return str(stored)


@click.command()
@click.argument("doc_id", metavar="ID")
@json_option
@click.option(
    "--history", is_flag=True, help="List each correction: when, by which key, before and after."
)
@unlock_options
@click.pass_obj
def show(root: Path, doc_id: str, as_json: bool, history: bool, unlock: UnlockSpec) -> None:
    """Show a document: its title, the facts found, its text.

    The facts are those found in its text (case and referral numbers,
    dates) or set with 'vault edit'; the file it came from is named. An
    e-mail lists its attachments (each a document of its own), and an
    attachment names the e-mail it came with. A document that was expected
    post ('vault expect') names the expectation and its sender.
    --history lists each correction instead: when, with which key, and
    each detail before and after.

    \b
    Example:
        vault show D-7K3M9Q
        vault show D-7K3M9Q --history
    """
    from vault.cli.describe import (
        attachment_line,
        email_line,
        expected_for,
        file_kind,
        found_facts,
        received,
    )

    with unlocked(root, unlock, reading=True) as vault:
        row = vault.document(doc_id)
        text = vault.text(row["id"])
        corrections = vault.history(row["id"]) if history else []
        attachments = [attachment_line(vault.catalog, a) for a in row["attachments"]]
        emails = [vault.catalog.get(e) for e in vault.catalog.emails_of(row["id"])]
        awaited = expected_for(vault, row["id"])
        vault.audit.append("show", [row["id"]])
    if history:
        _show_history(row, corrections, as_json)
        return
    if as_json:
        kept = [found["id"] if found else line.split()[0] for line, found in attachments]
        attached_to = [email["id"] for email in emails if email]
        print_json(
            {
                **row, "attachments": kept, "attached_to": attached_to, "text": text,
                "expected": awaited[1] if awaited else None,
            }
        )  # fmt: skip
        return
    click.echo(f"{row['id']}  {escaped(row['title'] or row['name'])}")
    lines = [
        ("type", row["doc_type"].replace("-", " ")),
        ("family", _family_line(row)),
        ("received", received(row["received"])),
        ("file", f"{row['name']} ({file_kind(row)})"),
    ]
    if attachments:
        lines.append(("attachments", ", ".join(line for line, _ in attachments)))
    lines += [("attached to", email_line(email)) for email in emails if email]
    if awaited:
        lines.append(("expected", awaited[0]))
    if row.get("batch"):
        from vault.batches import pages_text

        lines.append(("batch", pages_text(row["batch"])))
    facts = found_facts(row["fields"])
    width = max(len(label) for label, _ in lines + facts)
    for label, value in lines:
        click.echo(f"  {label:>{width}}: {escaped(value)}")
    if not facts:
        click.echo("Found in the text: no case or referral number, no date.")
    else:
        click.echo("Found in the text:")
        for label, value in facts:
            click.echo(f"  {label:>{width}}: {escaped(value)}")
    for n, page in enumerate(text, 1):
        click.echo(f"\n--- page {n} ---\n{escaped_lines(page)}")


NOT_PROTECTED = "This file is not protected by the vault: delete it when you are done with it."


@click.command()
@click.argument("doc_ids", metavar="[ID]...", nargs=-1)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    help="The file to write, or a folder to write it in under the document's title.",
)
@click.option(
    "--original",
    "version",
    flag_value="original",
    default=None,
    help="The file exactly as it was stored (default, unless --out names a .pdf "
    "for a scanned image).",
)
@click.option(
    "--searchable", "version", flag_value="searchable", help="The searchable PDF made by OCR."
)
@click.option(
    "--batch",
    "version",
    flag_value="batch",
    help="The whole batch scan the document was split from, exactly as scanned.",
)
@click.option(
    "--bundle",
    "bundle",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Write the documents (the IDs, or --family's) to one encrypted file (FILE.age) "
    "that a passphrase opens: their originals, searchable PDFs and an index page.",
)
@click.option(
    "--family",
    metavar="REF",
    help="With --bundle: every document of this family reference.",
)
@click.option(
    "--bundle-passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --bundle: read its passphrase from this file (first line); without it, "
    "six random words are made and printed once.",
)
@click.option("--force", is_flag=True, help="Overwrite --out (or --bundle) if it exists.")
@click.option(
    "--purpose",
    type=click.Choice(["court", "subject-access", "professional", "police", "other"]),
    help="Why it is exported, for the record of exports (asked on a terminal).",
)
@unlock_options
@click.pass_obj
def export(
    root: Path,
    doc_ids: tuple[str, ...],
    out: Path | None,
    version: str | None,
    bundle: Path | None,
    family: str | None,
    bundle_passphrase_file: Path | None,
    force: bool,
    purpose: str | None,
    unlock: UnlockSpec,
) -> None:
    """Decrypt a document to a file (mode 0600), or several to one encrypted bundle.

    The exported file is not protected: delete it when done ('vault status'
    counts the exports still there; to only read a document, 'vault view'
    leaves no copy). --out may be a folder: the file is written there under
    the document's title. The file matches its name: a name ending in .pdf
    for a scanned image gets the searchable PDF made from it, and otherwise
    the extension is corrected to the file's type (and said). An existing
    file is never replaced without --force, even one made while the vault
    was being unlocked, and nothing is left beside it if the export is
    interrupted. Every export is recorded (what, when, whether it went to a
    removable drive, why: --purpose, asked on a terminal; 'vault exports'
    lists them); one to a data stick is warned of, since the centre's policy
    asks that a stick's contents are encrypted.

    --bundle FILE writes several documents (the IDs given, or every one of
    --family REF) to one encrypted file for a subject access request, a
    court or a data stick: an age file holding a tar archive of a folder
    with each original, each searchable PDF and index.html listing them.
    Its passphrase is six random words printed once (give them separately
    from the file), or the first line of --bundle-passphrase-file. The
    receiver needs only the age command and tar: 'age -d -o FILE.tar
    FILE.age', then 'tar -xf FILE.tar'. No unencrypted copy is written
    anywhere, so 'vault status' does not count it.

    \b
    Example:
        vault export D-7K3M9Q --out ~/Desktop/referral.pdf --purpose court
        vault export D-7K3M9Q --out ~/Desktop
        vault export --family F-0042 --bundle /media/stick/F-0042.age --purpose subject-access
        vault export D-7K3M9Q D-2B8X4N --bundle ~/Desktop/court.age --purpose court
    """
    from vault.export import REASONS

    _check_export_options(doc_ids, out, version, bundle, family, bundle_passphrase_file)
    if purpose is None and sys.stdin.isatty() and sys.stderr.isatty():
        purpose = click.prompt(
            "Why is it exported", type=click.Choice(REASONS), default="other", err=True
        )
    if bundle is not None:
        from vault.cli.bundle import export_bundle

        export_bundle(
            root,
            doc_ids,
            family,
            bundle.expanduser(),
            passphrase_file=bundle_passphrase_file,
            force=force,
            purpose=purpose,
            unlock=unlock,
        )
        return
    assert out is not None  # _check_export_options
    _export_one(root, doc_ids[0], out.expanduser(), version, force, purpose, unlock)


def _check_export_options(
    doc_ids: tuple[str, ...],
    out: Path | None,
    version: str | None,
    bundle: Path | None,
    family: str | None,
    passphrase_file: Path | None,
) -> None:
    """Refuse, in one line, what does not go together."""
    if bundle is not None and out is not None:
        raise UsageError(
            "--out and --bundle do not go together",
            hint="--out writes one document as it is; --bundle writes one encrypted file",
        )
    if bundle is None:
        if out is None:
            raise UsageError(
                "say where to write: --out FILE (one document) or --bundle FILE (encrypted)"
            )
        if family is not None:
            raise UsageError("--family is for --bundle", hint="add --bundle FILE")
        if passphrase_file is not None:
            raise UsageError("--bundle-passphrase-file is for --bundle", hint="add --bundle FILE")
        if len(doc_ids) != 1:
            raise UsageError(
                "--out writes one document: give one ID"
                if not doc_ids
                else f"--out writes one document, not {len(doc_ids)}",
                hint="for several documents use --bundle FILE",
            )
        return
    if version is not None:
        raise UsageError(
            f"--{version} is for --out",
            hint="a bundle holds each original and its searchable PDF",
        )
    if family is not None and doc_ids:
        raise UsageError("give the IDs or --family REF, not both")
    if family is None and not doc_ids:
        raise UsageError("--bundle needs the documents: give their IDs, or --family REF")


def _export_one(
    root: Path,
    doc_id: str,
    out: Path,
    version: str | None,
    force: bool,
    purpose: str | None,
    unlock: UnlockSpec,
) -> None:
    from vault import copies
    from vault.export import destination_kind, plan_export

    if not out.is_dir():
        check_destination(out, force=force)
    with unlocked(root, unlock, reading=True) as vault:
        row = vault.document(doc_id)
        plan = plan_export(row, out, version)
        if plan.path != out and not out.is_dir():
            check_destination(plan.path, force=force)
        vault.export(row["id"], plan.path, version=plan.version, force=force, reason=purpose)
    with contextlib.suppress(OSError):  # counted by status; never fails the export
        copies.note(root, copies.EXPORT, plan.path)
    if plan.note:
        click.echo(f"vault: {escaped(plan.note)}", err=True)
    click.echo(f"Wrote {row['id']} to {escaped(plan.path)}", err=True)
    click.echo(NOT_PROTECTED, err=True)
    if destination_kind(plan.path) == "removable drive":
        click.echo(
            "vault: warning: this went to a removable drive (a data stick?), and it is not "
            "encrypted: the centre's policy asks that a data stick's contents are encrypted "
            "('vault export ID --bundle FILE' writes an encrypted file)",
            err=True,
        )
