"""The key register: who may open the vault, each with a passphrase of their own.

Every key is a standard age scrypt file wrapping the data identity's
``AGE-SECRET-KEY-1…`` line, so ``age -d`` with that key's passphrase gives
the data key (the manual recovery procedure works with any of them):

- ``keys/passphrase.age``: the key labelled ``coordinator`` (every vault has
  had it from ``vault init``; an older vault without a register has only it);
- ``keys/people/LABEL.age``: each personal key added with ``vault key add``.

``keys/people.json`` lists them without any secret: label, file, when it was
made, when its passphrase last changed, the day it was last used to unlock,
its scrypt work factor, and the vault id of the data identity it wraps; and
at the top the date of the last key rotation (``rotated``, null until
``vault rotate`` exists). A rotation re-wraps each listed file to the new
identity (``rewrap``: a scrypt file is written from its passphrase, so each
holder types theirs, or the key is removed and added again later) and sets
``rotated``; a key whose ``wraps`` is not the vault's id is one still to
re-wrap, so a rotation can resume, and trying a passphrase on it gives an
``IntegrityError`` only if no other key opens.

The register carries a MAC under the data key, as the head does: only an
unlocked command writes it, and every unlocked command that reads it checks
it. So "last used" cannot be forged by someone without a key (a status run
without the passphrase shows the register as found, marked unverified; an
unlocked command warns of a forged or damaged one and does not use it, and
changing the keys refuses, exit 4). A register that cannot be read locks
nobody out: every key file there is tried (``found_files``). A key file
removed or replaced here never opens again here (``revoked_keys``), even
with an old copy of the register put back. "Last used" is a day, written when
it changes, so most commands write nothing here; the audit log has each
use to the second, with the key's label.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from vault import clock, crypto, revoked_keys
from vault import levels as access_levels
from vault.errors import (
    AccessRefusedError,
    IntegrityError,
    NotFoundError,
    StorageError,
    UsageError,
    VaultNotFoundError,
    WrongKeyError,
)
from vault.fsutil import atomic_write, make_private_dir
from vault.keys import (
    DataKey,
    KeyPaths,
    open_key_file,
    read_key_file,
    unlock_with_data_secret,
    vault_id_of,
    wrap_secret,
)
from vault.levels import FULL, LevelKey

COORDINATOR = "coordinator"
REGISTER = "people.json"
PEOPLE = "people"
# The label the audit log gives an emergency-key opening: never a key's label.
EMERGENCY = "emergency"
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])?")
LABEL_RULE = "1 to 24 letters, digits and '-' (not at either end)"


@dataclass(frozen=True)
class KeyRecord:
    label: str
    file: str  # relative to keys/: "passphrase.age" or "people/LABEL.age"
    created: str | None
    passphrase_changed: str | None
    last_used: str | None  # a day, YYYY-MM-DD
    work_factor: int | None  # scrypt work factor the file was written with
    wraps: str | None  # vault id of the data identity the file wraps
    # An access level's key (``vault.levels``): the level, and the public key
    # of the identity of this person's own that the file wraps (the level's
    # key is encrypted to it); None for a full key, which wraps the data key.
    level: str | None = None
    recipient: str | None = None

    @property
    def level_name(self) -> str:
        return self.level or FULL


@dataclass
class Register:
    keys: list[KeyRecord] = field(default_factory=list)
    rotated: str | None = None  # date of the last key rotation
    stored: bool = False  # read from keys/people.json (else made from config.json)
    # each access level's public key (``vault.levels``), besides full
    levels: dict[str, str] = field(default_factory=dict)

    def find(self, label: str) -> KeyRecord | None:
        return next((k for k in self.keys if k.label == label), None)

    def put(self, record: KeyRecord) -> None:
        self.keys = [k for k in self.keys if k.label != record.label] + [record]


def register_path(paths: KeyPaths) -> Path:
    return paths.root / REGISTER


def check_label(label: str) -> str:
    """The label, lower-cased, or ``UsageError`` (exit 2) saying what a label is."""
    wanted = label.strip().lower()
    if not _LABEL.fullmatch(wanted):
        raise UsageError(
            f"the key label {label!r} is not allowed: it must be {LABEL_RULE}",
            hint="e.g. deputy, chair, treasurer-2",
        )
    return wanted


def check_new_label(label: str) -> str:
    """``check_label``, and not a label that names something else: ``emergency``
    (the sealed emergency key, never a key of the register) or ``coordinator``
    (the key every vault has from ``vault init``)."""
    wanted = check_label(label)
    if wanted in (EMERGENCY, COORDINATOR):
        raise UsageError(
            f"the key label '{wanted}' is kept for the "
            + ("sealed emergency key" if wanted == EMERGENCY else "key made at 'vault init'"),
            hint="choose another label, e.g. deputy, chair, treasurer-2",
        )
    return wanted


def file_of(label: str) -> str:
    return "passphrase.age" if label == COORDINATOR else f"{PEOPLE}/{label}.age"


def _implicit(config: dict[str, Any]) -> Register:
    """An older vault's register: the coordinator's key alone."""
    vault_id = config.get("vault_id")
    return Register(
        [
            KeyRecord(
                COORDINATOR,
                file_of(COORDINATOR),
                config.get("created"),
                config.get("passphrase_changed"),
                None,
                config.get("scrypt_work_factor"),
                vault_id if isinstance(vault_id, str) else None,
            )
        ]
    )


def _body(register: Register) -> dict[str, Any]:
    body: dict[str, Any] = {
        "format": 1,
        "keys": [asdict(k) for k in sorted(register.keys, key=lambda k: k.label)],
        "rotated": register.rotated,
    }
    if register.levels:
        body["levels"] = dict(sorted(register.levels.items()))
    return body


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _parse(data: bytes) -> tuple[Register, dict[str, Any], str]:
    damaged = IntegrityError(
        f"keys/{REGISTER} is damaged",
        hint="restore it from a backup ('vault repair NAME')",
    )
    try:
        found = json.loads(data)
        mac = found.pop("mac")
        keys = [KeyRecord(**k) for k in found["keys"]]
        rotated = found.get("rotated")
        listed = found.get("levels", {})
        levels = {str(name): str(recipient) for name, recipient in listed.items()}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise damaged from exc
    if not isinstance(mac, str) or not keys or not all(_sane(k) for k in keys):
        raise damaged
    if not all(isinstance(v, str) for v in listed.values()):
        raise damaged
    register = Register(keys, rotated if isinstance(rotated, str) else None, True, levels)
    return register, found, mac


def _sane(record: KeyRecord) -> bool:
    return (
        isinstance(record.label, str)
        and bool(_LABEL.fullmatch(record.label))
        and record.label != EMERGENCY
        and record.file == file_of(record.label)
        and (record.level is None or (isinstance(record.level, str) and record.level != FULL))
        and (record.level is None) == (record.recipient is None)
        and (record.recipient is None or isinstance(record.recipient, str))
        and not (record.level is not None and record.label == COORDINATOR)
    )


def register_readable(paths: KeyPaths) -> bool:
    """Whether ``keys/people.json`` is there and can be read (its MAC not checked)."""
    try:
        _parse(register_path(paths).read_bytes())
    except (IntegrityError, OSError):
        return False
    return True


def parses(data: bytes) -> bool:
    """Whether ``data`` reads as a key register (its MAC not checked)."""
    try:
        _parse(data)
    except IntegrityError:
        return False
    return True


def read_register(paths: KeyPaths, config: dict[str, Any]) -> Register:
    """The register as found, its MAC not checked (no key needed: status, and
    the order in which a passphrase is tried)."""
    try:
        data = register_path(paths).read_bytes()
    except FileNotFoundError:
        return _implicit(config)
    return _parse(data)[0]


def load_register(paths: KeyPaths, config: dict[str, Any], key: DataKey) -> Register:
    """The register, its MAC checked under the data key (``IntegrityError``, exit 4)."""
    try:
        data = register_path(paths).read_bytes()
    except FileNotFoundError:
        return _implicit(config)
    register, body, mac = _parse(data)
    key.check_mac(_canonical(body), mac, f"keys/{REGISTER}")
    return register


def still_named(paths: KeyPaths, config: dict[str, Any], key: DataKey, label: str) -> bool:
    """Whether the key ``label`` (the one that unlocked, as the unlock agent
    held it) is still in the register; the emergency key always is, and a
    register that cannot be checked says nothing against it (its damage is
    reported when it is checked after unlocking)."""
    if label == EMERGENCY:
        return True
    try:
        return load_register(paths, config, key).find(label) is not None
    except (IntegrityError, OSError):
        return True


def save_register(paths: KeyPaths, register: Register, key: DataKey) -> None:
    """Write the register atomically with its MAC; remove key files it does not name."""
    body = _body(register)
    body["mac"] = key.mac(_canonical(_body(register)))
    atomic_write(register_path(paths), (json.dumps(body, indent=2, sort_keys=True) + "\n").encode())
    register.stored = True
    named = {k.file for k in register.keys}
    folder = paths.root / PEOPLE
    if folder.is_dir():
        for path in folder.glob("*.age"):
            if f"{PEOPLE}/{path.name}" not in named:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()


def _order(register: Register) -> list[KeyRecord]:
    """Most recently used first (as restic tries its keys), then the coordinator."""
    return sorted(
        register.keys,
        key=lambda k: (k.last_used or "", k.label == COORDINATOR),
        reverse=True,
    )


def found_files(paths: KeyPaths, config: dict[str, Any]) -> Register:
    """A register made from the key files there (the coordinator's, then each
    ``keys/people/LABEL.age``), for when ``keys/people.json`` cannot be read:
    no work factor is known, so each is opened up to the default limit only."""
    records = [replace(_implicit(config).keys[0], work_factor=None)]
    folder = paths.root / PEOPLE
    with contextlib.suppress(OSError):
        for path in sorted(folder.glob("*.age")):
            if is_personal_key_path(f"keys/{PEOPLE}/{path.name}") and path.stem != EMERGENCY:
                label = path.name[: -len(".age")]
                records.append(KeyRecord(label, file_of(label), None, None, None, None, None))
    return Register(records)


def unlock_any(
    paths: KeyPaths, config: dict[str, Any], passphrase: str, *, trusted: bool = True
) -> tuple[DataKey, str]:
    """``unlock_any_level`` for what needs a full key (the data key): a key of
    an access level that opens is refused (``AccessRefusedError``, exit 7)."""
    key, label = unlock_any_level(paths, config, passphrase, trusted=trusted)
    if isinstance(key, LevelKey):
        raise level_refusal(label, key.name)
    return key, label


def level_refusal(label: str, level: str, what: str = "this") -> AccessRefusedError:
    """The error for a command a key of access level ``level`` may not run."""
    return AccessRefusedError(
        f"the key '{label}' is a key of the access level '{level}': it may read and search "
        f"the documents granted to '{level}', not {what}",
        hint="use a full key (the coordinator's, or a deputy's)",
    )


def unlock_any_level(
    paths: KeyPaths, config: dict[str, Any], passphrase: str, *, trusted: bool = True
) -> tuple[DataKey | LevelKey, str]:
    """Try ``passphrase`` on every key, the most recently used first; the key
    it opened (the data key, or an access level's key: ``vault.levels``) and
    its label, or ``WrongKeyError`` once (``NotFoundError`` when no key file
    is there). ``trusted``: the register's scrypt work factors
    are this computer's (not: a backup's, read up to the default limit only).
    A register that cannot be read does not lock anyone out: every key file
    there is tried (``found_files``); the next check of the register (its MAC,
    after unlocking) says it is damaged."""
    try:
        register = read_register(paths, config)
    except (IntegrityError, OSError):
        register = found_files(paths, config)
    tried = 0
    unreadable: list[str] = []
    mismatch: IntegrityError | None = None
    for record in _order(register):
        path = paths.root / record.file
        if not os.path.lexists(path):
            continue
        tried += 1
        limit = record.work_factor if trusted else None
        if record.label == COORDINATOR and trusted:
            limit = config.get("scrypt_work_factor") or limit
        try:
            if revoked_keys.is_revoked(paths.root.parent, read_key_file(path)):
                continue  # removed or replaced here, then put back
            secret = open_key_file(path, passphrase, work_factor=limit)
            return _opened(paths, secret), record.label
        except WrongKeyError:
            continue
        except OSError:  # a folder, a link, a device in its place: skipped
            tried -= 1
            unreadable.append(record.file)
        except IntegrityError as error:  # it opened, to a key that is not this vault's
            mismatch = mismatch or error
    if mismatch is not None:
        raise mismatch
    if not tried and unreadable:
        raise StorageError(
            f"no key file of this vault can be read (keys/{unreadable[0]} is not a file "
            "that can be read)",
            hint="restore the keys folder from a backup ('vault repair NAME')",
        )
    if not tried:
        raise NotFoundError(
            f"no key file of this vault is in {paths.root}",
            hint="restore the keys folder from a backup ('vault repair NAME')",
        )
    raise WrongKeyError(
        "wrong passphrase" + ("" if tried == 1 else f" (it opens none of the {tried} keys)"),
        hint="check Caps Lock and try again",
    )


def _opened(paths: KeyPaths, secret: bytes) -> DataKey | LevelKey:
    """What a key file's secret opens: the data key, or the key of the access
    level whose ``keys/levels/NAME.age`` it opens (``IntegrityError`` if neither)."""
    text = secret.decode("utf-8", "replace")
    try:
        return unlock_with_data_secret(paths, text)
    except WrongKeyError:
        pass
    found = open_level_key(paths, text)
    if found is None:
        raise IntegrityError("the unlocked key does not match this vault's public key")
    return found


def level_files(paths: KeyPaths) -> list[str]:
    """The access levels that have key files here (``keys/levels/NAME.age``)."""
    found = access_levels.folder(paths)
    with contextlib.suppress(OSError):
        return sorted(p.stem for p in found.glob("*.age") if access_levels.valid_name(p.stem))
    return []


def open_level_key(paths: KeyPaths, secret: str) -> LevelKey | None:
    """The access level key a personal key's own identity (``secret``: what
    its passphrase file wraps, as the unlock agent holds it) opens; None when
    it opens none. A level whose key files do not match raises ``IntegrityError``."""
    try:
        identity = crypto.parse_identity(secret)
    except WrongKeyError:
        return None
    for name in level_files(paths):
        try:
            return access_levels.open_level(paths, name, identity, opener=secret.strip())
        except WrongKeyError:
            continue
    return None


def add_key(
    paths: KeyPaths,
    config: dict[str, Any],
    key: DataKey,
    label: str,
    passphrase: str,
    level: str | None = None,
) -> KeyRecord:
    """A new personal key ``label`` under ``passphrase``: wrapping the data
    identity (a full key), or, for an access ``level``, an identity of its
    own to which that level's key is then encrypted too (``vault.levels``;
    the level gets its key first if it has none)."""
    label = check_new_label(label)
    register = load_register(paths, config, key)
    if register.find(label) is not None:
        raise UsageError(
            f"a key labelled '{label}' exists already",
            hint=f"choose another label, or 'vault key remove {label}' first",
        )
    try:
        taken = unlock_any_level(paths, config, passphrase)[1]
    except (WrongKeyError, IntegrityError, NotFoundError, StorageError):
        taken = None
    if taken is not None:
        raise UsageError(
            f"that passphrase already opens the key '{taken}': each key needs a passphrase "
            "of its own",
            hint="choose another passphrase",
        )
    now = clock.stamp()
    record = KeyRecord(label, file_of(label), now, now, None, 0, None)
    make_private_dir(paths.root / PEOPLE)
    if level is None or level == FULL:
        factor = wrap_secret(paths.root / record.file, key.secret, passphrase)
        register.put(replace(record, work_factor=factor, wraps=vault_id_of(key.recipient)))
        save_register(paths, register, key)
        return register.find(label) or record
    level_key = ensure_level(paths, config, key, register, level)
    secret, public = crypto.generate_identity()
    factor = wrap_secret(paths.root / record.file, secret, passphrase)
    register.put(replace(record, work_factor=factor, level=level, recipient=public))
    access_levels.write_level(paths, level_key, key.recipient, people_of(register, level))
    save_register(paths, register, key)
    return register.find(label) or record


def people_of(register: Register, level: str) -> list[str]:
    """The public keys of the personal keys of access level ``level``."""
    return sorted(k.recipient for k in register.keys if k.level == level and k.recipient)


def ensure_level(
    paths: KeyPaths, config: dict[str, Any], key: DataKey, register: Register, level: str
) -> LevelKey:
    """Access level ``level``'s key, opened with the data key; made first when
    it has none (its files written, the register naming its public key: the
    caller saves the register)."""
    listed = register.levels.get(level)
    if listed is not None:
        return access_levels.open_level(paths, level, key.identity, listed)
    if access_levels.read_recipient(paths, level) is not None:
        raise IntegrityError(
            f"keys/levels/{level}.pub is there, but the list of keys names no key for the "
            f"access level '{level}' (put there, or the list put back from an older copy)",
            hint="restore the keys folder from a backup ('vault repair NAME')",
        )
    made = access_levels.new_level(level)
    access_levels.write_level(paths, made, key.recipient, people_of(register, level))
    register.levels[level] = made.recipient
    return made


def make_levels(
    paths: KeyPaths, config: dict[str, Any], key: DataKey, *, typed_only: bool = False
) -> list[str]:
    """Give every access level config.json names a key if it has none (only
    those granted document types by default, with ``typed_only``: storing
    without a key needs their public keys); the register is saved when one
    was made. Returns the levels made."""
    register = load_register(paths, config, key)
    made = []
    settings = access_levels.configured(config)
    for level in access_levels.names(config):
        if typed_only and not settings[level].get("types"):
            continue
        if level not in register.levels:
            ensure_level(paths, config, key, register, level)
            made.append(level)
    if made:
        save_register(paths, register, key)
    return made


def removable(register: Register, label: str) -> KeyRecord:
    """The record of key ``label``, which may be removed: ``UsageError``
    (exit 2) when there is no such key, or it is the last one."""
    record = register.find(label)
    if record is None:
        known = ", ".join(k.label for k in register.keys)
        raise UsageError(f"no key is labelled '{label}'", hint=f"the keys are: {known}")
    if len(register.keys) == 1:
        raise UsageError(
            f"'{label}' is the vault's last key: removing it would leave no passphrase "
            "that opens the vault",
            hint="add another key first ('vault key add LABEL')",
        )
    if record.level is None and not any(k.level is None for k in register.keys if k is not record):
        raise UsageError(
            f"'{label}' is the vault's last full key: removing it would leave no passphrase "
            "that opens every document",
            hint="add another full key first ('vault key add LABEL')",
        )
    return record


def remove_key(paths: KeyPaths, config: dict[str, Any], key: DataKey, label: str) -> KeyRecord:
    """Remove key ``label``: its file and its line; never the last key (exit 2)."""
    label = label.strip().lower()
    register = load_register(paths, config, key)
    record = removable(register, label)
    _revoke(paths, record.file)
    register.keys = [k for k in register.keys if k.label != label]
    save_register(paths, register, key)
    with contextlib.suppress(FileNotFoundError):
        (paths.root / record.file).unlink()
    return record


def _revoke(paths: KeyPaths, file: str) -> None:
    """Note key file ``file`` (about to be removed or replaced) as taken back."""
    with contextlib.suppress(OSError, VaultNotFoundError):
        revoked_keys.revoke(paths.root.parent, read_key_file(paths.root / file))


def rewrap(
    paths: KeyPaths, config: dict[str, Any], key: DataKey, label: str, passphrase: str
) -> KeyRecord:
    """Wrap the data identity under a new passphrase for key ``label`` (its file
    replaced atomically); the coordinator's key is made again if it was removed."""
    register = load_register(paths, config, key)
    old = register.find(label)
    if old is None and label != COORDINATOR:
        raise UsageError(f"no key is labelled '{label}'")
    if label != COORDINATOR:
        make_private_dir(paths.root / PEOPLE)
    _revoke(paths, file_of(label))  # the old passphrase's file never opens again here
    factor = wrap_secret(paths.root / file_of(label), key.secret, passphrase)
    now = clock.stamp()
    record = replace(
        old or KeyRecord(label, file_of(label), now, now, None, None, None),
        passphrase_changed=now,
        work_factor=factor,
        wraps=vault_id_of(key.recipient),
    )
    register.put(record)
    save_register(paths, register, key)
    return record


