"""The ``watch`` command: ingest what a scanner drops into a folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vault.cli.common import (
    available_passphrase,
    passphrase_options,
    quarantine_options,
    refused,
    split_options,
    verbose_option,
)
from vault.display import escaped
from vault.errors import PartialBatchError, UsageError

if TYPE_CHECKING:
    from ingest.pipeline import Outcome
    from ingest.watch import WatchOptions
    from vault.keys import DataKey
    from vault.repository import Vault


@click.command()
@click.argument("inbox", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--processed",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep each stored file, moved to this folder (not encrypted: 'vault status' "
    "counts what is there). Default: delete it once it is stored.",
)
@click.option(
    "--remove-source",
    is_flag=True,
    help="Delete each file once it is stored (the default; kept for older scripts).",
)
@click.option(
    "--once",
    is_flag=True,
    help="Store what is in INBOX now, then stop (for cron); a file still being "
    "written after --settle seconds is left for the next run.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="Seconds between looks at INBOX.",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=3.0,
    show_default=True,
    help="Seconds a file's size and time must stay the same before it is taken.",
)
@quarantine_options
@split_options
@click.option("--quiet", "-q", is_flag=True, help="No line per document.")
@verbose_option
@passphrase_options
@click.pass_obj
def watch(
    root: Path,
    inbox: Path,
    processed: Path | None,
    remove_source: bool,
    once: bool,
    interval: float,
    settle: float,
    quarantine_dir: Path | None,
    max_pages: int | None,
    no_split: bool,
    split_on_blank: bool | None,
    quiet: bool,
    verbose: bool,
    passphrase_file: Path | None,
) -> None:
    """Watch a scanner's folder and store each new file in the vault.

    A file is taken once it has stopped changing for --settle seconds
    (hidden files and partial downloads such as *.part, *.tmp and ~$* are
    left alone). Only once a document is durably in the vault (its encrypted
    file, its record and the journal line written and flushed to the disk)
    is its file deleted, so a crash or power cut never loses a scan and no
    readable copy is left behind. With --processed DIR the file is moved
    there instead (it stays readable: delete it when done). Files that
    cannot be stored (unreadable, or of a type the vault cannot read) are
    moved to the quarantine folder, encrypted, beside a .reason.txt file. The
    vault is locked for one file at a time, so other
    vault commands can run in between.
    A batch scan with separator sheets is split into one document per part
    (as 'vault ingest' does; --no-split, --split-on-blank) and its file
    leaves the inbox only once every part is stored.
    No passphrase is needed; with VAULT_PASSPHRASE or --passphrase-file,
    duplicates are caught straight away, and a document that was expected
    post ('vault expect') is marked received and named (without the
    passphrase, when the vault is next unlocked). It starts by saying what it watches;
    on a terminal it shows the file and page being read. Stop with Ctrl-C.
    With --once, the exit status is 1 if the computer refused to store a file
    (disk full, no permission; it stays in the inbox), else 6 if any file was
    quarantined.

    \b
    Example:
        vault watch ~/Scans/inbox
        vault watch ~/Scans/inbox --once
    """
    from ingest.pipeline import Ingested, Split
    from ingest.progress import IngestProgress
    from ingest.settings import ingest_settings
    from ingest.watch import InboxWatcher, WatchOptions, check_inbox, processed_folder
    from vault.repository import Vault

    if processed is not None and remove_source:
        raise UsageError("give either --processed or --remove-source, not both")
    vault = Vault.open(root)
    inbox = check_inbox(inbox, vault.root)
    settings = ingest_settings(
        vault.root,
        vault.config,
        quarantine=quarantine_dir,
        max_pages=max_pages,
        verbose=verbose,
        split=not no_split,
        split_on_blank=split_on_blank,
    )
    options = WatchOptions(
        inbox=inbox,
        processed=None if processed is None else processed_folder(inbox, processed, vault.root),
        interval=interval,
        settle=settle,
        once=once,
    )
    if options.processed is not None:
        import contextlib

        from vault import copies

        with contextlib.suppress(OSError):  # counted by status; never stops the watch
            copies.note(vault.root, copies.PROCESSED, options.processed)
    key: DataKey | None = None
    passphrase = available_passphrase(passphrase_file)
    if passphrase:
        vault.unlock(passphrase)
        key = vault.key

    def open_vault() -> Vault:
        fresh = Vault.open(root)  # re-read per file: others may have changed the vault
        fresh.key = key
        return fresh

    on_terminal = sys.stderr.isatty()
    bar = IngestProgress(sys.stderr, None) if on_terminal and not quiet else None
    if not quiet and (on_terminal or not once):
        click.echo(escaped(_starting(options)), err=True)
    titled = verbose or sys.stdout.isatty()  # titles name senders: not for a task's log

    def show(outcome: Outcome) -> None:
        if bar is not None:
            bar.clear()
        for part in outcome.parts if isinstance(outcome, Split) else [outcome]:
            if isinstance(part, Ingested):
                if not quiet:
                    click.echo(escaped(part.message(verbose=verbose, titled=titled)))
            else:
                click.echo(escaped(part.message(verbose=verbose)), err=True)
        if isinstance(outcome, Split) and outcome.plan.empty:
            click.echo(f"vault: warning: {escaped(outcome.message(verbose=verbose))}", err=True)

    def notice(message: str) -> None:
        if bar is not None:
            bar.clear()
        click.echo(f"vault: {escaped(message)}", err=True)

    watcher = InboxWatcher(
        open_vault,
        settings,
        options,
        on_outcome=show,
        on_notice=notice,
        on_start=bar.start if bar else None,
        on_page=bar.page if bar else None,
    )
    try:
        report = watcher.run()
    finally:
        if bar is not None:
            bar.clear()
    if key is None and report.stored:  # expected post is matched when next unlocked
        from vault import expected

        report.expected_waiting = sum(1 for e in expected.register(vault.audit.entries()) if e.open)
    if not quiet or report.not_stored:
        click.echo(escaped(report.summary(settings.quarantine.folder)), err=True)
    if report.failed:  # the computer refused (disk full): status 1, as ingest
        raise refused(report.failed, f"{len(report.failed)} files in {inbox}")
    if report.not_stored:
        raise PartialBatchError(f"{report.not_stored} files in {inbox} were not stored")


def _starting(options: WatchOptions) -> str:
    """The first line: what is watched, where stored files go, how to stop."""
    then = (
        "deleted from that folder" if options.processed is None else f"moved to {options.processed}"
    )
    if options.once:
        return (
            f"Storing the files in {options.inbox} now; each is {then} once stored "
            "(a file still being written is left for the next run)."
        )
    return (
        f"Watching {options.inbox} for new scans: each is stored in the vault, then {then}. "
        "Press Ctrl-C to stop."
    )
