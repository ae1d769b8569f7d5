"""The quarantine folder: where inputs that cannot be stored are moved.

Each quarantined file sits beside ``<name>.reason.txt``: the reason in plain
words, when, and the file's name (its full path only when asked to be
verbose); never any of the document's text.
The folder is private (0700), its files 0600, and it always lies outside the
vault folder, which must never hold plaintext. It is, in order: the
``--quarantine`` option, the ``quarantine_dir`` setting in the vault's
``config.json``, or ``quarantine`` beside the vault folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.relocate import move_aside
from vault.display import escaped
from vault.errors import UsageError, VaultError
from vault.fsutil import atomic_write

REASON_SUFFIX = ".reason.txt"
CONFIG_KEY = "quarantine_dir"


def quarantine_folder(vault_root: Path, option: Path | None, config: Mapping[str, Any]) -> Path:
    """Where quarantined files go; refuses a folder inside the vault."""
    configured = config.get(CONFIG_KEY)
    if option is not None:
        chosen = option
    elif configured is not None:
        if not isinstance(configured, str) or not configured.strip():
            raise UsageError(f"the '{CONFIG_KEY}' setting in config.json must be a folder path")
        chosen = Path(configured)
    else:
        chosen = vault_root.expanduser().absolute().parent / "quarantine"
    folder = chosen.expanduser().resolve()
    ensure_outside_vault(folder, vault_root, "quarantine folder")
    return folder


def ensure_outside_vault(folder: Path, vault_root: Path, what: str) -> None:
    """Refuse ``folder`` if it is, or lies inside, the vault folder."""
    root = vault_root.expanduser().resolve()
    if folder == root or root in folder.parents:
        raise UsageError(
            f"the {what} {folder} is inside the vault folder",
            hint="the vault folder must hold only encrypted data; choose a folder outside it",
        )


@dataclass(frozen=True)
class Quarantine:
    folder: Path
    verbose: bool = False  # the reason file names the source by its full path

    def put(self, path: Path, reason: str) -> Path:
        """Move ``path`` here beside its reason file; return where it went."""
        source = escaped(path.absolute() if self.verbose else path.name)
        dest = move_aside(path, self.folder, companions=(REASON_SUFFIX,))
        when = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
        note = (
            f"Not stored in the vault: {reason}\n"
            f"Quarantined: {when}\n"
            f"From: {source}\n"
            "Fix or replace the file and ingest it again, or delete it.\n"
        )
        try:
            atomic_write(reason_file(dest), note.encode("utf-8"))
        except OSError as exc:
            raise VaultError(
                f"{path.name} was moved to the quarantine as {dest.name} but its reason "
                f"file cannot be written: {exc.strerror}"
            ) from exc
        return dest


def reason_file(quarantined: Path) -> Path:
    return quarantined.with_name(quarantined.name + REASON_SUFFIX)