def note_use(paths: KeyPaths, config: dict[str, Any], key: DataKey, label: str) -> None:
    """Record today as the day key ``label`` was last used (written only when
    the day changed). A vault with no register file (only the coordinator's
    key, from before personal keys) gets none from this: nothing to record
    that anyone reads (the coordinator's key is never warned of as unused)."""
    if not register_path(paths).exists():
        return
    register = load_register(paths, config, key)
    record = register.find(label)
    today = clock.now().date().isoformat()
    if record is None or record.last_used == today:
        return
    register.put(replace(record, last_used=today))
    save_register(paths, register, key)


USE_NOTE = "key-use.json"  # in local/: the days keys of an access level were last used


def _use_note(paths: KeyPaths) -> Path:
    return paths.root.parent / "local" / USE_NOTE


def read_level_use(paths: KeyPaths) -> dict[str, str]:
    """{label: day} of the keys of an access level used since a full key last
    entered their days in the register (``note_level_use``)."""
    try:
        found = json.loads(_use_note(paths).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items() if isinstance(v, str) and len(v) == 10}


def note_level_use(paths: KeyPaths, label: str) -> None:
    """Note today as the day key ``label`` (of an access level) was last used.
    The register carries a MAC under the data key, which such a key does not
    open: the day waits in ``local/key-use.json`` (never sent to a remote)
    until a full key enters it (``enter_level_use``); the committee's key
    check reads both meanwhile."""
    found = read_level_use(paths)
    today = clock.now().date().isoformat()
    if found.get(label) == today:
        return
    found[label] = today
    make_private_dir(_use_note(paths).parent)
    atomic_write(_use_note(paths), (json.dumps(found, sort_keys=True) + "\n").encode())


