"""Access levels: keys that open only the documents granted to them.

The centre's policy gives the session team (the team leader and the
volunteers on duty) what they need to run a session, and nothing more. A
menu that hides documents is not enough on a shared computer: a key that
decrypts an object reads it with the ``age`` command. So each level is an
age identity of its own, and a document granted to a level has every one of
its files encrypted to that level's key too (age's several recipients per
file), besides the data key:

- ``full`` is the data identity itself (``vault.keys``): it opens everything.
- Every other level (``session`` to start; ``config.json``'s ``levels``
  may name more) has an X25519 identity: its public key in
  ``keys/levels/NAME.pub`` (storing without a key encrypts to it), its
  secret in ``keys/levels/NAME.age``, one age file encrypted to the data
  key (so ``full`` opens every level's key) and to the personal key of each
  person of that level (``vault.key_register``: a level's personal key is
  an identity of that person's own, wrapped under their passphrase; adding
  or removing one rewrites this file, and taking a level's key away from
  someone gives the level a new identity: ``vault.access``).
- The key register (``keys/people.json``, under the data key's MAC) lists
  each level's public key, so a ``NAME.pub`` swapped by someone without the
  key is refused by every command that unlocks with a full key; storing
  without a key compares it with the public key noted outside the vault
  folder at the last full unlock (``vault.anchor``).

``config.json``'s ``levels`` names the levels and, for each, the document
types granted to it by default when a document is stored::

    "levels": {"full": {}, "session": {"types": ["contact-arrangements"]}}

A vault without the setting has ``full`` and ``session``, with no types.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrage import x25519

from vault import crypto
from vault.config import LEVEL_NAME
from vault.errors import IntegrityError, UsageError, VaultNotFoundError, WrongKeyError
from vault.fsutil import atomic_write, make_private_dir
from vault.keys import DataKey, KeyPaths, read_key_file, vault_id_of

FULL = "full"
SESSION = "session"
SETTING = "levels"
FOLDER = "levels"  # keys/levels/
DEFAULT_LEVELS: dict[str, dict[str, Any]] = {FULL: {}, SESSION: {"types": []}}
_NAME = LEVEL_NAME
NAME_RULE = "1 to 24 letters, digits and '-' (not at either end)"
_MAC_LABEL = b"centre-vault/v1/level-mac"


# --- the setting ------------------------------------------------------------------


def valid_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


def configured(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The levels of ``config`` (``full`` first), each with its options."""
    found = config.get(SETTING)
    levels = dict(found) if isinstance(found, dict) else dict(DEFAULT_LEVELS)
    return {FULL: levels.pop(FULL, {}), **levels}


def names(config: Mapping[str, Any]) -> list[str]:
    """The levels besides ``full``, as config.json lists them."""
    return [name for name in configured(config) if name != FULL]


def check_level(config: Mapping[str, Any], name: str, *, full: bool = False) -> str:
    """The level ``name`` (lower-cased), or ``UsageError`` (exit 2) naming the
    levels there are; ``full`` only where it means something (``full``)."""
    wanted = name.strip().lower()
    known = names(config)
    if wanted in known or (full and wanted == FULL):
        return wanted
    shown = ", ".join([FULL, *known] if full else known) or "none"
    if wanted == FULL:
        raise UsageError(
            "the level 'full' opens every document already: nothing to grant or take away",
            hint=f"the other levels are: {shown}",
        )
    raise UsageError(
        f"there is no access level '{name}'",
        hint=f"the levels are: {shown} (config.json's 'levels' names them)",
    )


def defaults_for(config: Mapping[str, Any], doc_type: str) -> list[str]:
    """The levels whose ``types`` grant them documents of type ``doc_type``."""
    return [
        name
        for name, options in configured(config).items()
        if name != FULL and doc_type in options.get("types", [])
    ]


def granted(config: Mapping[str, Any], doc_type: str, explicit: Iterable[str] = ()) -> list[str]:
    """The levels a document of ``doc_type`` is stored at: those asked for
    (``--level``) and those its type gives, sorted, ``full`` left out."""
    wanted = {name for name in explicit if name != FULL} | set(defaults_for(config, doc_type))
    return sorted(wanted)


# --- the keys ---------------------------------------------------------------------


