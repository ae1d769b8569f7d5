"""A private, short-lived readable copy of a document, for ``vault view``.

The copy is decrypted into a new private folder (0700, its file 0600) named
``centre-vault-view-*``, in memory where the computer has such a folder
($XDG_RUNTIME_DIR, else /dev/shm), else in the system's temporary folder. It
is noted in the register of readable copies (``vault.copies``) with the time
it must be gone by, before a byte is written, so a killed ``vault view``
leaves nothing that the next vault command will not remove
(``copies.sweep_views``). ``close`` removes it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault import copies
from vault.errors import NotFoundError
from vault.export import media_type_of, version_object
from vault.filename import document_filename
from vault.fsutil import DIR_MODE, tmpfs_root
from vault.parts import split_ref

if TYPE_CHECKING:
    from vault.repository import Vault


@dataclass(frozen=True)
class ViewCopy:
    root: Path
    row: dict[str, Any]
    path: Path
    expires: float

    def close(self) -> None:
        """Remove the copy and its folder, and the register's note of it (idempotent)."""
        copies.remove_view(self.path)
        copies.forget(self.root, self.path)


def open_copy(vault: Vault, doc_id: str, *, version: str, minutes: float) -> ViewCopy:
    """Decrypt ``doc_id`` (``version``: "original" or "searchable") into a
    private folder; the caller must ``close`` it."""
    row = vault.document(doc_id)
    object_id = version_object(row, version)
    if object_id is None:
        raise NotFoundError(f"document {row['id']} has no {version} version")
    identity = vault.reading_identity()
    root = tmpfs_root()
    folder = Path(tempfile.mkdtemp(prefix=copies.VIEW_PREFIX, dir=str(root) if root else None))
    try:
        os.chmod(folder, DIR_MODE)
        path = folder / document_filename(row, media_type_of(row, version))
        expires = time.time() + minutes * 60
        copies.note(vault.root, copies.VIEW, path, expires=expires)
        vault.objects.get_file(object_id, path, [identity])
        vault.audit.append("view", [row["id"], *split_ref(object_id)], version=version)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return ViewCopy(vault.root, row, path, expires)