def enter_level_use(paths: KeyPaths, config: dict[str, Any], key: DataKey) -> None:
    """Enter the days noted by ``note_level_use`` in the register (a full key
    unlocked), for the keys of an access level it names; then drop the note."""
    found = read_level_use(paths)
    if not found:
        return
    register = load_register(paths, config, key)
    changed = False
    for label, day in found.items():
        record = register.find(label)
        if record is not None and record.level is not None and day > (record.last_used or ""):
            register.put(replace(record, last_used=day))
            changed = True
    if changed:
        save_register(paths, register, key)
    with contextlib.suppress(FileNotFoundError):
        _use_note(paths).unlink()


def damaged_files(paths: KeyPaths, config: dict[str, Any]) -> list[tuple[str, str]]:
    """The key files the register names that are missing or not an age scrypt
    file, as (path under the vault folder, "missing" or "corrupt"); no key needed."""
    try:
        register = read_register(paths, config)
    except IntegrityError:
        return [(f"keys/{REGISTER}", "corrupt")]
    found = []
    for record in sorted(register.keys, key=lambda k: k.label):
        try:
            head = read_key_file(paths.root / record.file)
        except VaultNotFoundError:
            found.append((f"keys/{record.file}", "missing"))
            continue
        except OSError:
            found.append((f"keys/{record.file}", "corrupt"))
            continue
        if not head.startswith(b"age-encryption.org/v1\n-> scrypt "):
            found.append((f"keys/{record.file}", "corrupt"))
    for level, recipient in sorted(register.levels.items()):  # each access level's keys
        found += _damaged_level(paths, level, recipient)
    named = {k.file for k in register.keys}
    with contextlib.suppress(OSError):  # left by a key add or remove cut short, or put there
        for path in sorted((paths.root / PEOPLE).iterdir()):
            if f"{PEOPLE}/{path.name}" not in named:
                found.append((f"keys/{PEOPLE}/{path.name}", "not in the list of keys"))
    return found


