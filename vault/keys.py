"""The vault's keys: the data identity and its two wrappings.

- The **data identity** is an age X25519 key. Every object is encrypted to its
  public recipient (``keys/data.pub``), so storing needs no secret.
- Its secret is kept in standard age files holding the ``AGE-SECRET-KEY-1…``
  line: ``keys/passphrase.age`` (age scrypt, the coordinator's passphrase),
  one more scrypt file per personal key (``key_register``), and
  ``keys/emergency.age`` (to the emergency recipient, whose secret exists
  only on the printed emergency sheet).
- Two further keys are derived from the data identity with HMAC-SHA256 and a
  purpose label: the MAC key that authenticates catalog snapshots, heads and
  manifests, and the fingerprint key for duplicate detection.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyrage import x25519

from vault import crypto
from vault.errors import IntegrityError, VaultNotFoundError, WrongKeyError
from vault.fsutil import atomic_write, make_private_dir
from vault.passphrase_policy import check_passphrase

_MAC_LABEL = b"centre-vault/v1/mac"
_FINGERPRINT_LABEL = b"centre-vault/v1/fingerprint"
_CATALOG_LABEL = b"centre-vault/v1/catalog-database"


@dataclass(frozen=True)
class KeyPaths:
    root: Path

    @property
    def public(self) -> Path:
        return self.root / "data.pub"

    @property
    def passphrase(self) -> Path:
        return self.root / "passphrase.age"

    @property
    def emergency(self) -> Path:
        return self.root / "emergency.age"

    @property
    def emergency_public(self) -> Path:
        return self.root / "emergency.pub"


@dataclass(frozen=True)
class DataKey:
    """The unlocked data identity and the keys derived from it."""

    secret: str = field(repr=False)
    identity: x25519.Identity = field(repr=False)
    mac_key: bytes = field(repr=False)
    fingerprint_key: bytes = field(repr=False)

    @classmethod
    def from_secret(cls, secret: str) -> DataKey:
        secret = secret.strip()
        identity = crypto.parse_identity(secret)
        raw = secret.encode()
        return cls(
            secret=secret,
            identity=identity,
            mac_key=hmac.new(raw, _MAC_LABEL, hashlib.sha256).digest(),
            fingerprint_key=hmac.new(raw, _FINGERPRINT_LABEL, hashlib.sha256).digest(),
        )

    @property
    def recipient(self) -> str:
        return crypto.public_of(self.identity)

    @property
    def catalog_key(self) -> bytes:
        """The raw 256-bit key of this computer's catalog database (``catalog_db``)."""
        return hmac.new(self.secret.encode(), _CATALOG_LABEL, hashlib.sha256).digest()

    def mac(self, data: bytes) -> str:
        return hmac.new(self.mac_key, data, hashlib.sha256).hexdigest()

    def check_mac(self, data: bytes, mac: str, what: str, *, hint: str | None = None) -> None:
        if not hmac.compare_digest(self.mac(data), mac):
            raise IntegrityError(
                f"{what} failed its authenticity check",
                hint=hint or "it was altered or not written by this vault; run 'vault verify'",
            )


@dataclass(frozen=True)
class NewKeys:
    data: DataKey
    emergency_secret: str = field(repr=False)
    work_factor: int  # scrypt work factor of the passphrase file


def wrap_secret(path: Path, secret: str, passphrase: str) -> int:
    """Write ``path``: an age scrypt file of the data identity under ``passphrase``
    (the policy is checked first); return the scrypt work factor written."""
    check_passphrase(passphrase)
    blob = crypto.encrypt_with_passphrase((secret + "\n").encode(), passphrase)
    atomic_write(path, blob)
    return crypto.scrypt_work_factor(blob) or crypto.MAX_SCRYPT_WORK_FACTOR


def create_keys(paths: KeyPaths, passphrase: str) -> NewKeys:
    """Make the data and emergency identities and write the wrapped files.

    The emergency secret is returned for printing and never written here.
    """
    check_passphrase(passphrase)
    data_secret, data_public = crypto.generate_identity()
    emergency_secret, emergency_public = crypto.generate_identity()
    make_private_dir(paths.root)
    work_factor = wrap_secret(paths.passphrase, data_secret, passphrase)
    atomic_write(
        paths.emergency,
        crypto.encrypt_bytes(
            (data_secret + "\n").encode(), [crypto.parse_recipient(emergency_public)]
        ),
    )
    atomic_write(paths.emergency_public, (emergency_public + "\n").encode())
    atomic_write(paths.public, (data_public + "\n").encode())
    return NewKeys(DataKey.from_secret(data_secret), emergency_secret, work_factor)