@dataclass(frozen=True)
class LevelKey:
    """The unlocked identity of one access level and the MAC key derived from
    it (which authenticates that level's catalog: ``vault.level_catalog``)."""

    name: str
    secret: str = field(repr=False)
    identity: x25519.Identity = field(repr=False)
    mac_key: bytes = field(repr=False)
    # the personal key's own identity that opened it (what the unlock agent
    # keeps: a key taken away opens the level's new key file no more)
    opener: str | None = field(default=None, repr=False)

    @classmethod
    def from_secret(cls, name: str, secret: str, opener: str | None = None) -> LevelKey:
        secret = secret.strip()
        identity = crypto.parse_identity(secret)
        mac_key = hmac.new(secret.encode(), _MAC_LABEL, hashlib.sha256).digest()
        return cls(name, secret, identity, mac_key, opener)

    @property
    def recipient(self) -> str:
        return crypto.public_of(self.identity)

    @property
    def key_id(self) -> str:
        """The level key's public fingerprint (never key material)."""
        return vault_id_of(self.recipient)

    def mac(self, data: bytes) -> str:
        return hmac.new(self.mac_key, data, hashlib.sha256).hexdigest()

    def check_mac(self, data: bytes, mac: str, what: str, *, hint: str | None = None) -> None:
        if not hmac.compare_digest(self.mac(data), mac):
            raise IntegrityError(
                f"{what} failed its authenticity check",
                hint=hint or "it was altered or not written by this vault; run 'vault verify'",
            )


def folder(paths: KeyPaths) -> Path:
    return paths.root / FOLDER


def public_path(paths: KeyPaths, name: str) -> Path:
    return folder(paths) / f"{name}.pub"


def wrapped_path(paths: KeyPaths, name: str) -> Path:
    return folder(paths) / f"{name}.age"


def read_recipient(paths: KeyPaths, name: str) -> str | None:
    """Level ``name``'s public key as found (None when it has none yet)."""
    try:
        text = read_key_file(public_path(paths, name)).decode("ascii").strip()
    except (OSError, UnicodeDecodeError, VaultNotFoundError):
        return None
    crypto.parse_recipient(text)
    return text


def recipients(paths: KeyPaths, levels: Sequence[str]) -> list[str]:
    """The public keys of ``levels`` (storing, no key needed); ``UsageError``
    when one has no key yet (a full key makes it: 'vault key add LABEL --level')."""
    found = []
    for name in levels:
        recipient = read_recipient(paths, name)
        if recipient is None:
            raise UsageError(
                f"the access level '{name}' has no key yet; nothing was stored",
                hint=f"unlock once with a full key ('vault list'), or add a key: "
                f"vault key add LABEL --level {name}",
            )
        found.append(recipient)
    return found


def write_level(
    paths: KeyPaths, level: LevelKey, data_recipient: str, people: Iterable[str]
) -> None:
    """Write level ``level``'s key files: its secret encrypted to the data key
    and to each of ``people`` (their personal keys' public keys), then its
    public key."""
    make_private_dir(folder(paths))
    wanted = [crypto.parse_recipient(r) for r in dict.fromkeys([data_recipient, *people])]
    blob = crypto.encrypt_bytes((level.secret + "\n").encode(), wanted)
    atomic_write(wrapped_path(paths, level.name), blob)
    atomic_write(public_path(paths, level.name), (level.recipient + "\n").encode())


def new_level(name: str) -> LevelKey:
    """A new identity for level ``name`` (written by ``write_level``)."""
    secret, _ = crypto.generate_identity()
    return LevelKey.from_secret(name, secret)


def open_level(
    paths: KeyPaths,
    name: str,
    identity: x25519.Identity,
    expected: str | None = None,
    *,
    opener: str | None = None,
) -> LevelKey:
    """Level ``name``'s key, from ``keys/levels/NAME.age`` opened with
    ``identity`` (the data key, or a personal key of that level); checked
    against ``expected`` (the register's public key for it) when given, and
    against ``NAME.pub``."""
    try:
        blob = read_key_file(wrapped_path(paths, name))
    except VaultNotFoundError:
        raise IntegrityError(
            f"the key of the access level '{name}' is missing (keys/levels/{name}.age)",
            hint="restore the keys folder from a backup ('vault repair NAME')",
        ) from None
    try:
        secret = crypto.decrypt_bytes(blob, [identity]).decode("utf-8", "replace")
    except WrongKeyError:
        raise WrongKeyError(
            f"the key does not open the access level '{name}' (keys/levels/{name}.age)",
            hint="a full key opens every level; a level's own keys open only it",
        ) from None
    key = LevelKey.from_secret(name, secret, opener)
    found = read_recipient(paths, name)
    if (expected is not None and key.recipient != expected) or found != key.recipient:
        raise IntegrityError(
            f"the key files of the access level '{name}' do not match the list of keys "
            "(keys/levels/ altered, or put back from another copy)",
            hint="restore the keys folder from a backup ('vault repair NAME')",
        )
    return key


def level_keys(paths: KeyPaths, key: DataKey, listed: Mapping[str, str]) -> dict[str, LevelKey]:
    """Every level's key that the register lists (``listed``: name to public
    key), opened with the data key."""
    return {
        name: open_level(paths, name, key.identity, recipient) for name, recipient in listed.items()
    }
