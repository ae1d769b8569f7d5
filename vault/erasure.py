"""Erasing documents (``vault erase``): out of the catalog, its search index
and every file, here and, at the next ``vault sync``, on every remote.

Erasing a document removes its row, its pages and its words from the
catalog (``Catalog.remove``: deleted rows are overwritten, ``PRAGMA
secure_delete``), then saves the catalog as a new base (the search index
compacted first, ``Catalog.compact``), so no catalog file the new head
names holds its text; the files of the old chain, which did, are removed
with the save. Only then are its original, its searchable PDF and its
manifest deleted (nothing else names them: ``Vault.drop_unreferenced``). The
next sync removes all of them from each remote once the new head is there
(``sync.backup``), and asks the remote to empty its trash or old versions.

The audit log records the erasure with the documents' ids and counts only;
the receipt (``receipt_text``) lists the same, for the subject's file.

An erasure cut short (a crash, a kill) after the catalog lost the documents
would leave their files with nothing naming the documents any more, so a
second ``vault erase`` of the same ids could not find them. So the files of
an erasure are listed first in ``local/erasing.json`` (object ids only),
and the list is removed once they are deleted; ``finish_interrupted`` (at the
next ``vault erase`` or ``vault prune``) saves the catalog as a new base and
deletes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vault import clock
from vault.errors import NotFoundError
from vault.fsutil import atomic_write, remove_quietly
from vault.manifest import batch_ref
from vault.parts import split_ref

if TYPE_CHECKING:
    from vault.repository import Vault


@dataclass
class Erased:
    """What an erasure did (ids and counts only: no names)."""

    documents: list[str] = field(default_factory=list)
    files: int = 0  # objects and manifests deleted here
    time: str = ""


def files_of(row: dict[str, object]) -> list[str]:
    """Every stored file of a catalog row: its manifest and its objects (with
    the batch scan it was split from, which another document may name: then
    ``drop_unreferenced`` keeps it)."""
    found = [str(row["manifest"]), *split_ref(str(row["original"]))]
    if row.get("searchable"):
        found += split_ref(str(row["searchable"]))
    batch = batch_ref(row.get("batch"))
    if batch:
        found += split_ref(batch)
    return found


def erase(vault: Vault, doc_ids: list[str]) -> Erased:
    """Erase the documents ``doc_ids`` of the unlocked ``vault`` (its lock held).

    Every id must name a document (``NotFoundError`` before anything is
    changed otherwise)."""
    rows = [vault.document(doc_id) for doc_id in doc_ids]
    if not rows:
        raise NotFoundError("no document to erase")
    result = Erased(time=clock.stamp())
    files = [name for row in rows for name in files_of(row)]
    pending = vault.layout.local / PENDING
    atomic_write(pending, json.dumps(sorted(set(files))).encode())
    for row in rows:
        if vault.catalog.remove(str(row["id"])):
            result.documents.append(str(row["id"]))
    vault.audit.append("erase", result.documents, documents=len(result.documents))
    result.files = _delete(vault, files)
    return result


PENDING = "erasing.json"  # in local/: the files of an erasure not yet deleted


def _delete(vault: Vault, files: list[str]) -> int:
    """Save the catalog as a new base (no catalog file names the files any
    more), delete the files, then forget the list; how many were deleted."""
    vault.save_catalog(compact=True)
    before = sum(1 for f in files if vault.objects.exists(f) or vault.manifests.exists(f))
    vault.drop_unreferenced(files)
    after = sum(1 for f in files if vault.objects.exists(f) or vault.manifests.exists(f))
    remove_quietly(vault.layout.local / PENDING)
    return before - after


def finish_interrupted(vault: Vault) -> int | None:
    """Finish an erasure cut short (the unlocked ``vault``, its lock held):
    how many of its files were deleted now; None when there was none."""
    try:
        files = json.loads((vault.layout.local / PENDING).read_bytes())
    except FileNotFoundError:
        return None
    except ValueError:  # torn: the erasure had not begun to change anything
        remove_quietly(vault.layout.local / PENDING)
        return None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        remove_quietly(vault.layout.local / PENDING)
        return None
    vault.catalog  # noqa: B018 - opened (and the journal folded) before it is saved
    return _delete(vault, files)


def receipt_text(result: Erased, vault_id: str, remotes: list[str]) -> str:
    """A receipt for the subject's file: when, which document ids, how many
    files, and the backups that drop them at their next sync (no names)."""
    lines = [
        "Erasure receipt",
        f"Vault: {vault_id}",
        f"Erased: {clock.shown(result.time)}",
        f"Documents ({len(result.documents)}): {', '.join(result.documents)}",
        f"Files deleted on this computer: {result.files}",
    ]
    if remotes:
        lines.append(
            "Backups that delete them at their next 'vault sync' (and empty their trash "
            f"where they can): {', '.join(remotes)}"
        )
    else:
        lines.append("Backups: none set up.")
    return "\n".join(lines) + "\n"
