"""Watching a scanner's output folder (the inbox) by polling.

Polling is portable (no inotify or FSEvents). Every ``interval`` seconds the
inbox is listed (subfolders too). A file is taken once its size and
modification time have stayed the same for ``settle`` seconds, so a file still
being written is left alone; hidden files and partial downloads (``*.part``,
``*.tmp``, ``~$*``, ``*.crdownload``) are never taken. A symbolic link is not
followed: it is quarantined as "symbolic link". A named pipe, device or socket
is never opened (reading one could wait forever): it is reported once, with
what it is, and left alone. With ``once``, the files that settle within one
``settle`` period of the start are taken and the watch stops: a file still
being written is left for the next run.

Settled files are ingested in batches under the vault lock, taken and
released per batch (at most 32 documents stored, or a second of work) so
other vault commands can run in between. Only once the batch is committed
(each document's original, searchable PDF and manifest written, then made
durable together, then the journal lines appended and fsynced:
``vault.group_commit``; for a batch scan split into documents,
``ingest.batch``, every part) is a stored file's source deleted (the default: no
readable copy is left behind) or, when a processed folder is given, moved
there (keeping its subfolder, never overwriting). A crash at any instant
therefore leaves the source in the inbox, or the document in the vault, or
both; a file ingested twice is dropped as a duplicate when the journal is
folded.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.pipeline import (
    SECONDS,
    SIZE,
    Failed,
    Ingested,
    Ingester,
    IngestReport,
    Outcome,
    PageCallback,
    Skipped,
    Split,
    not_a_file,
    store_batches,
)
from ingest.quarantine import ensure_outside_vault
from ingest.relocate import move_aside
from ingest.settings import IngestSettings
from vault.errors import LockedError, UsageError, VaultError
from vault.fsutil import fsync_dir, make_private_dir
from vault.repository import Vault

IGNORED = (".*", "*.part", "*.tmp", "~$*", "*.crdownload")
SYMLINK = "symbolic link"

# size, modification time (ns), and the file's device and inode where known: another
# file renamed over one being stored (with the same size and time) is not it
Signature = tuple[int, ...]


def ignored(name: str) -> bool:
    """Hidden files and names of files still being written or downloaded."""
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in IGNORED)


@dataclass
class InboxScan:
    files: dict[Path, Signature] = field(default_factory=dict)
    links: list[Path] = field(default_factory=list)
    others: dict[Path, str] = field(default_factory=dict)  # pipes, devices…: what they are


def scan_inbox(inbox: Path, *, skip: Iterable[Path] = ()) -> InboxScan:
    """Regular files and symbolic links in ``inbox`` and its subfolders
    (hidden and partial ones left out, folders in ``skip`` not entered)."""
    skipped = {p.resolve() for p in skip}
    found = InboxScan()
    folders = [inbox]
    while folders:
        folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            path = Path(entry.path)
            if ignored(entry.name):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(info.st_mode):
                found.links.append(path)
            elif stat.S_ISDIR(info.st_mode):
                if path.resolve() not in skipped:
                    folders.append(path)
            elif stat.S_ISREG(info.st_mode):
                if not info.st_ino:  # Windows: a folder listing gives no inode
                    with contextlib.suppress(OSError):
                        info = os.lstat(path)
                found.files[path] = _signature_of(info)
            else:
                found.others[path] = not_a_file(info.st_mode) or "not a regular file"
    found.links.sort()
    return found


def signature(path: Path) -> Signature | None:
    try:
        info = path.stat(follow_symlinks=False)
    except FileNotFoundError:
        return None
    return _signature_of(info)


def _signature_of(info: os.stat_result) -> Signature:
    return (info.st_size, info.st_mtime_ns, info.st_dev, info.st_ino)


class SettleTracker:
    """Which files have kept the same size and mtime for ``settle`` seconds."""

    def __init__(self, settle: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.settle = settle
        self.clock = clock
        self._since: dict[Path, tuple[Signature, float]] = {}

    def update(self, files: dict[Path, Signature]) -> tuple[list[Path], float | None]:
        """The files now settled (sorted), and how soon the next one may be (or None)."""
        now = self.clock()
        ready: list[Path] = []
        soonest: float | None = None
        for path, sig in files.items():
            seen = self._since.get(path)
            if seen is None or seen[0] != sig:
                seen = self._since[path] = (sig, now)
            remaining = self.settle - (now - seen[1])
            if remaining <= 0:
                ready.append(path)
            else:
                soonest = remaining if soonest is None else min(soonest, remaining)
        for gone in set(self._since) - set(files):
            del self._since[gone]
        return sorted(ready), soonest

    def pending(self) -> list[Path]:
        """The files seen that have not yet settled (sorted)."""
        now = self.clock()
        return sorted(p for p, (_, since) in self._since.items() if now - since < self.settle)

    def settled_signature(self, path: Path) -> Signature | None:
        seen = self._since.get(path)
        return seen[0] if seen else None

    def forget(self, path: Path) -> None:
        self._since.pop(path, None)


@dataclass(frozen=True)
class WatchOptions:
    inbox: Path
    processed: Path | None  # None: delete sources once stored
    interval: float = 2.0
    settle: float = 3.0
    once: bool = False


def processed_folder(inbox: Path, option: Path, vault_root: Path) -> Path:
    """Where stored sources go, when they are kept (``--processed``)."""
    folder = option.expanduser().resolve()
    if folder == inbox.resolve():
        raise UsageError("the processed folder cannot be the inbox itself")
    ensure_outside_vault(folder, vault_root, "processed folder")
    return folder


def check_inbox(inbox: Path, vault_root: Path) -> Path:
    if not inbox.exists() and not inbox.is_symlink():
        raise UsageError(
            f"there is no folder called {inbox}",
            hint="check the spelling, or make the scanner's folder first (e.g. mkdir -p "
            "~/Scans/inbox) and set the scanner to save there",
        )
    if inbox.is_symlink() or not inbox.is_dir():
        raise UsageError(f"the inbox {inbox} is not a folder")
    resolved = inbox.resolve()
    ensure_outside_vault(resolved, vault_root, "inbox")
    root = vault_root.expanduser().resolve()
    if resolved in root.parents:
        raise UsageError(
            f"the inbox {inbox} contains the vault folder",
            hint="give the scanner a folder of its own",
        )
    return resolved


class InboxWatcher:
    """Polls the inbox and ingests settled files, one per vault lock."""

    def __init__(
        self,
        open_vault: Callable[[], Vault],
        settings: IngestSettings,
        options: WatchOptions,
        *,
        on_outcome: Callable[[Outcome], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
        on_start: Callable[[Path], None] | None = None,
        on_page: PageCallback | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.open_vault = open_vault
        self.settings = settings
        self.options = options
        self.on_outcome = on_outcome
        self.on_notice = on_notice
        self.on_start = on_start  # a file is taken (for a progress display)
        self.on_page = on_page
        self.sleep = sleep
        self.tracker = SettleTracker(options.settle, clock)
        self.ingester = Ingester(settings, quarantine_refused=True)
        self.report = IngestReport()
        self._left: dict[Path, Signature] = {}  # skipped files, until they change
        self._stuck_links: set[Path] = set()  # links that could not be moved
        self._reported: set[Path] = set()  # pipes, devices… already reported

    def run(self) -> IngestReport:
        """Watch until interrupted; with ``once``, until the inbox has nothing left."""
        options = self.options
        if options.processed is not None:
            make_private_dir(options.processed)
        stop_at = self.tracker.clock() + options.settle
        while True:
            busy = False
            ready, soonest = self.poll()
            waiting = list(ready)
            while waiting:
                try:
                    taken, _ = self.take_batch(waiting)
                except LockedError:
                    if options.once:
                        raise
                    self._notice("the vault is busy; trying again shortly")
                    busy = True
                    break
                waiting = waiting[taken:]
            if options.once and not ready and soonest is None:
                return self.report
            if options.once and not ready and self.tracker.clock() >= stop_at:
                self._leave_unsettled()
                return self.report
            if ready and not busy:
                continue  # look again straight away: more may have arrived
            self.sleep(options.interval if soonest is None else min(options.interval, soonest))

    def poll(self) -> tuple[list[Path], float | None]:
        """Quarantine links; return the settled files and when the next may settle."""
        skip = [self.settings.quarantine.folder]
        if self.options.processed is not None:
            skip.append(self.options.processed)
        scan = scan_inbox(self.options.inbox, skip=skip)
        for link in scan.links:
            if link not in self._stuck_links:
                outcome = self.ingester.quarantine(link, SYMLINK)
                if isinstance(outcome, Skipped):
                    self._stuck_links.add(link)
                self._record(outcome)
        for path, reason in sorted(scan.others.items()):
            if path not in self._reported:
                self._reported.add(path)
                self._record(Skipped(path, reason))
        self._reported &= set(scan.others)  # one taken away and put back is new
        files = {p: sig for p, sig in scan.files.items() if self._left.get(p) != sig}
        return self.tracker.update(files)

    def take(self, path: Path) -> Outcome | None:
        """Ingest one settled file under the vault lock, then move or delete it."""
        return self.take_batch([path])[1][0]

    def take_batch(self, paths: list[Path]) -> tuple[int, list[Outcome | None]]:
        """Ingest settled files under one vault lock as one batch (at most
        ``SIZE`` stored, or ``SECONDS`` of work): made durable and journaled
        together, then each stored file is moved or deleted. Returns how many
        of ``paths`` were taken, and the outcome of each (None: it changed or
        went since it settled, and is looked at again later)."""
        vault = self.open_vault()
        taken: list[tuple[Path, Signature | None]] = []
        outcomes: dict[Path, Outcome] = {}
        with vault.lock:
            if vault.key is not None:
                vault.catalog  # noqa: B018 - fold others' work before checking duplicates

            def deliver(outcome: Outcome) -> None:
                outcomes[outcome.path] = outcome

            with store_batches(
                vault, self.ingester, deliver, size=SIZE, seconds=SECONDS
            ) as batches:
                started = time.monotonic()
                for path in paths:
                    if len(batches.group) >= SIZE or time.monotonic() - started >= SECONDS:
                        break  # the rest after this batch, the lock released in between
                    settled = self.tracker.settled_signature(path)
                    taken.append((path, settled))
                    if signature(path) != settled:
                        continue  # changed or gone since it settled: look again later
                    if self.on_start:
                        self.on_start(path)
                    batches.add(self.ingester.ingest_file(vault, path, on_page=self.on_page))
            # the batch is committed: what it stored is durable and recorded
            self.report.checked_duplicates = vault.key is not None
            stored_new = False
            for path, settled in taken:
                outcome = outcomes.get(path)
                if outcome is None:
                    continue
                self.tracker.forget(path)
                if isinstance(outcome, Ingested | Split):  # a batch scan: every part
                    if signature(path) == settled:
                        self._dispose(path)
                    else:
                        self._notice(
                            f"{self._named(path)} changed while it was being stored; "
                            "it will be stored again once it settles"
                        )
                    stored_new = stored_new or not outcome.duplicate
                elif isinstance(outcome, Skipped) and settled is not None:
                    self._left[path] = settled
                elif isinstance(outcome, Failed) and self.options.once and settled is not None:
                    self._left[path] = settled  # reported once; not taken for one still changing
            if vault.key is not None and stored_new:
                vault.fold_journal()
            for doc_id, copy_of in vault.dropped_duplicates:
                self._notice(
                    f"{doc_id} was a duplicate of {copy_of} (the same file stored twice); "
                    f"it is kept once, as {copy_of}"
                )
            for found in vault.matched_expectations:  # expected post (``vault.expected``)
                self._notice(found.message())
            self.report.expected.extend(vault.matched_expectations)
            vault.matched_expectations.clear()
        for path, _ in taken:
            if path in outcomes:
                self._record(outcomes[path])
        return len(taken), [outcomes.get(path) for path, _ in taken]

    def _dispose(self, path: Path) -> None:
        processed = self.options.processed
        try:
            if processed is None:
                path.unlink()
                fsync_dir(path.parent)
                return
        except OSError as exc:
            raise VaultError(
                f"{self._named(path)} is stored but cannot be deleted: {exc.strerror}"
            ) from exc
        folder = processed
        for part in path.parent.relative_to(self.options.inbox).parts:
            folder = folder / part
            make_private_dir(folder)
        move_aside(path, folder)

    def _leave_unsettled(self) -> None:
        """With ``once``: say which files are left because they are still changing."""
        for path in self.tracker.pending():
            self._notice(f"{self._named(path)} is still being written; left for the next run")

    def _named(self, path: Path) -> str:
        return str(path) if self.settings.verbose else path.name

    def _record(self, outcome: Outcome) -> None:
        self.report.outcomes.append(outcome)
        if self.on_outcome:
            self.on_outcome(outcome)

    def _notice(self, message: str) -> None:
        if self.on_notice:
            self.on_notice(message)