def _damaged_level(paths: KeyPaths, level: str, recipient: str) -> list[tuple[str, str]]:
    """Access level ``level``'s key files, missing or not what they must be:
    its public key the one the register names, its key an age file."""
    found = []
    for path in (access_levels.public_path(paths, level), access_levels.wrapped_path(paths, level)):
        rel = f"keys/{access_levels.FOLDER}/{path.name}"
        try:
            data = read_key_file(path)
        except VaultNotFoundError:
            found.append((rel, "missing"))
            continue
        except OSError:
            found.append((rel, "corrupt"))
            continue
        if path.suffix == ".pub":
            good = data.decode("ascii", "replace").strip() == recipient
        else:
            good = data.startswith(b"age-encryption.org/v1\n-> X25519 ")
        if not good:
            found.append((rel, "corrupt"))
    return found


def is_personal_key_path(rel: str) -> bool:
    """Whether ``rel`` (relative to the vault folder) names a personal key file."""
    prefix, _, name = rel.rpartition("/")
    return (
        prefix == f"keys/{PEOPLE}"
        and name.endswith(".age")
        and bool(_LABEL.fullmatch(name[: -len(".age")]))
    )


def is_level_key_path(rel: str) -> bool:
    """Whether ``rel`` (relative to the vault folder) names an access level's
    key file (``keys/levels/NAME.pub`` or ``NAME.age``, ``vault.levels``)."""
    prefix, _, name = rel.rpartition("/")
    stem, dot, kind = name.rpartition(".")
    return (
        prefix == f"keys/{access_levels.FOLDER}"
        and bool(dot)
        and kind in ("pub", "age")
        and access_levels.valid_name(stem)
    )
