"""A document moved under a new data key: its objects and manifest encrypted again.

``vault rotate`` (``vault.rotation``) calls this once per document, in
worker processes (``move_in_worker``; each store writes every new file
under a temp name of its own), and once per batch scan several documents
were split from (``move_batch_in_worker``), before them: each of its
documents' new manifests names the one moved batch object.
Each object is decrypted with the old identity and encrypted to the new
recipient in one pass, a megabyte at a time, by the vault's own age reader
(``age_x25519``) feeding the vault's own age writer (``age_seal``, which,
unlike pyrage, lets other threads run while it encrypts), hashing the new
file as it is written: no plaintext reaches the disk and memory stays flat
whatever the size (a large document's parts are moved one by one). An
object not in the form the vault writes goes through pyrage instead.
While it passes, the original's plaintext is hashed under the new
fingerprint key, so the new manifest carries the keyed fingerprint the new
key gives (duplicate detection goes on working after a rotation).

The new object is committed to the store only when the old one decrypted
in full, authenticated, and hashed to its id: a damaged or swapped object
stops the document with ``IntegrityError`` and leaves nothing new behind.
The old objects are left alone; the rotation removes them at its switch.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from vault import age_seal, age_x25519, crypto, parts
from vault import manifest as manifests
from vault.errors import CryptoFormatError, IntegrityError, WrongKeyError
from vault.fsutil import private_temp_path, remove_quietly

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from vault.keys import DataKey
    from vault.objects import ObjectStore


@dataclass(frozen=True)
class Moved:
    """One document under the new key: its manifest, and every new file."""

    doc_id: str
    old_manifest: str
    new_manifest: str
    objects: dict[str, int]  # new object and manifest ids, with sizes
    size: int  # bytes of the old objects read


@dataclass(frozen=True)
class MovedBatch:
    """A batch scan's object (``vault.batches``) under the new key."""

    old_ref: str
    new_ref: str
    fingerprint: str  # of its plaintext, under the new fingerprint key
    objects: dict[str, int]  # new object ids, with sizes
    size: int  # bytes of the old objects read


def _fed(pieces: Iterator[memoryview], mac: hmac.HMAC | None) -> Iterator[memoryview]:
    """The plaintext pieces, hashed under the fingerprint key (``mac``) on the way."""
    for piece in pieces:
        if mac is not None:
            mac.update(piece)
        yield piece


def _corrupt(object_id: str) -> IntegrityError:
    return IntegrityError(
        f"object {object_id[:12]} is corrupt (its contents do not match its hash)",
        hint="run 'vault verify'; 'vault repair NAME' brings it back from a backup",
    )


def move_object(
    store: ObjectStore,
    object_id: str,
    old: DataKey,
    recipients: Sequence[str],
    mac: hmac.HMAC | None = None,
) -> tuple[str, int, int]:
    """Encrypt object ``object_id`` of ``store`` again, to ``recipients`` (the
    new data key's, and the keys of the access levels the document is
    granted to); return (new id, new size, old size). ``mac`` is fed its
    plaintext."""
    path = store.path(object_id)
    if not path.is_file():
        raise IntegrityError(f"object {object_id[:12]} is missing", hint="run 'vault verify'")
    tmp = private_temp_path(store.tmp)
    try:
        with open(path, "rb") as src, open(tmp, "wb") as out:
            old_size = os.fstat(src.fileno()).st_size
            head = src.read(crypto.MAX_HEADER_BYTES)
            try:
                crypto.check_header(head)
                payload = age_x25519.open_payload(src.fileno(), head, old.secret)
            except (CryptoFormatError, WrongKeyError):
                if crypto_hash(path) != object_id:
                    raise _corrupt(object_id) from None
                raise
            digest: str | None = None
            if payload is not None:
                written = hashlib.sha256()
                file_key = os.urandom(16)
                try:
                    head = age_seal.header(recipients, file_key)
                    out.write(head)
                    written.update(head)
                    for piece in age_seal.sealed(file_key, _fed(payload.pieces(), mac)):
                        out.write(piece)
                        written.update(piece)
                except CryptoFormatError as error:
                    raise _named(error, path, object_id) from None
                if payload.sha256 != object_id:
                    raise _corrupt(object_id)
                digest = written.hexdigest()
            else:  # not the vault's usual form: through pyrage, whole (one part at most)
                src.seek(0)
                plain = io.BytesIO()
                crypto.decrypt_stream(src, plain, [old.identity])
                if crypto_hash(path) != object_id:
                    raise _corrupt(object_id)
                if mac is not None:
                    mac.update(plain.getbuffer())
                keys = [crypto.parse_recipient(r) for r in recipients]
                crypto.encrypt_stream(io.BytesIO(plain.getbuffer()), out, keys)
                del plain
        stored = store.commit(tmp, digest)
        return stored.id, stored.size, old_size
    finally:
        remove_quietly(tmp)


def _named(error: BaseException, path: os.PathLike[str], object_id: str) -> BaseException:
    """A payload that failed to decrypt: corrupt when it does not hash to its id."""
    if isinstance(error, CryptoFormatError) and crypto_hash(path) != object_id:
        return _corrupt(object_id)
    return error


def recipients_of(data: str, granted: Sequence[str], levels: Mapping[str, str]) -> list[str]:
    """The recipients of a document's files: the data key, then the key of
    each level it is granted to (a level with no key any more is left out)."""
    return [data, *(levels[name] for name in granted if name in levels)]


