"""The read-back at the end of every ``vault sync``: a few files downloaded and re-hashed.

A sync sends what is new and trusts the remote to keep what it already
holds; a disk or a provider can still damage a file in place (same name,
same size). So each sync also downloads a small random sample of the
write-once files the remote holds (objects, manifests, catalog snapshots,
segments of the audit log and journal: their names are the SHA-256 of their
bytes, so no key is needed) and
re-hashes them, within ``SAMPLE_FILES`` files and ``SAMPLE_BYTES`` bytes.
Files sent by this very sync are left out when there are others (they were
just checked on the way). Over many syncs every file gets read back; a
damaged one is reported at once (exit 4) and recorded in the audit log as a
failed check, so status and the committee report say so until a full check
(``vault verify --remote NAME --read-data``) or ``vault repair`` clears it.
"""

from __future__ import annotations

import hashlib
import os
import random
import stat
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sync import rclone
from sync.snapshot import expected_digest
from vault.fsutil import make_private_dir

if TYPE_CHECKING:
    from sync.rcd import Daemon

SAMPLE_FILES = 4
SAMPLE_BYTES = 8 * 1024 * 1024


def choose(
    paths: Collection[str],
    size_of: Callable[[str], int | None],
    just_sent: Collection[str] = (),
    *,
    rng: random.Random | None = None,
    files: int = SAMPLE_FILES,
    budget: int = SAMPLE_BYTES,
) -> dict[str, int]:
    """Up to ``files`` write-once paths of ``paths``, at random, whose sizes
    (``size_of``: None if unknown) add up to at most ``budget``: path -> size.
    Only the paths tried are measured (a vault may hold a great many)."""
    picker = rng or random.SystemRandom()
    everything = list(paths)  # only the paths drawn are looked at: the cost stays flat
    drawn = picker.sample(everything, min(len(everything), files * 16))
    named = [rel for rel in drawn if expected_digest(rel)]
    older = [rel for rel in named if rel not in just_sent]
    pool = older or named
    chosen: dict[str, int] = {}
    total = 0
    for rel in pool[: files * 8]:
        if len(chosen) == files:
            break
        size = size_of(rel)
        if size is not None and total + size <= budget:
            chosen[rel] = size
            total += size
    return dict(sorted(chosen.items()))


def read_back(remote: Daemon, path: str, chosen: Mapping[str, int], work: Path) -> dict[str, str]:
    """Read ``chosen`` back from the remote at ``path`` and re-hash each one:
    the paths that are not what their names say, with "missing" or "corrupt".
    A remote that is a local folder (a USB disk) is read where it is, as
    rclone's local backend would read it (a symbolic link is not a file
    there); any other is downloaded into ``work`` first."""
    if not chosen:
        return {}
    folder = remote.local_folder(path)
    if folder is None:
        folder = work / "read-back"
        make_private_dir(folder)
        total = sum(chosen.values())
        remote.copy_files(
            path,
            str(folder),
            list(chosen),
            work,
            timeout=rclone.transfer_timeout(total, len(chosen)),
        )
    problems: dict[str, str] = {}
    for rel in chosen:
        local = folder.joinpath(*rel.split("/"))
        try:
            digest = _sha256(local)
        except OSError:  # not there, a symbolic link (not a file of the backup), unreadable
            problems[rel] = "missing"
            continue
        if digest != expected_digest(rel):
            problems[rel] = "corrupt"
    return problems


def _sha256(path: Path) -> str:
    """The SHA-256 of the regular file ``path``; ``OSError`` for anything else
    (a link, or a named pipe or device: opened without waiting, never read)."""
    found = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path.name} is not a file")
    with open(fd, "rb") as f:
        while chunk := f.read(1 << 20):
            found.update(chunk)
    return found.hexdigest()
