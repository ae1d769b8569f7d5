"""The ``vault`` command: the group and the table of its commands.

Each area's commands live in a module of their own beside this one
(``documents``, ``view``, ``quarantine``, ``search``, ``records``, ``watch``,
``sync``, ``checks``, ``checkup``, ``setup``, ``recover``, ``session``, ``keys``,
``incident``, ``expect``, ``access``; shared options in
``common``). The table below names where each command lives and its
one-line summary, so ``vault --help`` imports none of them;
``group.LazyGroup`` loads a command's module only when it is used, and is
the one place where errors become messages and exit codes.

A new command: write it in the module of its area (or a new module), then add
one line to ``COMMANDS``; ``tests/cli/test_layout.py`` checks the summary.
"""

from __future__ import annotations

from pathlib import Path

import click

from vault import __version__
from vault.cli.group import EXIT_STATUSES, Entry, LazyGroup

COMMANDS: dict[str, Entry] = {
    "init": Entry(
        "vault.cli.setup", "init", "Create a new vault, its keys and the emergency sheet."
    ),
    "passwd": Entry(
        "vault.cli.setup", "passwd", "Change the passphrase of the key you unlock with."
    ),
    "key": Entry(
        "vault.cli.keys", "key", "Personal keys: each person who may open the vault has their own."
    ),
    "access": Entry(
        "vault.cli.access",
        "access",
        "Access levels: grant documents to a level, take them back, list who opens what.",
    ),
    "erase": Entry(
        "vault.cli.erase",
        "erase",
        "Erase documents for good: from the catalog, the search and every file.",
    ),
    "exports": Entry(
        "vault.cli.exports",
        "exports",
        "List every export: when, which document, where to, why, encrypted or not.",
    ),
    "prune": Entry(
        "vault.cli.prune",
        "prune",
        "Delete objects and manifests that no document names.",
    ),
    "retention": Entry(
        "vault.cli.retention",
        "retention",
        "List the documents past their retention date, the oldest date first.",
    ),
    "rotate": Entry(
        "vault.cli.rotate",
        "rotate",
        "Make a new key for the vault and encrypt every document again to it.",
    ),
    "emergency-sheet": Entry(
        "vault.cli.setup",
        "emergency_sheet",
        "Print a new emergency sheet; the old sheet's key stops working.",
    ),
    "separator-sheet": Entry(
        "vault.cli.separator",
        "separator_sheet",
        "Make separator sheets to put between documents scanned in one go.",
    ),
    "unlock": Entry(
        "vault.cli.session",
        "unlock",
        "Unlock the vault for the session: one passphrase, then no more questions.",
    ),
    "lock": Entry(
        "vault.cli.session", "lock", "Lock the vault now: its key is forgotten, commands ask again."
    ),
    "ingest": Entry(
        "vault.cli.documents",
        "ingest",
        "Store scans, photos, documents and e-mails (PDF, pictures, text, Word, .eml, .msg).",
    ),
    "list": Entry(
        "vault.cli.documents",
        "list_documents",
        "List the documents in the vault, oldest first, by title.",
    ),
    "show": Entry(
        "vault.cli.documents", "show", "Show a document: its title, the facts found, its text."
    ),
    "export": Entry(
        "vault.cli.documents",
        "export",
        "Decrypt a document to a file (mode 0600), or several to one encrypted bundle.",
    ),
    "view": Entry(
        "vault.cli.view",
        "view",
        "Open a document in the computer's viewer, leaving no copy behind.",
    ),
    "copies": Entry(
        "vault.cli.view",
        "copies_command",
        "List the readable copies outside the vault (exports, views, kept scans).",
    ),
    "quarantine": Entry(
        "vault.cli.quarantine",
        "quarantine",
        "The files that could not be stored: list them, or get one back.",
    ),
    "search": Entry(
        "vault.cli.search", "search", "Search the text of the documents (OCR or embedded text)."
    ),
    "edit": Entry(
        "vault.cli.records",
        "edit",
        "Correct a document's type, family, fields, title or retention date.",
    ),
    "watch": Entry(
        "vault.cli.watch", "watch", "Watch a scanner's folder and store each new file in the vault."
    ),
    "remote": Entry(
        "vault.cli.sync", "remote", "Set up where backups go: rclone remotes or local folders."
    ),
    "sync": Entry(
        "vault.cli.sync", "sync_command", "Back up the vault to remote NAME, or to every remote."
    ),
    "repair": Entry("vault.cli.sync", "repair", "Mend the vault and remote NAME from each other."),
    "status": Entry(
        "vault.cli.sync",
        "status",
        "Show the health of the vault and its backups (no passphrase needed).",
    ),
    "report": Entry(
        "vault.cli.sync",
        "report",
        "Write the backup and policy report for the management committee.",
    ),
    "checkup": Entry(
        "vault.cli.checkup",
        "checkup",
        "Check the computer and the backups against the centre's policy.",
    ),
    "verify": Entry(
        "vault.cli.checks",
        "verify",
        "Re-hash every stored object; report corrupt and missing ones.",
    ),
    "audit": Entry(
        "vault.cli.checks",
        "audit",
        "List the audit log (event types and ids only, never names or text).",
    ),
    "recover": Entry(
        "vault.cli.recover", "recover", "Rebuild the vault on this computer from a backup."
    ),
    "drill": Entry(
        "vault.cli.recover",
        "drill",
        "Rehearse a recovery from remote NAME (or every remote); the vault is not touched.",
    ),
    "incident": Entry(
        "vault.cli.incident",
        "incident",
        "The breach register: record each data breach and what was decided.",
    ),
    "ui": Entry(
        "vault.cli.ui", "ui", "Open the vault in your web browser: find, read, store, back up."
    ),
    "expect": Entry(
        "vault.cli.expect",
        "expect",
        "Expected post: what a sender says is on its way, matched when it comes.",
    ),
    "rebuild-catalog": Entry(
        "vault.cli.checks",
        "rebuild_catalog",
        "Rebuild the catalog and search index from the document manifests.",
    ),
}


@click.group(cls=LazyGroup, lazy=COMMANDS, epilog=EXIT_STATUSES)
@click.option(
    "--vault",
    "vault_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="VAULT_DIR",
    help="The vault folder (default: VAULT_DIR, or a folder in your user data folder).",
)
@click.version_option(__version__, prog_name="vault")  # no package metadata look-up
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
    import contextlib

    from vault.copies import sweep_views
    from vault.paths import locate

    ctx.obj = locate(vault_dir)
    with contextlib.suppress(OSError):  # view copies whose time is up (computer switched off)
        sweep_views(ctx.obj)


def main() -> None:
    cli.main(prog_name="vault")
