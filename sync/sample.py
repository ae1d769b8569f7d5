"""The read-back at the end of every ``vault sync``: a few files downloaded and re-hashed.

A sync sends what is new and trusts the remote to keep what it already
holds; a disk or a provider can still damage a file in place (same name,
same size). So each sync also downloads a small random sample of the
write-once files the remote holds (objects, manifests, catalog snapshots:
their names are the SHA-256 of their bytes, so no key is needed) and
re-hashes them, within ``SAMPLE_FILES`` files and ``SAMPLE_BYTES`` bytes.
Files sent by this very sync are left out when there are others (they were
just checked on the way). Over many syncs every file gets read back; a
damaged one is reported at once (exit 4) and recorded in the audit log as a
failed check, so status and the committee report say so until a full check
(``vault verify --remote NAME --read-data``) or ``vault repair`` clears it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Collection, Mapping
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
    sizes: Mapping[str, int],
    just_sent: Collection[str] = (),
    *,
    rng: random.Random | None = None,
    files: int = SAMPLE_FILES,
    budget: int = SAMPLE_BYTES,
) -> list[str]:
    """Up to ``files`` write-once paths of ``sizes`` (path -> size, -1 unknown)
    whose sizes add up to at most ``budget``, at random."""
    named = [rel for rel in sizes if expected_digest(rel) and 0 <= sizes[rel] <= budget]
    older = [rel for rel in named if rel not in just_sent]
    pool = sorted(older or named)
    (rng or random.SystemRandom()).shuffle(pool)
    chosen: list[str] = []
    total = 0
    for rel in pool:
        if len(chosen) == files:
            break
        if total + sizes[rel] <= budget:
            chosen.append(rel)
            total += sizes[rel]
    return sorted(chosen)


def read_back(
    remote: Daemon, path: str, chosen: list[str], sizes: Mapping[str, int], work: Path
) -> dict[str, str]:
    """Download ``chosen`` from the remote at ``path`` and re-hash each one:
    the paths that are not what their names say, with "missing" or "corrupt"."""
    if not chosen:
        return {}
    folder = work / "read-back"
    make_private_dir(folder)
    total = sum(max(sizes.get(rel, 0), 0) for rel in chosen)
    remote.copy_files(
        path, str(folder), chosen, work, timeout=rclone.transfer_timeout(total, len(chosen))
    )
    problems: dict[str, str] = {}
    for rel in chosen:
        local = folder.joinpath(*rel.split("/"))
        try:
            digest = _sha256(local)
        except FileNotFoundError:
            problems[rel] = "missing"
            continue
        if digest != expected_digest(rel):
            problems[rel] = "corrupt"
    return problems


def _sha256(path: Path) -> str:
    found = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            found.update(chunk)
    return found.hexdigest()
