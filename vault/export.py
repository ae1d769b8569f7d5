"""Exporting a document: decrypting it to a file the user names.

The plaintext never lies beside the destination under a temporary name: it
is decrypted into a private file the vault cleans up (``outfile.work_file``)
and appears at ``--out`` only whole and authenticated, through a last step
that never replaces an existing file without ``force`` (``outfile.place``).
A killed export therefore leaves either nothing at ``--out`` or the whole
file, and its temporary plaintext is removed by the next vault command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault.errors import NotFoundError
from vault.outfile import check_destination, place, work_file
from vault.parts import split_ref

if TYPE_CHECKING:
    from vault.repository import Vault


def export_document(
    vault: Vault, doc_id: str, out: Path, *, version: str = "original", force: bool = False
) -> dict[str, Any]:
    """Decrypt ``doc_id`` (its original, or its searchable PDF) to ``out``;
    return its catalog row."""
    row = vault.document(doc_id)
    object_id = row["searchable"] if version == "searchable" else row["original"]
    if object_id is None:
        raise NotFoundError(f"document {row['id']} has no {version} version")
    check_destination(out, force=force)
    identity = vault.unlocked_key().identity
    with work_file(vault.layout.tmp, out) as plain:
        vault.objects.get_file(object_id, plain, [identity])
        place(plain, out, force=force)
    vault.audit.append("export", [row["id"], *split_ref(object_id)], version=version)
    return row
