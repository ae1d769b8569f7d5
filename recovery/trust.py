"""Steps 1 and 2 of a recovery: the backup's small files fetched and checked.

Nothing here writes outside the private work folder it is given: the key
must open the backup's key files and be the one ``keys/data.pub`` names;
then the head's MAC, ``expect_state``, the object indexes' hashes and the
catalog's files are checked: each base and delta (``vault.chain``) is read
through, its hash, MAC, vault and place in the chain checked, so a file left
out, reordered, put back from an older backup or forged is refused before
anything is written (a catalog that is missing, or an earlier version's
snapshot of an older schema, is rebuilt later); the journal's entries are
filtered by ``journal.trusted_entries``.
Each failure is an ``IntegrityError`` naming the file (exit 4), or
``WrongKeyError`` (exit 3).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recovery.fetch import (
    KEY_FILES,
    SMALL_FILES,
    Source,
    level_keys,
    personal_keys,
    rotation_files,
)
from recovery.journal import trusted_entries
from sync import segments
from sync.snapshot import CONFIG, HEAD, JOURNAL, ROTATION
from vault import chain, crypto, key_register
from vault import journal as journals
from vault import keys as keyring
from vault.errors import IntegrityError, NotFoundError, UsageError, WrongKeyError
from vault.fsutil import make_private_dir
from vault.head import Head, read_head, read_index
from vault.keys import DataKey, KeyPaths

if TYPE_CHECKING:
    from vault.catalog import Catalog


@dataclass(frozen=True)
class Credentials:
    """What unlocks the backup: the passphrase, or the emergency key with a reason."""

    passphrase: str | None = field(default=None, repr=False)
    emergency_key: str | None = field(default=None, repr=False)
    reason: str | None = None
    ask_again: bool = False  # a wrong passphrase typed at a prompt: ``ask`` may be called again


@dataclass
class Verified:
    """What step 2 established, all still in the work folder."""

    key: DataKey
    credentials: Credentials
    head: Head
    index: dict[str, int]
    catalog: Rows | Catalog | None  # the documents it names; None: rebuild from the manifests
    entries: list[dict[str, Any]]
    left_out: list[dict[str, Any]]  # journal entries not trusted (not brought in)
    config: dict[str, Any]
    fetched: Path
    logs: segments.Found  # how the backup held its audit log and journal
    label: str | None = None  # the key that opened it (``vault.key_register``)
    register_rebuilt: bool = False  # the backup's list of keys failed its MAC: made anew


def verify_backup(
    source: Source,
    work: Path,
    ask: Callable[[], Credentials],
    expect_state: str | None,
    rebuild_catalog: bool,
) -> Verified:
    """Fetch the backup's small files into ``work`` and check them (see above)."""
    where = source.path
    if not source.list_remote():
        raise NotFoundError(
            f"there is no backup at {where}: the folder does not exist",
            hint="check the path ('vault remote list' on the old computer showed it)",
        )
    present = source.present
    if not any(rel in present for rel in (HEAD, CONFIG, *KEY_FILES)):
        raise NotFoundError(
            f"there is no vault backup at {where}",
            hint="give the folder that holds head.json, keys/ and objects/",
        )
    for rel in (HEAD, "keys/data.pub"):
        if rel not in present:
            raise IntegrityError(f"the backup at {where} has no {rel}")
    fetched = work / "remote"
    make_private_dir(fetched)
    wanted = [rel for rel in SMALL_FILES if rel in present] + personal_keys(present)
    wanted += level_keys(present)
    source.fetch([*wanted, *rotation_files(present)], fetched, work)
    credentials, key, label = _unlock_asking(fetched, ask, where)
    register_rebuilt = _checked_register(fetched, key)
    head = _checked_head(fetched, key)
    config = _settings(fetched, key)
    if expect_state is not None:
        _check_expected(head, expect_state)
    logs = source.read_logs(fetched, work)  # the journal and audit log, whole, in ``fetched``
    files = [f"catalog/{name}" for name in head.catalog_files()]
    source.fetch([rel for rel in files if rel in present], fetched, work)
    index_rel = f"catalog/{head.index}.idx"
    try:
        index = read_index(fetched / "catalog", head)
    except IntegrityError as error:
        raise IntegrityError(
            f"the object index on the remote: {error.message}",
            hint="try another backup of this vault",
        ) from None
    except ValueError:
        raise IntegrityError(f"{index_rel} on the remote is unreadable") from None
    catalog: Rows | Catalog | None = None
    ages = [rel for rel in files if rel.endswith(".age")]
    if not rebuild_catalog and all(rel in present for rel in ages):
        if head.format == 1:
            catalog = _checked_catalog(fetched / ages[0], ages[0], head, key)
        else:
            # The vault id its catalog carries (authentic: the head names its
            # files): config.json may name another key, sent ahead of the
            # head by a sync after a key rotation, or be missing.
            catalog, vault_id = _checked_chain(fetched / "catalog", head, key)
            if vault_id != config["vault_id"]:
                config = _settings(fetched, key, vault_id)
    journal = fetched / JOURNAL
    entries = journals.parse(journal.read_bytes() if journal.exists() else b"").records
    trusted, left_out = trusted_entries(entries, head)
    return Verified(
        key=key,
        credentials=credentials,
        head=head,
        index=index,
        catalog=catalog,
        entries=trusted,
        left_out=left_out,
        config=config,
        fetched=fetched,
        logs=logs,
        label=label,
        register_rebuilt=register_rebuilt,
    )


