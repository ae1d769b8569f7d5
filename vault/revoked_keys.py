"""Key files taken back, noted outside the vault folder.

``vault key remove`` deletes a key's file and its line in the key register
(``key_register``), and ``vault passwd`` replaces a key's file. Whoever can
write to the vault folder could put back an older copy of the register with
the old file, and the MAC would pass: the register is not tied to a version.
So the SHA-256 of every key file removed or replaced is noted here, in a
per-user file outside the vault folder (named by the folder, as the public
key is noted: ``anchor.recipient_path``); a key file whose digest is noted
never opens the vault again on this computer, whatever the register says.

Best effort, as the anchors are: a file that cannot be written costs this
protection only. It does not reach a recovery on another computer (which has
no such note): there the backup's register is believed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from vault.fsutil import atomic_write, make_private_dir
from vault.paths import default_state_dir

_MAX = 10_000  # digests kept (the oldest dropped first)


def notes_path(root: Path) -> Path:
    """Where the digests of the taken-back key files of the vault at ``root`` are."""
    try:
        folder = root.resolve()
    except OSError:
        folder = root.absolute()
    name = hashlib.sha256(f"revoked keys\0{folder}".encode()).hexdigest()[:32]
    return default_state_dir() / "anchors" / f"{name}.revoked.json"


def _read(root: Path) -> list[str]:
    try:
        found = json.loads(notes_path(root).read_bytes())
    except (OSError, ValueError):
        return []
    if not isinstance(found, list):
        return []
    return [d for d in found if isinstance(d, str)]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def revoke(root: Path, data: bytes) -> None:
    """Note the key file ``data`` of the vault at ``root`` as taken back."""
    known = _read(root)
    wanted = digest(data)
    if wanted in known:
        return
    path = notes_path(root)
    with contextlib.suppress(OSError):
        make_private_dir(default_state_dir())
        make_private_dir(path.parent)
        atomic_write(path, json.dumps([*known, wanted][-_MAX:]).encode())


def is_revoked(root: Path, data: bytes) -> bool:
    """Whether the key file ``data`` was removed or replaced in the vault at ``root``."""
    return digest(data) in _read(root)
