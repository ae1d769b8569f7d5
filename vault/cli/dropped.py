"""Saying what folding the journal in found: which documents were dropped
as duplicates (stored without the passphrase, they were announced under an
id of their own, and that id now leads to the document they copy), and
which were expected post, now marked received (``vault.expected``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from vault.repository import Vault


def report_dropped(vault: Vault) -> None:
    """One line on stderr for each duplicate this command's folds dropped."""
    for doc_id, copy_of in vault.dropped_duplicates:
        click.echo(
            f"vault: {doc_id} was a duplicate of {copy_of} (the same file stored twice); "
            f"it is kept once, as {copy_of}",
            err=True,
        )
    vault.dropped_duplicates.clear()


def report_matched(vault: Vault) -> None:
    """One line on stderr for each expected document this command's folds found."""
    for found in vault.matched_expectations:
        click.echo(f"vault: {found.message()}.", err=True)
    vault.matched_expectations.clear()
