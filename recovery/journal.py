"""Which entries of a remote's journal a recovery brings into the new vault.

The journal names documents stored but not yet folded into the catalog, so
the authenticated head does not name them. Anyone who can write to the
remote can add a line to it; what keeps a forged one out is checked here,
in :func:`trusted_entries`, the one place a recovery decides.
"""

from __future__ import annotations

import re
from typing import Any

from vault.head import Head
from vault.keys import DataKey

_ID = re.compile(r"^[0-9a-f]{64}$")


def well_formed(entry: dict[str, Any]) -> bool:
    """An entry naming a manifest and its objects by id, with sizes."""
    objects = entry.get("objects")
    if not isinstance(objects, dict) or not isinstance(entry.get("size"), int):
        return False
    if not _ID.match(str(entry.get("manifest", ""))):
        return False
    return all(_ID.match(str(i)) and isinstance(s, int) and s >= 0 for i, s in objects.items())


def trusted_entries(
    entries: list[dict[str, Any]], key: DataKey, head: Head
) -> list[dict[str, Any]]:
    """The journal entries to bring in (``head``: the remote's authenticated head).

    Today this takes every well-formed entry, as the vault's own fold does:
    a signed manifest's MAC is checked when it is folded in, and an unsigned
    one (stored without the passphrase) is taken as the fold takes it.

    Journal-entry authentication plugs in HERE and nowhere else: when entries
    carry a signature by the installation key the head names, check each
    entry against ``head`` and ``key`` in this function and leave out the
    ones that fail (the caller reports them as not restored).
    """
    del key, head  # used once entries are signed (see above)
    return [entry for entry in entries if well_formed(entry)]