def _unlock_asking(
    fetched: Path, ask: Callable[[], Credentials], where: str
) -> tuple[Credentials, DataKey, str]:
    """Unlock with what ``ask`` gives; a wrong passphrase from a prompt that may
    be tried again (``Credentials.ask_again``) asks again. With the label of the
    key that opened it."""
    while True:
        credentials = ask()
        try:
            return (credentials, *_open_either(fetched, credentials, where))
        except WrongKeyError:
            if not credentials.ask_again:
                raise


def _open_either(fetched: Path, credentials: Credentials, where: str) -> tuple[DataKey, str]:
    """Unlock the backup's keys and check its head; failing that, the set a
    sync after a key rotation sends first (``rotation/``: the new keys and
    head, every file they name already there), which then takes the place
    of the backup's own keys and head. (While that sync runs, the old keys
    open the old state and the new ones the new state.)"""
    try:
        key, label = _unlock(fetched, credentials, where)
        _checked_head(fetched, key)
        return key, label
    except (WrongKeyError, IntegrityError) as error:
        rotated = fetched / ROTATION.rstrip("/")
        if not (rotated / "keys").is_dir() or not (rotated / HEAD).is_file():
            raise
        try:
            key, label = _unlock(rotated, credentials, where)
            _checked_head(rotated, key)
        except (WrongKeyError, IntegrityError):
            raise error from None
    shutil.rmtree(fetched / "keys", ignore_errors=True)
    os.replace(rotated / "keys", fetched / "keys")
    os.replace(rotated / HEAD, fetched / HEAD)
    shutil.rmtree(rotated)
    return key, label


def _unlock(fetched: Path, credentials: Credentials, where: str) -> tuple[DataKey, str]:
    paths = KeyPaths(fetched / "keys")
    if credentials.emergency_key:
        if not (credentials.reason or "").strip():
            raise UsageError("a reason is required when the emergency key is used")
        if not paths.emergency.exists():
            raise IntegrityError(f"the backup at {where} has no keys/{paths.emergency.name}")
    try:
        if credentials.emergency_key:
            key = keyring.unlock_with_emergency_key(paths, credentials.emergency_key)
            return key, key_register.EMERGENCY
        # Any key's passphrase (the coordinator's or a personal key's); the
        # register is the backup's, not trusted for the files' scrypt cost.
        return key_register.unlock_any(paths, {}, credentials.passphrase or "", trusted=False)
    except NotFoundError:
        raise IntegrityError(f"the backup at {where} has no keys/{paths.passphrase.name}") from None
    except IntegrityError as error:  # the key opened, but is not the one data.pub names
        raise IntegrityError(f"keys/data.pub on the remote: {error.message}") from None


def _checked_register(fetched: Path, key: DataKey) -> bool:
    """Check the backup's list of keys (``keys/people.json``) with the key that
    opened the backup; one damaged or altered is never brought in: a list is made
    anew, with its MAC, from the key files the backup holds. True when it was."""
    paths = KeyPaths(fetched / "keys")
    if not key_register.register_path(paths).exists():
        return False
    try:
        key_register.load_register(paths, {}, key)
    except IntegrityError:
        key_register.save_register(paths, key_register.found_files(paths, {}), key)
        return True
    return False


