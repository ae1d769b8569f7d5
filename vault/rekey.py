"""An object given new recipients: its header rewritten, or the whole file sealed again.

A document granted to an access level (``vault.levels``) must open with
that level's key; one taken away from a level must stop opening with it.
Both write a new object (objects are write-once and named by their hash),
from the old one, a megabyte at a time, hashing what is written:

- ``rewrap``, for giving access: the file key is unwrapped from the old
  header with the data key, the header MAC checked, and a new header wraps
  the *same* file key to each new recipient (``age_seal.header``); the
  payload is copied unchanged. Safe because it only adds readers of what
  the file key already opens: no new plaintext is ever sealed under it.
  The old object is hashed as it is read and must match its id, so a
  damaged object is never given a fresh name.
- ``reseal``, for taking access away: the payload is decrypted with the
  data key and sealed again under a new random file key, to the new
  recipients. Whoever held the old level key may have kept the old file key
  (it is one header away from that key): a header rewrite would leave the
  new object open to it, a new file key does not.

Both write standard age v1 files (the tests open them with the ``age``
command). An object not in the form the vault writes (its header not
canonical, armor) is read through pyrage and sealed again, whichever was asked.
Nothing here touches a store: the caller gives the source path and an open
file for the result, and commits it.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from vault import age_seal, age_x25519, crypto
from vault.errors import CryptoFormatError, IntegrityError, WrongKeyError

_READ = 1024 * 1024


@dataclass(frozen=True)
class Rekeyed:
    """What was written: the new object's id and size, and the old one's size."""

    id: str
    size: int
    old_size: int


def corrupt(object_id: str) -> IntegrityError:
    return IntegrityError(
        f"object {object_id[:12]} is corrupt (its contents do not match its hash)",
        hint="run 'vault verify'; 'vault repair NAME' brings it back from a backup",
    )


def _hash_of(path: os.PathLike[str]) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def rewrap(
    src: os.PathLike[str], object_id: str, out: BinaryIO, secret: str, recipients: Sequence[str]
) -> Rekeyed:
    """Write to ``out`` the object at ``src`` with a header wrapping its file
    key to ``recipients`` (the payload unchanged); ``secret`` opens the old header."""
    with open(src, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(crypto.MAX_HEADER_BYTES)
        try:
            crypto.check_header(head)
            found = age_x25519.unwrap_header(head, secret)
        except (CryptoFormatError, WrongKeyError):
            if _hash_of(src) != object_id:
                raise corrupt(object_id) from None
            raise
        if found is None:  # not the vault's usual form: sealed again instead
            f.seek(0)
            return _reseal_with_pyrage(f, src, object_id, out, secret, recipients, size)
        file_key, header_length = found
        old = hashlib.sha256(head[:header_length])
        new_header = age_seal.header(recipients, file_key)
        new = hashlib.sha256(new_header)
        out.write(new_header)
        written = len(new_header)
        f.seek(header_length)
        buffer = memoryview(bytearray(_READ))
        while got := f.readinto(buffer):
            piece = buffer[:got]
            old.update(piece)
            new.update(piece)
            out.write(piece)
            written += got
    if old.hexdigest() != object_id:
        raise corrupt(object_id)
    return Rekeyed(new.hexdigest(), written, size)


def reseal(
    src: os.PathLike[str], object_id: str, out: BinaryIO, secret: str, recipients: Sequence[str]
) -> Rekeyed:
    """Write to ``out`` the plaintext of the object at ``src`` sealed under a
    new file key to ``recipients``; ``secret`` opens the old object."""
    with open(src, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(crypto.MAX_HEADER_BYTES)
        try:
            crypto.check_header(head)
            payload = age_x25519.open_payload(f.fileno(), head, secret)
        except (CryptoFormatError, WrongKeyError):
            if _hash_of(src) != object_id:
                raise corrupt(object_id) from None
            raise
        if payload is None:
            f.seek(0)
            return _reseal_with_pyrage(f, src, object_id, out, secret, recipients, size)
        file_key = os.urandom(16)
        header = age_seal.header(recipients, file_key)
        new = hashlib.sha256(header)
        out.write(header)
        written = len(header)
        try:
            for piece in age_seal.sealed(file_key, payload.pieces()):
                new.update(piece)
                out.write(piece)
                written += len(piece)
        except CryptoFormatError:
            if _hash_of(src) != object_id:
                raise corrupt(object_id) from None
            raise
    if payload.sha256 != object_id:
        raise corrupt(object_id)
    return Rekeyed(new.hexdigest(), written, size)


def _reseal_with_pyrage(
    f: BinaryIO,
    src: os.PathLike[str],
    object_id: str,
    out: BinaryIO,
    secret: str,
    recipients: Sequence[str],
    size: int,
) -> Rekeyed:
    """An object not in the vault's usual form, whole through pyrage (one part at most)."""
    plain = io.BytesIO()
    crypto.decrypt_stream(f, plain, [crypto.parse_identity(secret)])
    if _hash_of(src) != object_id:
        raise corrupt(object_id)
    blob = crypto.encrypt_bytes(plain.getvalue(), [crypto.parse_recipient(r) for r in recipients])
    del plain
    out.write(blob)
    return Rekeyed(hashlib.sha256(blob).hexdigest(), len(blob), size)
