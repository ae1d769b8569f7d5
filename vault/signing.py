"""The installation signing key: who wrote a journal entry without the passphrase.

age says nothing about who encrypted a file, so a document stored without the
passphrase (encrypted to the public key, manifest unsigned) could have been
written by anyone holding the public key, the cloud provider included. The
installation signing key closes that gap:

- ``vault init`` (and, for a vault made before this key existed, the first
  command that unlocks it) makes an Ed25519 key pair. The private half is kept
  in ``local/signing.key`` (mode 0600) on this computer only: sync never sends
  the ``local/`` folder, so the remote never holds it.
- Every save of the catalog names the public half in the MAC'd head, so only
  a holder of the data key can say which signing key is genuine.
- Every journal entry is signed with the private half. Folding the journal
  accepts an entry whose manifest carries no MAC only when its signature
  verifies against the key the head names.

Signatures and public keys are written as ``ed25519:<base64>``.
"""

from __future__ import annotations

import base64
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vault.errors import IntegrityError
from vault.fsutil import atomic_write, make_private_dir

if TYPE_CHECKING:  # cryptography loads when a key is used: `vault status` never needs it
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

_PREFIX = "ed25519:"
_FILE_HEADER = "centre-vault installation signing key v1"


@dataclass(frozen=True)
class SigningKey:
    """The private half, loaded; ``public`` is the ``ed25519:`` form the head names."""

    _key: Ed25519PrivateKey = field(repr=False)

    @property
    def public(self) -> str:
        return _PREFIX + _b64(self._key.public_key().public_bytes_raw())

    def sign(self, message: bytes) -> str:
        return _PREFIX + _b64(self._key.sign(message))


def key_path(root: Path) -> Path:
    """Where a vault at ``root`` keeps this computer's signing key."""
    return root / "local" / "signing.key"


def load(path: Path) -> SigningKey | None:
    """The signing key in ``path``; None when there is none. A damaged file is
    an integrity failure (nothing but the vault writes it)."""
    try:
        text = path.read_text("ascii")
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, ValueError) as exc:
        raise IntegrityError("this computer's signing key file is damaged") from exc
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    lines = text.split()
    try:
        if len(lines) < 2 or " ".join(text.splitlines()[:1]) != _FILE_HEADER:
            raise ValueError("no header")
        seed = base64.b64decode(lines[-1], validate=True)
        return SigningKey(Ed25519PrivateKey.from_private_bytes(seed))
    except ValueError as exc:
        raise IntegrityError(
            "this computer's signing key file is damaged",
            hint="remove local/signing.key; the next unlocked command makes a new one",
        ) from exc


def create(path: Path) -> SigningKey:
    """Make a new key pair and write its private half to ``path`` (0600)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes_raw()
    make_private_dir(path.parent)
    atomic_write(path, f"{_FILE_HEADER}\n{_b64(seed)}\n".encode("ascii"))
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)
    return SigningKey(key)


def verify(public: str, message: bytes, signature: str) -> bool:
    """True when ``signature`` over ``message`` verifies under ``public``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        raw_key = _unb64(public)
        raw_sig = _unb64(signature)
        Ed25519PublicKey.from_public_bytes(raw_key).verify(raw_sig, message)
    except (ValueError, InvalidSignature):
        return False
    return True


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    if not isinstance(text, str) or not text.startswith(_PREFIX):
        raise ValueError("not an ed25519 value")
    return base64.b64decode(text[len(_PREFIX) :], validate=True)
