"""The vault's folder layout and its plain settings file.

``config.json`` holds no secret and no personal data: the vault id, when it was
made, when the passphrase last changed, and settings later features add
(remotes, document-type rules). Written atomically.

Every setting is type-checked when the file is read (``check_settings``), so
a hand-edited file with a wrong type (a list for the whole file, ``"remotes":
"x"``, ``"scrypt_work_factor": "abc"``) is one clear ``SettingsError`` naming
the setting, never a traceback later in whichever command first uses it.
Settings this version does not know are left alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from vault.errors import SettingsError, VaultNotFoundError
from vault.fsutil import atomic_write


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    @property
    def journal(self) -> Path:
        return self.root / "journal"

    @property
    def catalog(self) -> Path:
        return self.root / "catalog"

    @property
    def head(self) -> Path:
        return self.root / "head.json"

    @property
    def local(self) -> Path:
        """What never leaves this computer (signing key, catalog database)."""
        return self.root / "local"

    @property
    def audit(self) -> Path:
        return self.root / "audit.log"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def lock(self) -> Path:
        return self.root / "lock"


def _whole(low: int, high: int | None = None) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value >= low
            and (high is None or value <= high)
        )

    return check


MAX_IDLE_LOCK_MINUTES = 1440  # ui_idle_lock_minutes: a day at most


def _positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _idle_minutes(value: Any) -> bool:
    """An idle lock that can happen: a year or forever (JSON's Infinity) is none."""
    return _positive_number(value) and value <= MAX_IDLE_LOCK_MINUTES


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _vault_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 64 and value.isascii() and value.isalnum()


def _names_to_text(value: Any) -> bool:
    return isinstance(value, dict) and all(_text(k) and _text(v) for k, v in value.items())


def _names_to_years(value: Any) -> bool:
    return isinstance(value, dict) and all(
        _text(k) and isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 200
        for k, v in value.items()
    )


def _names_to_phrases(value: Any) -> bool:
    return isinstance(value, dict) and all(
        _text(k) and isinstance(v, list) and all(_text(p) for p in v) for k, v in value.items()
    )


LEVEL_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])?")


def _levels(value: Any) -> bool:
    """Access levels (``vault.levels``): names to options, each with the
    document types granted to it when stored (none for ``full``)."""
    if not isinstance(value, dict):
        return False
    for name, options in value.items():
        if not isinstance(name, str) or not LEVEL_NAME.fullmatch(name):
            return False
        if not isinstance(options, dict):
            return False
        types = options.get("types", [])
        if not isinstance(types, list) or not all(_text(t) for t in types):
            return False
        if name == "full" and types:
            return False  # full opens everything: nothing to grant it
    return True


# setting -> (check, what it must be)
SETTINGS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "format": (_whole(1, 1), "1"),
    "vault_id": (_vault_id, "letters and digits"),
    "created": (_time, "a date and time"),
    "passphrase_changed": (_time, "a date and time"),
    "data_key": (_vault_id, "letters and digits"),
    "rotated": (_time, "a date and time"),
    "centre_name": (_text_or_none, "text or null"),
    "scrypt_work_factor": (_whole(1, 30), "a whole number from 1 to 30"),
    "remotes": (_names_to_text, 'a table of names to rclone paths, e.g. {"offsite": "b2:c"}'),
    "quarantine_dir": (_text, "a folder path"),
    "retention_years": (
        _names_to_years, 'a table of document types to whole years, e.g. {"referral": 7}'
    ),
    "rules": (_names_to_phrases, 'a table of types to lists of phrases, e.g. {"referral": ["X"]}'),
    "max_pages": (_whole(1), "a whole number of at least 1"),
    "ocr_languages": (_text, 'tesseract language codes, e.g. "eng"'),
    "backup_max_age_hours": (_positive_number, "a number of hours above 0"),
    "verify_max_age_days": (_whole(1), "a whole number of days of at least 1"),
    "key_unused_warn_days": (_whole(1), "a whole number of days of at least 1"),
    "ui_idle_lock_minutes": (_idle_minutes, "a number of minutes above 0, at most 1440 (a day)"),
    "levels": (
        _levels,
        'a table of access levels, e.g. {"full": {}, "session": {"types": ["session-notes"]}}',
    ),
}  # fmt: skip


IDLE_LOCK_MINUTES = 10.0  # default of ui_idle_lock_minutes


def idle_lock_minutes(config: dict[str, Any]) -> float:
    """How long an unlocked vault stays unlocked without use (``vault unlock``,
    the web page): ``ui_idle_lock_minutes``, default 10."""
    return float(config.get("ui_idle_lock_minutes", IDLE_LOCK_MINUTES))


def check_settings(data: Any, path: Path) -> dict[str, Any]:
    """``data`` as read from ``path``, after checking every setting's type."""
    if not isinstance(data, dict):
        raise SettingsError(
            f"the vault settings file {path.name} is malformed: it must be a JSON object",
            hint=f"correct {path} (a copy is on the backup remote)",
        )
    for name, (check, wanted) in SETTINGS.items():
        if name in data and not check(data[name]):
            raise SettingsError(
                f"the setting '{name}' in {path.name} is malformed: it must be {wanted}",
                hint=f"correct it in {path}",
            )
    return data


def read_config(layout: Layout) -> dict[str, Any]:
    try:
        text = layout.config.read_bytes()
    except FileNotFoundError as exc:
        raise VaultNotFoundError(
            f"no vault at {layout.root}",
            hint="run 'vault init' to make one, or pass --vault DIR (or set VAULT_DIR)",
        ) from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SettingsError(
            f"the vault settings file {layout.config.name} is not valid JSON",
            hint=f"correct {layout.config} (a copy is on the backup remote)",
        ) from exc
    return check_settings(data, layout.config)


def centre_name(config: dict[str, Any]) -> str | None:
    """The centre's name as ``vault init`` stored it (for the emergency sheet
    and the committee report's header), or None when none was given."""
    name = config.get("centre_name")
    return (name.strip() or None) if isinstance(name, str) else None


def write_config(layout: Layout, config: dict[str, Any]) -> None:
    text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    atomic_write(layout.config, text.encode())