def vault_id_of(recipient: str) -> str:
    """The vault id: the first 16 hex digits of the SHA-256 of its public key."""
    return hashlib.sha256(recipient.strip().encode()).hexdigest()[:16]


def read_recipient(paths: KeyPaths) -> x25519.Recipient:
    try:
        text = paths.public.read_text()
    except FileNotFoundError as exc:
        raise VaultNotFoundError(f"vault keys missing: {paths.public} not found") from exc
    return crypto.parse_recipient(text)


KEY_FILE_MAX = 64 * 1024  # bytes: a key file is a few hundred
_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_BINARY", 0)
)


def _read(path: Path) -> bytes:
    """A key file's bytes: never through a symbolic link, only a regular file,
    at most ``KEY_FILE_MAX`` bytes (``OSError`` otherwise, so a folder, a link
    to a device or a huge file in its place is never read whole or waited on)."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError as exc:
        raise VaultNotFoundError(f"vault key file missing: {path}") from exc
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        data = f.read(KEY_FILE_MAX + 1)
    if len(data) > KEY_FILE_MAX:
        raise OSError(errno.EFBIG, "too large to be a key file", str(path))
    return data


read_key_file = _read


def _checked(secret: bytes, paths: KeyPaths) -> DataKey:
    key = DataKey.from_secret(secret.decode("utf-8", "replace"))
    if key.recipient != str(read_recipient(paths)):
        raise IntegrityError("the unlocked key does not match this vault's public key")
    return key


def unlock_with_passphrase(
    paths: KeyPaths, passphrase: str, *, work_factor: int | None = None
) -> DataKey:
    """Unlock with the passphrase; ``work_factor`` is the one the vault recorded
    when it wrote the file (files costlier than that, or than the default
    limit, are refused unread)."""
    return unlock_file(paths.passphrase, paths, passphrase, work_factor=work_factor)


def unlock_file(
    path: Path, paths: KeyPaths, passphrase: str, *, work_factor: int | None = None
) -> DataKey:
    """Unlock with one passphrase file of the vault (``key_register``)."""
    return _checked(open_key_file(path, passphrase, work_factor=work_factor), paths)


def open_key_file(path: Path, passphrase: str, *, work_factor: int | None = None) -> bytes:
    """What the passphrase file ``path`` wraps (an ``AGE-SECRET-KEY-1…`` line:
    the data key, or a personal key of an access level, ``vault.levels``)."""
    blob = _read(path)
    limit = max(crypto.MAX_SCRYPT_WORK_FACTOR, work_factor or 0)
    try:
        return crypto.decrypt_with_passphrase(blob, passphrase, max_work_factor=limit)
    except WrongKeyError as exc:
        raise WrongKeyError("wrong passphrase", hint="check Caps Lock and try again") from exc


def unlock_with_emergency_key(paths: KeyPaths, emergency_secret: str) -> DataKey:
    identity = crypto.parse_identity(emergency_secret)
    try:
        secret = crypto.decrypt_bytes(_read(paths.emergency), [identity])
    except WrongKeyError as exc:
        raise WrongKeyError(
            "wrong emergency key: it does not open this vault",
            hint="use the key printed on this vault's sealed emergency sheet",
        ) from exc
    return _checked(secret, paths)


def unlock_with_data_secret(paths: KeyPaths, secret: str) -> DataKey:
    """Take the data identity itself (as the unlock agent holds it), refused
    with ``WrongKeyError`` unless it is this vault's (re-keyed since, say)."""
    key = DataKey.from_secret(secret)
    if key.recipient != str(read_recipient(paths)):
        raise WrongKeyError("the key held for this folder does not open this vault")
    return key


def new_emergency_key(paths: KeyPaths, key: DataKey, deliver: Callable[[str], None]) -> None:
    """Make a new emergency identity and re-wrap the data key to it.

    ``deliver`` receives the new secret and must put it on paper (the sheet);
    only once it returned are ``emergency.age`` and ``emergency.pub``
    replaced, so a failed sheet leaves the old key working. The data key
    itself does not change: whoever read the old sheet could have kept it
    (only a key rotation removes that risk).
    """
    secret, public = crypto.generate_identity()
    wrapped = crypto.encrypt_bytes((key.secret + "\n").encode(), [crypto.parse_recipient(public)])
    deliver(secret)
    atomic_write(paths.emergency, wrapped)
    atomic_write(paths.emergency_public, (public + "\n").encode())
