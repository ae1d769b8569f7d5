"""The key check for the committee: which keys open the vault, how old each
is, when each was last used, and when the keys were last rotated.

Read from the key register (``vault.key_register``) without any key: labels
and dates only, never a secret. A personal key (any but the coordinator's)
not used for ``key_unused_warn_days`` days (default 180) is named in a
warning: its holder may have left.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from vault import clock, key_register
from vault.repository import Vault

DEFAULT_KEY_UNUSED_WARN_DAYS = 180


@dataclass(frozen=True)
class KeyStatus:
    label: str
    created: str | None
    passphrase_changed: str | None
    age_days: int | None  # since it was made
    passphrase_age_days: int | None  # since its passphrase was last set
    last_used: str | None  # a day, YYYY-MM-DD
    unused_days: int | None  # since last used (never used: since it was made)
    missing: bool = False  # the register names it, but its key file is not there
    level: str = "full"  # the access level it opens (``vault.levels``)


@dataclass(frozen=True)
class KeyCheck:
    keys: list[KeyStatus]
    last_rotation: str | None  # None: never rotated
    damaged: bool = False  # keys/people.json could not be read, or failed its MAC
    verified: bool = False  # its MAC was checked with the vault's key


def _days(since: str | None, now: datetime) -> int | None:
    when = clock.parse(since)
    return max(0, (now - when).days) if when is not None else None


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _day_gap(text: str | None, now: datetime) -> int | None:
    day = _day(text)
    return max(0, (now.date() - day).days) if day else None


def check_keys(vault: Vault, now: datetime) -> KeyCheck:
    """Each key of the vault as the register says: its MAC checked when the
    vault is unlocked (a status given the passphrase), else by the next
    command that unlocks (``vault.key_register``)."""
    from vault.errors import IntegrityError

    try:
        if vault.key is not None:
            register = key_register.load_register(vault.key_paths, vault.config, vault.key)
        else:
            register = key_register.read_register(vault.key_paths, vault.config)
    except IntegrityError:
        return KeyCheck([], None, damaged=True)
    keys = []
    noted = key_register.read_level_use(vault.key_paths)  # keys of a level, used since
    for k in sorted(register.keys, key=lambda k: (k.label != key_register.COORDINATOR, k.label)):
        if k.level is not None and noted.get(k.label, "") > (k.last_used or ""):
            k = replace(k, last_used=noted[k.label])
        used = _day_gap(k.last_used, now)
        keys.append(
            KeyStatus(
                label=k.label,
                created=k.created,
                passphrase_changed=k.passphrase_changed,
                age_days=_days(k.created, now),
                passphrase_age_days=_days(k.passphrase_changed, now),
                last_used=k.last_used,
                unused_days=used if used is not None else _days(k.created, now),
                missing=not os.path.lexists(vault.key_paths.root / k.file),
                level=k.level_name,
            )
        )
    return KeyCheck(keys, register.rotated, verified=vault.key is not None)


def warn_days(config: dict[str, Any]) -> int:
    return int(config.get("key_unused_warn_days", DEFAULT_KEY_UNUSED_WARN_DAYS))


def unused(found: KeyCheck, config: dict[str, Any]) -> list[KeyStatus]:
    """The personal keys not used for ``key_unused_warn_days`` days or more."""
    limit = warn_days(config)
    return [
        k
        for k in found.keys
        if k.label != key_register.COORDINATOR
        and k.unused_days is not None
        and k.unused_days >= limit
    ]


def key_line(k: KeyStatus) -> str:
    """One key in plain words: ``deputy: made 12 Mar 2026 (200 days ago); …``."""
    made = clock.shown_day(k.created, never="unknown")
    ago = f" ({k.age_days} days ago)" if k.age_days is not None else ""
    changed = (
        f"; passphrase set {k.passphrase_age_days} days ago"
        if k.passphrase_age_days is not None
        else ""
    )
    used = clock.shown_day(_day(k.last_used)) if _day(k.last_used) else "never"
    gone = " Its key file is missing." if k.missing else ""
    level = f" ({k.level} level)" if k.level != "full" else ""
    return f"{k.label}{level}: made {made}{ago}{changed}; last used {used}.{gone}"


@dataclass(frozen=True)
class LevelStatus:
    """An access level as the committee sees it (``vault.levels``): counts only."""

    level: str
    keys: int  # keys of this level
    documents: int | None  # documents it opens (full: all); None: not known
    types: tuple[str, ...] = ()  # document types granted to it when stored


def check_levels(vault: Vault, found: KeyCheck, documents: int | None) -> list[LevelStatus]:
    """Each access level with its number of keys and of the documents it can
    open, from the settings, the register and the head (no key needed: the
    head names each level's catalog with its count; ``documents``: every
    document, what ``full`` opens)."""
    from vault import levels
    from vault.errors import IntegrityError
    from vault.head import read_head

    try:
        head = read_head(vault.layout.head)
    except IntegrityError:
        head = None
    counts = {entry.level: entry.documents for entry in head[0].levels} if head else {}
    shown = []
    for name, options in levels.configured(vault.config).items():
        keys = sum(1 for k in found.keys if k.level == name)
        count = documents if name == levels.FULL else counts.get(name, 0 if head else None)
        shown.append(LevelStatus(name, keys, count, tuple(options.get("types", []))))
    return shown


def level_line(level: LevelStatus) -> str:
    """``session: 3 keys; 12 documents granted (contact-arrangements by default).``"""
    keys = f"{level.keys} key{'s' if level.keys != 1 else ''}"
    if level.level == "full":
        opens = "opens every document" + (
            f" ({level.documents})" if level.documents is not None else ""
        )
    elif level.documents is None:
        opens = "documents granted: not known (no head)"
    else:
        opens = f"{level.documents} document{'s' if level.documents != 1 else ''} granted"
    types = f" ({', '.join(level.types)} by default)" if level.types else ""
    return f"{level.level}: {keys}; {opens}{types}."


UNVERIFIED_KEYS = "unverified: needs the passphrase to check"


def rotation_line(last_rotation: str | None) -> str:
    return f"Last key rotation: {clock.shown(last_rotation)}."
