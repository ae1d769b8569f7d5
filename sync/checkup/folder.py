"""The vault folder itself: its modes, its owner, and no stray plaintext.

Every folder of the vault is made 0700 and every file 0600, owned by the
user who runs the vault (``vault.fsutil``). ``objects/`` and ``manifests/``
hold only age files, and ``catalog/`` only age files and their plain
indexes of object ids (``<sha>.idx``): any other file there is stray (a
scan copied in by hand, a file left by another program), and may be
plaintext. Each file is recognised by its first bytes, the age header;
files the vault is writing (its temporary names) are left out. Only counts
come out of here: never a name or a path.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from vault.fsutil import TEMP_PREFIX

AGE_HEADER = b"age-encryption.org/v1\n"
AGE_ONLY = ("objects", "manifests", "catalog")
INDEX_SUFFIX = ".idx"  # catalog/<sha>.idx: plain JSON of object ids and sizes


@dataclass
class FolderScan:
    folders: int = 0
    files: int = 0
    open_folders: int = 0  # folders others can read or enter (a mode beyond 0700)
    open_files: int = 0  # files others can read (a mode beyond 0600)
    foreign: int = 0  # files and folders owned by another user
    stray: int = 0  # files in an age-only folder that are not age files
    stray_places: list[str] = field(default_factory=list)  # which folders (objects, ...)
    checked_modes: bool = True  # False where modes mean nothing (Windows)


def scan_folder(root: Path) -> FolderScan:
    """Walk the vault folder once (without following links)."""
    found = FolderScan(checked_modes=os.name == "posix")
    uid = os.getuid() if hasattr(os, "getuid") else None
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        _look(found, here, True, uid)
        for name in files:
            path = here / name
            if not _look(found, path, False, uid):
                continue
            if name.startswith(TEMP_PREFIX):
                continue
            place = path.relative_to(root).parts[0]
            if place in AGE_ONLY and _stray(path, place):
                found.stray += 1
                if place not in found.stray_places:
                    found.stray_places.append(place)
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
    return found


def _look(found: FolderScan, path: Path, folder: bool, uid: int | None) -> bool:
    """Count ``path``'s mode and owner; False for what is not a plain file."""
    try:
        info = path.lstat()
    except OSError:
        return False
    if not folder and not stat.S_ISREG(info.st_mode):
        return False
    if folder:
        found.folders += 1
    else:
        found.files += 1
    if found.checked_modes and info.st_mode & 0o077:
        if folder:
            found.open_folders += 1
        else:
            found.open_files += 1
    if uid is not None and info.st_uid != uid:
        found.foreign += 1
    return True


def _stray(path: Path, place: str) -> bool:
    if place == "catalog" and path.name.endswith(INDEX_SUFFIX):
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(len(AGE_HEADER))
    except OSError:
        return False  # unreadable: counted by the modes, if at all
    return head != AGE_HEADER
