"""Copies of the head, so that deleting head.json is never unseen.

The head (``head.py``) carries the vault's state number and the audit log's
tip under a MAC. Were it the only record of them, deleting head.json would
quietly reset both: the next unlocked command would rebuild the catalog from
whatever manifests are left and start again at number 1 with no audit
anchor. So every save of the head also writes the same MAC'd record to two
*anchors*, after the head (a crash between the two leaves an anchor behind
the head, never ahead of it):

- ``<vault>/anchor.json``, beside head.json;
- a per-user file outside the vault folder
  (``~/.local/state/centre-vault/anchors/<id>.json`` on Linux), named by a
  hash of the vault's id and folder, which deleting files in the vault
  folder cannot reach.

A failure to write an anchor never fails the save (the head is already in
place); the next save writes it again. Nothing here decides what to trust
without the key: a copy counts only when its MAC checks (``highest``).

They are used to say, with exit status 4, that the head is missing while
the vault holds manifests or an anchor (``check_present``); that the head is
older than the copy beside it, i.e. put back from an old copy
(``check_not_older``);
to let ``vault rebuild-catalog`` continue from the highest authentic number;
and to give ``vault audit verify`` the audit tip when head.json is gone.

Beside the outside anchor, every unlock notes the vault's public key for its
folder (``record_recipient``), so that storing without the key can refuse a
keys/data.pub swapped together with config.json's vault id
(``check_recipient``).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from vault.errors import IntegrityError
from vault.fsutil import TEMP_PREFIX, atomic_write, make_private_dir
from vault.head import Head, head_record, is_authentic, parse_head
from vault.keys import DataKey
from vault.paths import default_state_dir

ANCHOR_NAME = "anchor.json"
_STALE_SECONDS = 3600


@dataclass(frozen=True)
class Copy:
    """One readable head record: head.json or an anchor."""

    head: Head
    mac: str
    where: Path


def anchor_paths(root: Path, vault_id: str) -> list[Path]:
    """Where the anchors of the vault at ``root`` are kept."""
    try:
        folder = root.resolve()
    except OSError:
        folder = root.absolute()
    name = hashlib.sha256(f"{vault_id}\0{folder}".encode()).hexdigest()[:32]
    return [root / ANCHOR_NAME, default_state_dir() / "anchors" / f"{name}.json"]


def recipient_path(root: Path) -> Path:
    """Where the public key of the vault in folder ``root`` is noted, outside
    it: named by the folder alone, as config.json's vault id (from which the
    anchor's name comes) can be changed along with keys/data.pub."""
    try:
        folder = root.resolve()
    except OSError:
        folder = root.absolute()
    name = hashlib.sha256(f"public key\0{folder}".encode()).hexdigest()[:32]
    return default_state_dir() / "anchors" / f"{name}.pub"


def record_recipient(root: Path, recipient: str) -> None:
    """Note the public key of the unlocked vault at ``root``, best effort."""
    path = recipient_path(root)
    with contextlib.suppress(OSError):
        if path.read_text("ascii").strip() == recipient:
            return
    with contextlib.suppress(OSError):
        make_private_dir(default_state_dir())
        make_private_dir(path.parent)
        atomic_write(path, (recipient + "\n").encode("ascii"))


def check_recipient(root: Path, recipient: str) -> None:
    """Refuse a keys/data.pub other than the public key last noted for this
    folder (swapped, with config.json's vault id changed to match it)."""
    try:
        noted = recipient_path(root).read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return  # none noted: a vault copied here, or made before this was kept
    if noted != recipient:
        raise IntegrityError(
            "keys/data.pub is not the public key this vault had in this folder; nothing was stored",
            hint="restore keys/data.pub and config.json from a backup; if another vault "
            "was put in this folder on purpose, run a command that unlocks it "
            "(say 'vault list') first",
        )


def level_path(root: Path, level: str) -> Path:
    """Where the public key of access level ``level`` (``vault.levels``) of
    the vault in folder ``root`` is noted, outside it."""
    return recipient_path(root).with_suffix(f".level-{level}.pub")


def record_levels(root: Path, listed: dict[str, str]) -> None:
    """Note each access level's public key as the checked register lists it
    (a full key unlocked), best effort."""
    for level, recipient in listed.items():
        path = level_path(root, level)
        with contextlib.suppress(OSError):
            if path.read_text("ascii").strip() == recipient:
                continue
        with contextlib.suppress(OSError):
            make_private_dir(default_state_dir())
            make_private_dir(path.parent)
            atomic_write(path, (recipient + "\n").encode("ascii"))


def check_level(root: Path, level: str, recipient: str) -> None:
    """Refuse a keys/levels/LEVEL.pub other than the one last noted for this
    folder: storing without a key would encrypt to a key put there by someone else."""
    try:
        noted = level_path(root, level).read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return  # none noted: a vault copied here, or no full unlock since the level was made
    if noted != recipient:
        raise IntegrityError(
            f"keys/levels/{level}.pub is not the public key the access level '{level}' had "
            "in this folder; nothing was stored",
            hint="restore the keys folder from a backup; if the level's key was changed "
            "on purpose, unlock once with a full key (say 'vault list') first",
        )


