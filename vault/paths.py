"""Per-user folders: where a vault lives when no folder is given, and where
this computer keeps what it remembers about its vaults."""

from __future__ import annotations

import os
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath

# Where removable disks appear: Linux desktops, other Linux set-ups, macOS.
REMOVABLE_PLACES = ("/media", "/run/media", "/mnt", "/Volumes")


def on_removable_drive(path: str) -> bool:
    """Whether ``path`` is where a removable drive (a data stick, a USB disk)
    appears, judged from the path alone: under /media, /run/media, /mnt or
    /Volumes, or on a Windows drive other than C:."""
    windows = PureWindowsPath(path)
    if windows.drive and windows.drive.upper() != "C:":
        return True
    posix = PurePosixPath(path.split(":")[-1] if not windows.drive else path)
    return any(posix.is_relative_to(place) for place in REMOVABLE_PLACES)


def default_vault_dir() -> Path:
    if sys.platform == "win32":  # pragma: no cover - Windows
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "CentreVault" / "vault"
    if sys.platform == "darwin":  # pragma: no cover - macOS
        return Path.home() / "Library" / "Application Support" / "Centre Vault" / "vault"
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "centre-vault" / "vault"


def locate(path: Path | None) -> Path:
    """The vault folder: ``path``, or the per-user default."""
    if path is not None:
        return path.expanduser()
    return default_vault_dir()


def default_state_dir() -> Path:
    """A per-user folder for what this computer remembers outside any vault
    folder (see ``vault.anchor``)."""
    if sys.platform == "win32":  # pragma: no cover - Windows
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "CentreVault" / "state"
    if sys.platform == "darwin":  # pragma: no cover - macOS
        return Path.home() / "Library" / "Application Support" / "Centre Vault" / "state"
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "centre-vault"