def _checked_head(fetched: Path, key: DataKey) -> Head:
    try:
        found = read_head(fetched / HEAD)
    except IntegrityError:
        raise IntegrityError("head.json on the remote is damaged") from None
    if found is None:
        raise IntegrityError("head.json on the remote is missing")
    head, mac = found
    try:
        key.check_mac(head.body(), str(mac), "head.json on the remote")
    except IntegrityError as error:
        raise IntegrityError(
            error.message,
            hint="it was not written by this vault (forged or replaced); nothing was restored. "
            "Try another backup of this vault",
        ) from None
    return head


def _check_expected(head: Head, expected: str) -> None:
    wanted = "".join(expected.split()).lower()
    if len(wanted) < 6 or not head.short.startswith(wanted):
        raise IntegrityError(
            f"the backup's state code is {head.short} (number {head.seq}, {head.time}), "
            f"not {expected.strip()}",
            hint="an older or rolled-back backup; nothing was restored. Compare with the last "
            "committee report, or try another backup",
        )


def _checked_catalog(path: Path, rel: str, head: Head, key: DataKey) -> Catalog | None:
    """The snapshot, checked; None when it must be rebuilt (an older schema)."""
    from vault.catalog import Catalog, OutdatedCatalogError

    blob = path.read_bytes()
    refused = IntegrityError(
        f"{rel} on the remote does not match the head (corrupt or replaced)",
        hint="'vault recover --rebuild-catalog' leaves it out and rebuilds the catalog "
        "from the document manifests",
    )
    if hashlib.sha256(blob).hexdigest() != head.catalog:
        raise refused
    try:
        return Catalog.from_bytes(crypto.decrypt_bytes(blob, [key.identity]))
    except OutdatedCatalogError:
        return None
    except IntegrityError:
        raise refused from None


class Rows:
    """What recovery needs of each document of a backup's catalog (its id,
    name and files), gathered while its chain is checked."""

    KEEP = ("id", "name", "manifest", "original", "searchable")

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def apply(self, record: dict[str, Any]) -> None:
        row = record.get("doc")
        if isinstance(row, dict):
            self.rows[str(row.get("id"))] = {name: row.get(name) for name in self.KEEP}
        elif "gone" in record:
            self.rows.pop(str(record["gone"]), None)

    def documents(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows.values())


def _checked_chain(folder: Path, head: Head, key: DataKey) -> tuple[Rows, str]:
    """Read every file of the head's catalog chain through, checking it;
    return its rows and the vault id it carries."""
    rows = Rows()
    try:
        vault_id = chain.apply_chain(
            folder, head.links, rows, key, vault_id=None, last_seq=head.seq
        )
    except IntegrityError as error:
        raise IntegrityError(
            f"the catalog on the remote: {error.message}; nothing was written",
            hint="'vault recover --rebuild-catalog' leaves it out and rebuilds the catalog "
            "from the document manifests",
        ) from None
    return rows, vault_id


def _settings(fetched: Path, key: DataKey, vault_id: str | None = None) -> dict[str, Any]:
    """The backup's config.json if it is this vault's (its id is ``vault_id``
    when known, else the key's, or, after a key rotation, its ``data_key``
    is); else a new one. Its ``data_key`` is the key's id."""
    key_id = keyring.vault_id_of(key.recipient)
    try:
        config = json.loads((fetched / CONFIG).read_text("utf-8"))
    except (OSError, ValueError):
        config = None
    if vault_id is not None:
        ours = isinstance(config, dict) and config.get("vault_id") == vault_id
    else:
        ours = isinstance(config, dict) and (
            config.get("vault_id") == key_id
            or (isinstance(config.get("vault_id"), str) and config.get("data_key") == key_id)
        )
    if not ours or not isinstance(config, dict):
        now = datetime.now(UTC).isoformat(timespec="seconds")
        config = {
            "format": 1,
            "vault_id": vault_id or key_id,
            "created": now,
            "passphrase_changed": now,
        }
    if config["vault_id"] == key_id:
        config.pop("data_key", None)
    else:
        config["data_key"] = key_id
    # The passphrase file's cost as it is (it opened within the default limit), not
    # as the unauthenticated settings say: a later unlock trusts this figure.
    wrapped = fetched / "keys" / "passphrase.age"
    factor = crypto.scrypt_work_factor(wrapped.read_bytes()) if wrapped.exists() else None
    if factor is not None and factor <= crypto.MAX_SCRYPT_WORK_FACTOR:
        config["scrypt_work_factor"] = factor
    else:
        config.pop("scrypt_work_factor", None)
    return config