def pending_path(root: Path) -> Path:
    """Where the new public key of a key rotation begun in folder ``root`` is
    noted, outside it (``vault.rotation``), until its switch."""
    return recipient_path(root).with_suffix(".next")


def record_pending(root: Path, recipient: str) -> None:
    """Note the new public key of the key rotation beginning at ``root``
    (the vault unlocked); an error is raised, not passed over."""
    make_private_dir(default_state_dir())
    make_private_dir(pending_path(root).parent)
    atomic_write(pending_path(root), (recipient + "\n").encode("ascii"))


def check_switch(root: Path, recipient: str) -> None:
    """Refuse a key rotation's record (``rotation/``) whose new key is neither
    the public key noted for this folder nor the one a rotation begun here
    noted: planted by someone without the key, its switch would put their
    key in place and remove the vault's key files."""
    try:
        noted = recipient_path(root).read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return  # none noted: a vault copied here, or made before this was kept
    if noted == recipient:
        return
    try:
        pending = pending_path(root).read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        pending = None
    if pending != recipient:
        raise IntegrityError(
            "the key rotation in rotation/ is not one begun in this folder: its new key is "
            "not the vault's; nothing was changed",
            hint="if nobody ran 'vault rotate' here, move the folder rotation/ out of the "
            "vault and run 'vault verify'",
        )


def record(root: Path, vault_id: str, head: Head, key: DataKey) -> None:
    """Write ``head`` (just saved as head.json) to both anchors, best effort."""
    data = head_record(head, key)
    for path in anchor_paths(root, vault_id):
        with contextlib.suppress(OSError):
            if path.parent != root:  # (the vault's own temp files go when it is locked)
                make_private_dir(default_state_dir())
                make_private_dir(path.parent)
                _remove_old_temps(path.parent)
            atomic_write(path, data)


def _remove_old_temps(folder: Path) -> None:
    """Temp files of anchor writes killed long ago (other vaults may be writing now)."""
    stale = time.time() - _STALE_SECONDS
    for temp in folder.glob(f"{TEMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            if temp.stat().st_mtime < stale:
                temp.unlink()


def copies(root: Path, vault_id: str, head_path: Path) -> list[Copy]:
    """Every readable head record, head.json first; damaged ones are left out."""
    return _read([head_path, *anchor_paths(root, vault_id)])


def _read(paths: list[Path]) -> list[Copy]:
    found = []
    for path in paths:
        try:
            head, mac = parse_head(path.read_bytes())
        except (OSError, IntegrityError):
            continue
        found.append(Copy(head, mac, path))
    return found


def highest(found: list[Copy], key: DataKey | None) -> Copy | None:
    """The copy with the highest state number: among the authentic ones when
    the key is at hand, else among all (what a keyless command can know).
    On a tie head.json wins (it comes first)."""
    best = None
    for copy in found:
        if key is not None and not is_authentic(copy.head, copy.mac, key):
            continue
        if best is None or copy.head.seq > best.head.seq:
            best = copy
    return best


def head_missing(head_path: Path) -> bool:
    return not head_path.exists() and not head_path.is_symlink()


def check_present(root: Path, vault_id: str, head_path: Path, has_manifests: bool) -> None:
    """Refuse a vault with no head.json that holds manifests or an anchor.

    (A rebuild from the manifests would silently drop any document whose
    manifest went with the head, and start the state number afresh.)
    """
    if not head_missing(head_path):
        return
    anchored = any(path.exists() for path in anchor_paths(root, vault_id))
    if has_manifests or anchored:
        raise IntegrityError(
            "the vault head (head.json) is missing",
            hint="it was deleted or lost; 'vault rebuild-catalog' rebuilds it from the "
            "manifests and reports what the last saved state had that is gone",
        )


def check_not_older(root: Path, vault_id: str, head: Head, key: DataKey) -> None:
    """Refuse an authentic head older than the authentic anchor beside it:
    head.json put back from an older copy. (The anchor outside the vault is
    not asked while anchor.json is there: a whole vault folder restored from
    the user's own backup brings its anchor.json with it and is as consistent
    as it was. With anchor.json gone, it is: else removing anchor.json would
    let an old head back in unseen.)"""
    beside, outside = anchor_paths(root, vault_id)
    asked = [beside] if beside.exists() or beside.is_symlink() else [beside, outside]
    newest = highest(_read(asked), key)
    if newest is not None and newest.head.seq > head.seq:
        raise IntegrityError(
            f"the vault head is older than the last one saved here "
            f"(state number {head.seq}, last saved {newest.head.seq})",
            hint="head.json was replaced by an older copy; 'vault rebuild-catalog' "
            "rebuilds the catalog from the manifests and keeps the higher number",
        )
