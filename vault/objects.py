"""The content-addressed, write-once object store.

An object's name is the SHA-256 of its stored (age-encrypted) bytes, laid out
as ``<root>/ab/abcdef…``. Objects are never modified. A put encrypts to a temp
file inside the store's own temp folder, hashes it, fsyncs and renames it into
place, so a crash leaves no partial object under the store; stale temp files
are removed when the store is opened. A put given ``pending``
(``group_commit.PendingFiles``) renames without the fsyncs: the caller makes
the object durable, with the rest of its group, before anything names it.
Verifying is re-hashing, which needs no key.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyrage import x25519

from vault import crypto, parts
from vault.errors import IntegrityError, NotFoundError
from vault.fsutil import (
    clean_stale_temps,
    commit_temp,
    fsync_dir,
    make_private_dir,
    private_temp_path,
    remove_quietly,
    write_private_temp,
)
from vault.group_commit import PendingFiles

_ID = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024
_IN_MEMORY = 4 * 1024 * 1024  # a file up to this size is encrypted in memory


@dataclass(frozen=True)
class StoredObject:
    """What a put stored: one object, or a document in parts (see ``parts.py``).

    ``id`` is the object id, or for a document in parts its reference (the
    parts' ids joined by ``,``); ``size`` counts the stored bytes of all parts.
    """

    id: str
    size: int
    parts: tuple[tuple[str, int], ...] = ()

    @property
    def objects(self) -> dict[str, int]:
        """Every object written, with its size."""
        return dict(self.parts) if self.parts else {self.id: self.size}


@dataclass(frozen=True)
class BadObject:
    id: str
    problem: str  # "missing", "corrupt" or "misplaced"


def hash_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _size_of(path: Path) -> int | None:
    """The size of the file at ``path``, None if there is none."""
    try:
        return os.stat(path).st_size
    except (FileNotFoundError, NotADirectoryError):
        return None


class ObjectStore:
    def __init__(
        self, root: Path, tmp: Path, *, part_size: int = parts.PART_SIZE, jobs: int | None = None
    ) -> None:
        self.root = root
        self.tmp = tmp
        self.part_size = part_size
        self.jobs = parts.default_jobs() if jobs is None else jobs
        self._folders: set[Path] = set()  # object folders known to exist (made private)

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

    def put_file(
        self,
        src: Path,
        recipients: Sequence[x25519.Recipient],
        *,
        pending: PendingFiles | None = None,
    ) -> StoredObject:
        """Encrypt the file ``src`` into the store (streamed).

        A file larger than ``part_size`` is stored in parts, encrypted in
        parallel; every part is committed only once all of them are written
        (and made durable then, whatever ``pending``).
        """
        size = src.stat().st_size
        part_spans = parts.spans(size, self.part_size)
        if len(part_spans) > 1:
            return self._put_parts(src, part_spans, recipients)
        if size <= _IN_MEMORY:  # encrypted and hashed in memory: written once, never read back
            return self.put_bytes(src.read_bytes(), recipients, pending=pending)
        tmp = private_temp_path(self.tmp)
        try:
            crypto.encrypt_file(src, tmp, recipients)
            return self._commit(tmp, pending=pending)
        finally:
            remove_quietly(tmp)

    def _put_parts(
        self,
        src: Path,
        part_spans: list[tuple[int, int]],
        recipients: Sequence[x25519.Recipient],
    ) -> StoredObject:
        temps: list[Path] = []
        try:
            temps = [private_temp_path(self.tmp) for _ in part_spans]
            written = parts.encrypt_parts(
                src, temps, part_spans, [str(r) for r in recipients], jobs=self.jobs
            )
            folders = set()
            for tmp, (object_id, size) in zip(temps, written, strict=True):
                final = self.path(object_id)
                if not (final.exists() and final.stat().st_size == size):
                    make_private_dir(final.parent)
                    os.replace(tmp, final)  # the worker fsynced it
                    folders.add(final.parent)
            for folder in folders:
                fsync_dir(folder)
        finally:
            for tmp in temps:
                remove_quietly(tmp)
        ref = parts.join_ref([object_id for object_id, _ in written])
        return StoredObject(ref, sum(size for _, size in written), tuple(written))

    def put_bytes(
        self,
        data: bytes,
        recipients: Sequence[x25519.Recipient],
        *,
        pending: PendingFiles | None = None,
    ) -> StoredObject:
        """Encrypt a small record (a manifest) into the store."""
        return self.put_encrypted(crypto.encrypt_bytes(data, recipients), pending=pending)

    def put_encrypted(self, blob: bytes, *, pending: PendingFiles | None = None) -> StoredObject:
        tmp = write_private_temp(self.tmp, blob)
        try:
            return self._commit(
                tmp, hashlib.sha256(blob).hexdigest(), pending=pending, size=len(blob)
            )
        finally:
            remove_quietly(tmp)

    def commit(self, tmp: Path, digest: str | None = None) -> StoredObject:
        """Store the encrypted file ``tmp`` (a temp file of ``self.tmp``) under its
        hash (``digest``, when the writer hashed what it wrote)."""
        return self._commit(tmp, digest)

    def _commit(
        self,
        tmp: Path,
        digest: str | None = None,
        *,
        pending: PendingFiles | None = None,
        size: int | None = None,
    ) -> StoredObject:
        object_id = digest or hash_file(tmp)
        if size is None:
            size = tmp.stat().st_size
        final = self.path(object_id)
        if _size_of(final) == size:
            if pending is None:
                return StoredObject(object_id, size)  # same bytes already stored, durably
            if hash_file(final) == object_id:  # perhaps left, not yet durable, by a crash
                pending.renamed(final)
                return StoredObject(object_id, size)
        self._make_folder(final.parent, pending)
        try:
            self._rename(tmp, final, pending)
        except FileNotFoundError:  # its folder went since it was made (emptied and removed)
            self._folders.discard(final.parent)
            self._make_folder(final.parent, pending)
            self._rename(tmp, final, pending)
        return StoredObject(object_id, size)

    @staticmethod
    def _rename(tmp: Path, final: Path, pending: PendingFiles | None) -> None:
        if pending is None:
            commit_temp(tmp, final)
        else:
            os.replace(tmp, final)
            pending.renamed(final)

    def _make_folder(self, folder: Path, pending: PendingFiles | None) -> None:
        if folder in self._folders:
            return
        existed = folder.is_dir()
        make_private_dir(folder)
        if not existed:
            if pending is None:
                fsync_dir(folder.parent)
            else:
                pending.made_folder(folder)
        self._folders.add(folder)

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

    def get_file(self, ref: str, dst: Path, identities: Sequence[x25519.Identity]) -> None:
        """Check and decrypt an object, or a document in parts, to ``dst``.

        ``dst`` appears only when every byte has been checked and decrypted.
        """
        ids = parts.split_ref(ref)
        # One pass over each object: hashed as it is read and decrypted (one
        # object in this process, parts by workers), not read once to check
        # it and again to decrypt it.
        for object_id in ids:
            if not self.path(object_id).is_file():
                raise IntegrityError(
                    f"object {object_id[:12]} is missing", hint="run 'vault verify'"
                )
        tmp = private_temp_path(dst.parent, prefix=".tmp-decrypt-")
        try:
            parts.decrypt_parts(
                [(self.path(i), i) for i in ids],
                tmp,
                [str(identity) for identity in identities],
                jobs=self.jobs,
            )
            os.replace(tmp, dst)
        finally:
            remove_quietly(tmp)

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
