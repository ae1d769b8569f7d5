"""Storing documents in groups that are made durable together (group commit).

Each document stored in a group writes its objects and manifest to temp
names and renames them into place without an fsync of its own
(``PendingFiles``). ``StoreGroup.commit`` then, in this order:

1. makes every file renamed in the group durable, and the folders holding
   them: on Linux 5.8 and later one ``syncfs`` per filesystem (which
   reports write errors there), elsewhere an fsync of each file and then of
   each folder once;
2. appends the journal lines of the whole group with one fsync: a line only
   after the files it names are durable, so a recorded document is whole;
3. appends the group's audit entries, chained, with one fsync.

Only then is a document *recorded*, and only then may its source leave the
inbox. A crash before step 2 leaves objects no journal line names: the
source is still in the inbox, the next run stores it again (under new
object ids: age encryption is randomised), and ``vault prune`` removes the
leftovers. A failure at any step raises, and no document of the group counts
as stored.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vault import journal as journals
from vault.audit import AuditLog
from vault.fsutil import fsync_dir, fsync_file

_SYNCFS: list[Callable[[int], int] | None] = []  # empty: not looked up yet


def _kernel_reports_syncfs_errors() -> bool:
    """Linux 5.8 and later: ``syncfs`` returns the filesystem's write errors."""
    try:
        major, minor = (int(n) for n in os.uname().release.split(".")[:2])
    except (AttributeError, ValueError):
        return False
    return (major, minor) >= (5, 8)


def _syncfs() -> Callable[[int], int] | None:
    """The C library's ``syncfs``, where it is usable (Linux 5.8+), else None."""
    if not _SYNCFS:
        found = None
        if sys.platform.startswith("linux") and _kernel_reports_syncfs_errors():
            import ctypes

            with contextlib.suppress(OSError, AttributeError):
                function = ctypes.CDLL(None, use_errno=True).syncfs
                function.argtypes = [ctypes.c_int]
                function.restype = ctypes.c_int
                found = function
        _SYNCFS.append(found)
    return _SYNCFS[0]


def _call_syncfs(syncfs: Callable[[int], int], folder: Path) -> None:
    import ctypes

    fd = os.open(folder, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            number = ctypes.get_errno()
            raise OSError(number, os.strerror(number), str(folder))
    finally:
        os.close(fd)


@dataclass
class PendingFiles:
    """Files renamed into place but not yet durable, and the folders holding them."""

    files: list[Path] = field(default_factory=list)
    folders: set[Path] = field(default_factory=set)

    def renamed(self, path: Path) -> None:
        """``path`` was renamed into place (or found there) without an fsync."""
        self.files.append(path)
        self.folders.add(path.parent)

    def made_folder(self, folder: Path) -> None:
        """``folder`` was created: its name in its parent must be durable too."""
        self.folders.add(folder.parent)

    def make_durable(self) -> None:
        """Make every file and folder noted durable (see the module's docstring)."""
        if not self.files and not self.folders:
            return
        syncfs = _syncfs()
        if syncfs is not None:
            devices: dict[int, Path] = {}
            for folder in sorted(self.folders):
                devices.setdefault(os.stat(folder).st_dev, folder)
            for folder in devices.values():
                _call_syncfs(syncfs, folder)
        else:
            for path in self.files:
                fsync_file(path)
            for folder in sorted(self.folders, key=lambda p: len(p.parts), reverse=True):
                fsync_dir(folder)
        self.files.clear()
        self.folders.clear()


@dataclass
class StoreGroup:
    """Documents stored but not yet recorded: their files, journal entries and audit events."""

    journal: Path
    audit: AuditLog
    files: PendingFiles = field(default_factory=PendingFiles)
    entries: list[dict[str, Any]] = field(default_factory=list)
    events: list[list[str]] = field(default_factory=list)  # ids of each "ingest" event
    doc_ids: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)  # what the group's stores share

    def __len__(self) -> int:
        return len(self.doc_ids)

    def add(self, doc_id: str, entry: dict[str, Any], audit_ids: list[str]) -> None:
        """A document whose files are written: recorded at the next ``commit``."""
        self.doc_ids.append(doc_id)
        self.entries.append(entry)
        self.events.append(audit_ids)

    def commit(self) -> list[str]:
        """Make the group durable and record it; return the ids of the documents
        recorded. On an error nothing of the group is kept pending (its files
        are unreferenced leftovers) and the error is raised."""
        try:
            self.files.make_durable()
            if self.entries:
                journals.append_all(self.journal, self.entries)
                self.audit.append_all([("ingest", ids) for ids in self.events])
            return list(self.doc_ids)
        finally:
            self.files = PendingFiles()
            self.entries.clear()
            self.events.clear()
            self.doc_ids.clear()
