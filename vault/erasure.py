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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vault import clock
from vault.errors import NotFoundError
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
    """Every stored file of a catalog row: its manifest and its objects."""
    found = [str(row["manifest"]), *split_ref(str(row["original"]))]
    if row.get("searchable"):
        found += split_ref(str(row["searchable"]))
    return found


def erase(vault: Vault, doc_ids: list[str]) -> Erased:
    """Erase the documents ``doc_ids`` of the unlocked ``vault`` (its lock held).

    Every id must name a document (``NotFoundError`` before anything is
    changed otherwise)."""
    rows = [vault.document(doc_id) for doc_id in doc_ids]
    if not rows:
        raise NotFoundError("no document to erase")
    result = Erased(time=clock.stamp())
    files: list[str] = []
    for row in rows:
        if vault.catalog.remove(str(row["id"])):
            result.documents.append(str(row["id"]))
            files += files_of(row)
    vault.audit.append("erase", result.documents, documents=len(result.documents))
    vault.save_catalog(compact=True)
    before = sum(1 for f in files if vault.objects.exists(f) or vault.manifests.exists(f))
    vault.drop_unreferenced(files)
    after = sum(1 for f in files if vault.objects.exists(f) or vault.manifests.exists(f))
    result.files = before - after
    return result


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
