"""Deleting the source files of documents once they are durably in the vault.

A scanner's file left behind after ingest is a readable copy of the
document outside the vault. ``StoredSources`` follows a batch: it notes each
file's size and modification time as it is taken (``taken``) and, when its
outcome is ``Ingested`` (``store_file`` returned: the encrypted original,
the manifest and the journal line are written and fsynced), keeps it as
deletable if it has not changed meanwhile. A file already in the vault (a
duplicate) is deletable too: its content is in the vault under the earlier
document. A file that was quarantined, skipped or refused is never deleted.
``delete`` removes the deletable files that are still exactly as stored,
and fsyncs their folders.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from ingest.pipeline import Ingested, Outcome, Split
from vault.fsutil import fsync_dir

Signature = tuple[int, int, int, int]  # size, modification time (ns), file (device, inode)


def signature(path: Path) -> Signature | None:
    try:
        info = path.stat(follow_symlinks=False)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_dev, info.st_ino)


@dataclass
class StoredSources:
    _before: dict[Path, Signature | None] = field(default_factory=dict)
    deletable: dict[Path, Signature] = field(default_factory=dict)
    duplicates: int = 0

    def taken(self, path: Path) -> None:
        """Note ``path`` as it is before being ingested."""
        self._before[path] = signature(path)

    def outcome(self, outcome: Outcome) -> None:
        if not isinstance(outcome, Ingested | Split):  # a batch: once every part is stored
            return
        before = self._before.pop(outcome.path, None)
        if before is not None and signature(outcome.path) == before:
            self.deletable[outcome.path] = before
            self.duplicates += outcome.duplicate

    def delete(self) -> tuple[int, list[tuple[Path, str]]]:
        """Delete the deletable files; (how many, [(file, why not)] for the rest)."""
        deleted = 0
        kept: list[tuple[Path, str]] = []
        folders: set[Path] = set()
        for path, sig in self.deletable.items():
            if signature(path) != sig:
                kept.append((path, "it changed after it was stored"))
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                kept.append((path, exc.strerror or "cannot delete it"))
                continue
            deleted += 1
            folders.add(path.parent)
        for folder in folders:
            with contextlib.suppress(OSError):
                fsync_dir(folder)
        self.deletable.clear()
        return deleted, kept