def crypto_hash(path: os.PathLike[str]) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _move_ref(
    store: ObjectStore,
    ref: str,
    old: DataKey,
    recipients: Sequence[str],
    mac: hmac.HMAC | None,
    objects: dict[str, int],
) -> tuple[str, int]:
    """A document's reference (one object or its parts, in order) moved;
    return the new reference and the old bytes read."""
    new_ids, read = [], 0
    for object_id in parts.split_ref(ref):
        new_id, size, old_size = move_object(store, object_id, old, recipients, mac)
        objects[new_id] = size
        new_ids.append(new_id)
        read += old_size
    return parts.join_ref(new_ids), read


def move_batch(objects: ObjectStore, ref: str, old: DataKey, new: DataKey) -> MovedBatch:
    """Move the batch scan object (or parts) ``ref`` under ``new``, once for
    every document that names it."""
    fingerprint = hmac.new(new.fingerprint_key, digestmod=hashlib.sha256)
    written: dict[str, int] = {}
    new_ref, read = _move_ref(objects, ref, old, [new.recipient], fingerprint, written)
    return MovedBatch(ref, new_ref, fingerprint.hexdigest(), written, read)


def move_document(
    objects: ObjectStore,
    store: ObjectStore,
    manifest_id: str,
    old: DataKey,
    new: DataKey,
    batches: Mapping[str, tuple[str, str]] | None = None,
    levels: Mapping[str, str] | None = None,
) -> Moved:
    """Move the document whose manifest is ``manifest_id`` (in ``store``) under ``new``.

    ``levels``: the public key of each access level after the rotation; the
    document's objects and manifest are encrypted to those of the levels it
    is granted to (``vault.levels``), besides the new data key. A batch scan
    is never granted to a level (it holds other documents' pages).

    The manifest must carry the old key's MAC; the new one names the new
    objects, carries the fingerprint under the new key and the new key's MAC.
    ``batches``: {old batch reference: (new reference, new fingerprint)} of
    the batch scans moved already (``move_batch``); a batch not there is
    moved with the document.
    """
    doc, signed = manifests.parse(
        store.get_bytes(manifest_id, [old.identity]), check_mac=old.check_mac
    )
    if not signed:
        raise IntegrityError(f"the manifest of {doc.doc_id} is not verified")
    recipients = recipients_of(new.recipient, doc.levels, levels or {})
    fingerprint = hmac.new(new.fingerprint_key, digestmod=hashlib.sha256)
    written: dict[str, int] = {}
    original, read = _move_ref(objects, doc.original, old, recipients, fingerprint, written)
    searchable = doc.searchable
    if searchable is not None:
        searchable, more = _move_ref(objects, searchable, old, recipients, None, written)
        read += more
    batch = doc.batch
    if batch is not None and (ref := manifests.batch_ref(batch)) is not None:
        found = (batches or {}).get(ref)
        if found is None:  # not moved before the documents (the rotation moves them all)
            done = move_batch(objects, ref, old, new)
            written.update(done.objects)
            read += done.size
            found = (done.new_ref, done.fingerprint)
        batch = {**batch, "object": found[0]}
        if batch.get("fingerprint"):  # under the new key, so a re-run still finds it
            batch["fingerprint"] = found[1]
    moved = replace(doc, original=original, searchable=searchable, batch=batch)
    keys = [crypto.parse_recipient(r) for r in recipients]
    record = store.put_bytes(moved.signed(fingerprint.hexdigest(), new.mac), keys)
    written[record.id] = record.size
    return Moved(doc.doc_id, manifest_id, record.id, written, read)


def move_batch_in_worker(
    roots: tuple[str, str, str], part_size: int, ref: str, secrets: tuple[str, str]
) -> MovedBatch:
    """``move_batch`` in a worker process of a key rotation (see ``move_in_worker``)."""
    from vault.keys import DataKey
    from vault.objects import ObjectStore

    objects = ObjectStore(Path(roots[0]), Path(roots[2]), part_size=part_size)
    old, new = DataKey.from_secret(secrets[0]), DataKey.from_secret(secrets[1])
    return move_batch(objects, ref, old, new)


def move_in_worker(
    roots: tuple[str, str, str],
    part_size: int,
    manifest_id: str,
    secrets: tuple[str, str],
    meanwhile: bool,
    batches: Mapping[str, tuple[str, str]] | None = None,
    levels: Mapping[str, str] | None = None,
) -> Moved | None:
    """``move_document`` in a worker process of a key rotation (``vault.rotation``):
    ``roots`` the objects' and manifests' folders and the temp folder,
    ``secrets`` the old and the new data key, ``batches`` the batch scans
    moved already, ``levels`` the access levels' public keys after the
    rotation. ``meanwhile`` (other commands
    run): None for a document whose manifest is gone, replaced by an edit."""
    from vault.keys import DataKey
    from vault.objects import ObjectStore

    tmp = Path(roots[2])
    objects = ObjectStore(Path(roots[0]), tmp, part_size=part_size)
    store = ObjectStore(Path(roots[1]), tmp)
    if meanwhile and not store.exists(manifest_id):
        return None
    old, new = DataKey.from_secret(secrets[0]), DataKey.from_secret(secrets[1])
    try:
        return move_document(objects, store, manifest_id, old, new, batches, levels)
    except IntegrityError:
        if meanwhile and not store.exists(manifest_id):
            return None  # replaced while it was read
        raise
