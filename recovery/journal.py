"""Which entries of a remote's journal a recovery brings into the new vault.

The journal names documents stored but not yet folded into the catalog, so
the authenticated head does not name them. Anyone who can write to the
remote can add a line to it; what keeps a forged one out is checked here,
in :func:`trusted_entries`, the one place a recovery decides: the same check
the vault's own fold makes (``vault.journal.check_entry``), against the
installation signing key that the remote's authenticated head names.
"""

from __future__ import annotations

from typing import Any

from vault import journal as journals
from vault.head import Head


def trusted_entries(
    entries: list[dict[str, Any]], head: Head
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The journal entries to bring in, and the ones left out.

    ``head`` must be the remote's head with its MAC checked. An entry is
    taken when it is well formed and signed by the signing key the head
    names. A head from before signing keys names none: its vault's entries
    were written unsigned, and are taken as that vault's own fold takes them
    (a manifest with a MAC is checked when it is folded in; one without is
    signed then).
    """
    taken: list[dict[str, Any]] = []
    left_out: list[dict[str, Any]] = []
    for entry in entries:
        if head.signer is None:
            trusted = journals.is_entry(entry)
        else:
            trusted = journals.check_entry(entry, head.signer)
        (taken if trusted else left_out).append(entry)
    return taken, left_out
