"""The marker at the top of a folder remote: whose backup the folder is.

A folder remote (a local path, usually a USB disk) gets a small text file,
``vault-backup.txt``, holding the vault id when ``vault remote add`` adds it
(written to a temporary name, fsynced and renamed). Before anything reads
from or writes to the folder, the marker is looked for:

- the folder is not there, or holds neither the marker nor this vault's
  backup: the disk is not plugged in (``RemoteError``, exit 5). The folder
  is never made again: rclone would make a fresh one on the computer's own
  disk and the backup would only pretend to be on the USB disk;
- the marker holds another vault's id: the folder is another vault's backup
  (exit 5);
- the marker holds this vault's id: go on.

Folders added before the marker existed: the first sync (or repair) that
finds this vault's backup in the folder (its ``head.json``, and a
``config.json`` that names this vault's id) writes the marker; so does the
first sync to a folder that was never synced to (the state file has no
record of it), unless ``vault remote add`` marked it (the vault's
``config.json`` lists it under ``marked_remotes``): a disk unplugged before
its first sync leaves an empty mount point, which is not the disk.
``verify --remote`` only reads: it accepts this vault's backup where the
marker is missing. A sync also looks again before it sends the head: a
disk pulled out mid-sync (rclone then makes the folder again on this
computer's own disk) gets no head, so that folder never passes for a
backup. A recovery on a new computer has no vault id to compare with: a
marker with any id, or a backup without one made before markers, will do;
the backup's own head and keys say the rest.

A named rclone remote of the local type (``usb:`` set up with ``rclone
config``) is marked by its first sync, and checked the same way after it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vault.errors import RemoteError, UsageError
from vault.fsutil import DIR_MODE, atomic_write

MARKER = "vault-backup.txt"
MARKED_KEY = "marked_remotes"  # config.json: the folder remotes marked when added
_ID_LINE = "vault id:"
_CONFIG = "config.json"


def marked_when_added(config: Mapping[str, Any], name: str) -> bool:
    """Whether remote ``name`` was marked by ``vault remote add``: its folder must
    hold the marker even before its first sync (an empty mount point is not it)."""
    marked = config.get(MARKED_KEY)
    return isinstance(marked, list) and name in marked


def note_marked(config: dict[str, Any], name: str, *, marked: bool) -> None:
    """Record in ``config`` (not written here) whether remote ``name`` was marked when added."""
    found = config.get(MARKED_KEY)
    names = (
        [n for n in found if isinstance(n, str) and n != name] if isinstance(found, list) else []
    )
    if marked:
        names.append(name)
    if names:
        config[MARKED_KEY] = sorted(names)
    else:
        config.pop(MARKED_KEY, None)


def marker_path(folder: Path) -> Path:
    return folder / MARKER


def read_marker(folder: Path) -> str | None:
    """The vault id the folder's marker holds ("" if unreadable); None when it has none."""
    try:
        text = marker_path(folder).read_text("utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return None
    for line in text.splitlines():
        if line.strip().lower().startswith(_ID_LINE):
            return line.strip()[len(_ID_LINE) :].strip()
    return ""


def write_marker(folder: Path, vault_id: str) -> None:
    """Mark ``folder`` (which must exist) as the backup of vault ``vault_id``."""
    text = (
        "This folder is the backup of a centre vault.\n"
        "Keep this file: the vault reads it to know that its backup disk is plugged in.\n"
        f"{_ID_LINE} {vault_id}\n"
    )
    atomic_write(marker_path(folder), text.encode("utf-8"))


def backup_id(folder: Path) -> str | None:
    """The vault id in the ``config.json`` of a backup in ``folder``, if there is one."""
    try:
        found = json.loads((folder / _CONFIG).read_text("utf-8")).get("vault_id")
    except (OSError, ValueError, AttributeError):
        return None
    return found if isinstance(found, str) and found else None


def prepare_new_folder(folder: Path, vault_id: str, *, create: bool) -> None:
    """For ``vault remote add``: refuse a missing folder unless ``create`` (then make
    it, but only inside a folder that exists), refuse another vault's backup,
    and mark the folder as this vault's."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder")
    if not folder.exists():
        if not create:
            raise UsageError(
                f"the folder {folder} does not exist",
                hint="plug the backup disk in first; to make a new folder there, "
                "add '--create' to the same command",
            )
        if not folder.parent.is_dir():
            raise UsageError(
                f"cannot make {folder}: {folder.parent} does not exist",
                hint="is the backup disk plugged in? '--create' makes the last folder only",
            )
        folder.mkdir(mode=DIR_MODE)
    theirs = read_marker(folder) or backup_id(folder)
    if theirs and theirs != vault_id:
        raise UsageError(
            f"{folder} is the backup of another vault ({theirs})",
            hint="give each vault its own backup folder",
        )
    if read_marker(folder) != vault_id:
        write_marker(folder, vault_id)


def check_folder(
    folder: Path, vault_id: str, name: str, *, synced_before: bool, may_mark: bool
) -> bool:
    """Refuse a folder remote that is not this vault's plugged-in backup (see above).

    ``synced_before``: this computer has a record of sending there.
    ``may_mark``: the caller writes to the remote (sync, repair), so a folder
    that is this vault's backup, or was never synced to, gets its marker now.
    Returns True when the marker was written now.
    """
    if not folder.is_dir():
        raise _unplugged(folder, name, "is not there")
    theirs = read_marker(folder)
    if theirs == vault_id:
        return False
    if theirs is None:
        # A whole backup (its head too): not the start of one that rclone put in
        # a folder it made again when the disk was pulled out mid-sync.
        theirs = backup_id(folder) if (folder / "head.json").exists() else None
        if theirs is None and not synced_before:
            theirs = vault_id  # a folder added before markers, and never used
    if theirs is None:
        raise _unplugged(folder, name, "holds no backup of this vault")
    if theirs != vault_id:
        raise RemoteError(
            f"the folder of remote {name!r} ({folder}) is the backup of another vault "
            f"({theirs or 'its marker is unreadable'}), not of this one",
            hint="plug in this vault's backup disk, or check the folder with 'vault remote list'",
        )
    if may_mark:
        write_marker(folder, vault_id)
        return True
    return False


def check_source_folder(folder: Path, vault_id: str | None = None) -> None:
    """For a recovery (``vault_id`` None) or a drill: the folder must be there and
    hold a backup (marked, or made before markers); a drill's must be this vault's."""
    if not folder.is_dir():
        raise RemoteError(
            f"the backup folder {folder} is not there",
            hint="plug the backup disk in (and wait for it to open), then run the command again",
        )
    theirs = read_marker(folder)
    if theirs is None:
        theirs = backup_id(folder)
        if theirs is None and not (folder / "head.json").exists():
            raise RemoteError(
                f"the folder {folder} holds no vault backup",
                hint="is the backup disk plugged in? Give the folder that holds "
                f"{MARKER} or head.json",
            )
    if vault_id is not None and theirs and theirs != vault_id:
        raise RemoteError(
            f"the folder {folder} is the backup of another vault ({theirs}), not of this one",
            hint="plug in this vault's backup disk",
        )


def _unplugged(folder: Path, name: str, why: str) -> RemoteError:
    return RemoteError(
        f"the backup disk of remote {name!r} is not plugged in: the folder {folder} {why}",
        hint="plug the disk in and run the command again; if the backup was moved, "
        f"'vault remote remove {name}' then 'vault remote add {name} NEW-FOLDER'",
    )
