"""The content-addressed, write-once object store.

An object's name is the SHA-256 of its stored (age-encrypted) bytes, laid out
as ``<root>/ab/abcdef…``. Objects are never modified. A put encrypts to a temp
file inside the store's own temp folder, hashes it, fsyncs and renames it into
place, so a crash leaves no partial object under the store; stale temp files
are removed when the store is opened. Verifying is re-hashing, which needs no
key.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyrage import x25519

from vault import crypto
from vault.errors import IntegrityError, NotFoundError
from vault.fsutil import (
    clean_stale_temps,
    commit_temp,
    make_private_dir,
    private_temp_path,
    remove_quietly,
)

_ID = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    id: str
    size: int


@dataclass(frozen=True)
class BadObject:
    id: str
    problem: str  # "missing", "corrupt" or "misplaced"


def hash_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class ObjectStore:
    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self.tmp = tmp

    def open(self) -> None:
        make_private_dir(self.root)
        make_private_dir(self.tmp)
        clean_stale_temps(self.tmp)

    @staticmethod
    def check_id(object_id: str) -> str:
        if not _ID.match(object_id):
            raise NotFoundError(f"not an object id: {object_id!r}")
        return object_id

    def path(self, object_id: str) -> Path:
        self.check_id(object_id)
        return self.root / object_id[:2] / object_id

    def exists(self, object_id: str) -> bool:
        return self.path(object_id).is_file()

    def ids(self) -> Iterator[str]:
        if not self.root.exists():
            return
        for sub in sorted(self.root.iterdir()):
            if sub.is_dir() and len(sub.name) == 2:
                for entry in sorted(sub.iterdir()):
                    if _ID.match(entry.name):
                        yield entry.name

    # --- put ---------------------------------------------------------------

    def put_file(self, src: Path, recipients: Sequence[x25519.Recipient]) -> StoredObject:
        """Encrypt the file ``src`` into the store (streamed)."""
        tmp = private_temp_path(self.tmp)
        try:
            crypto.encrypt_file(src, tmp, recipients)
            return self._commit(tmp)
        finally:
            remove_quietly(tmp)

    def put_bytes(self, data: bytes, recipients: Sequence[x25519.Recipient]) -> StoredObject:
        """Encrypt a small record (a manifest) into the store."""
        return self.put_encrypted(crypto.encrypt_bytes(data, recipients))

    def put_encrypted(self, blob: bytes) -> StoredObject:
        tmp = private_temp_path(self.tmp)
        try:
            with open(tmp, "wb") as f:
                f.write(blob)
            return self._commit(tmp)
        finally:
            remove_quietly(tmp)

    def _commit(self, tmp: Path) -> StoredObject:
        object_id = hash_file(tmp)
        size = tmp.stat().st_size
        final = self.path(object_id)
        if final.exists() and final.stat().st_size == size:
            return StoredObject(object_id, size)  # same bytes already stored
        make_private_dir(final.parent)
        commit_temp(tmp, final)
        return StoredObject(object_id, size)

    # --- get ---------------------------------------------------------------

    def check(self, object_id: str) -> Path:
        """Return the object's path after re-hashing it."""
        path = self.path(object_id)
        if not path.is_file():
            raise IntegrityError(f"object {object_id[:12]} is missing", hint="run 'vault verify'")
        if hash_file(path) != object_id:
            raise IntegrityError(
                f"object {object_id[:12]} is corrupt (its contents do not match its hash)",
                hint="run 'vault verify'; a backup copy can replace it",
            )
        return path

    def get_file(self, object_id: str, dst: Path, identities: Sequence[x25519.Identity]) -> None:
        """Check and decrypt an object to ``dst``; ``dst`` appears only on success."""
        crypto.decrypt_file(self.check(object_id), dst, identities)

    def get_bytes(self, object_id: str, identities: Sequence[x25519.Identity]) -> bytes:
        """Check and decrypt a small object (a manifest) into memory."""
        blob = self.check(object_id).read_bytes()
        return crypto.decrypt_bytes(blob, identities)

    def remove(self, object_id: str) -> None:
        path = self.path(object_id)
        remove_quietly(path)

    # --- verify ------------------------------------------------------------

    def verify(self, expected: set[str] | None = None) -> Iterator[tuple[str, BadObject | None]]:
        """Re-hash every object; yield (id, problem or None) for each one checked.

        With ``expected``, ids named there but absent are reported missing.
        """
        seen: set[str] = set()
        for object_id in self.ids():
            seen.add(object_id)
            path = self.path(object_id)
            ok = hash_file(path) == object_id
            yield object_id, None if ok else BadObject(object_id, "corrupt")
        for object_id in sorted((expected or set()) - seen):
            yield object_id, BadObject(object_id, "missing")

    def total_size(self) -> int:
        return sum(os.path.getsize(self.path(i)) for i in self.ids())
