"""What each remote holds, as far as this vault knows: ``<vault>/remotes/<name>.*``.

So that a sync uploads only what is new without listing the whole remote,
each remote has two small local files (mode 0600):

- ``<name>.stored``: the relative paths of the write-once files the remote
  holds (``objects/ab/<id>``, ``manifests/ab/<id>``, ``catalog/<sha>.age|.idx``),
  one a line after a header line that names the rclone path: ids only, never
  names. A sync appends what it sent (and fsyncs), so saving costs what is
  new, not what the remote holds; the file is rewritten atomically when
  paths are removed or the remote's path changed. A last line cut short by a
  crash is ignored (it was never complete, so never relied on).
- ``<name>.json`` (a temp file, fsynced, renamed over it): ``path``, the
  rclone path the state is about (a changed path starts afresh); ``files``,
  the replaceable files (head, journal, logs, keys, settings) as
  ``{path: {"sha256", "size"}}`` of the copy last uploaded (with ``"md5"``
  too for a remote that keeps only MD5s), against which each sync and
  ``verify --remote`` judge the remote's copies (``replaceable.py``): the
  segments of the audit log and journal (``audit/<sha>``, ``journal/<sha>``)
  and their list ``segments.json`` are recorded here too, so that a segment
  removed or changed on the remote is noticed as a changed head is; ``logs``,
  what that list names (``segments.py``: the next sync sends what follows); ``last_sync``,
  time, files and bytes uploaded,
  files removed, the head's short hash and the document count of the last
  successful sync; ``daily``, per local day (UTC before), successful syncs and the document
  count, for the committee report's chart (the last 400 days are kept);
  ``complete``, only when the last save was a sync that finished in full:
  then the paths are exactly what the head and journal in ``files`` name,
  and ``{"journaled": N}`` is the documents that journal records (the next
  sync reads only what changed since, see ``snapshot.py``). Any other save
  (a failed sync, a repair) leaves it out.

The paths are appended before ``<name>.json`` is replaced, and only once the
files arrived, so a crash between the two loses nothing the remote holds. A
sync writes its new state while rclone sends the last file (``prepare_state``)
and only renames it into place once that file arrived (``PendingState``).
Format 1 kept the paths inside ``<name>.json``; it is still read, and the
next save writes format 2. ``vault sync --full`` rebuilds the paths from a
real listing of the remote.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync import segments
from sync.snapshot import HEAD, JOURNAL, Sent, sha256_hex
from vault import clock
from vault.fsutil import (
    append_line,
    atomic_write,
    make_private_dir,
    private_temp_path,
    remove_quietly,
)

STATE_DIR = "remotes"
KEEP_DAYS = 400
FORMAT = 2


def state_dir(vault_root: Path) -> Path:
    return vault_root / STATE_DIR


def state_path(vault_root: Path, name: str) -> Path:
    return state_dir(vault_root) / f"{name}.json"


def stored_path(vault_root: Path, name: str) -> Path:
    return state_dir(vault_root) / f"{name}.stored"


@dataclass
class RemoteState:
    path: str
    stored: set[str] = field(default_factory=set)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_sync: dict[str, Any] | None = None
    daily: dict[str, dict[str, int]] = field(default_factory=dict)
    fresh: bool = True  # no state file was found (or it was for another path)
    complete: int | None = None  # see ``complete`` above: the documents journaled
    # The audit log and journal the remote's segment list names (``segments.py``):
    # what the list last sent holds; a log missing here is a whole legacy file or none.
    logs: dict[str, segments.Log] = field(default_factory=dict)
    # The paths as in <name>.stored now (None: that file must be rewritten).
    saved: set[str] | None = field(default=None, repr=False, compare=False)

    def since(self) -> Sent | None:
        """What the last sync left on the remote, if it finished in full and
        nothing else changed this state since; else None."""
        if self.complete is None:
            return None
        head = self.files.get(HEAD)
        listed = self.logs.get(segments.JOURNAL)
        journal: dict[str, Any] | None = self.files.get(JOURNAL)
        if listed is not None:
            journal = {"sha256": listed.sha256, "size": listed.size}
        try:
            return Sent(
                head=str(head["sha256"]) if head is not None else None,
                journal=str(journal["sha256"]) if journal is not None else sha256_hex(b""),
                journal_size=int(journal["size"]) if journal is not None else 0,
                journaled=int(self.complete),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def record_sync(self, summary: dict[str, Any]) -> None:
        self.last_sync = summary
        self.daily = _count_sync(self.daily, summary)


def _count_sync(
    daily: dict[str, dict[str, int]], summary: dict[str, Any]
) -> dict[str, dict[str, int]]:
    """``daily`` with the sync of ``summary`` counted (a new dict)."""
    counted = {day: dict(entry) for day, entry in daily.items()}
    when = clock.parse(str(summary["time"]))
    day = clock.local_date(when).isoformat() if when else str(summary["time"])[:10]
    entry = counted.setdefault(day, {"syncs": 0, "documents": 0})
    entry["syncs"] += 1
    entry["documents"] = int(summary.get("documents", 0))
    for old in sorted(counted)[:-KEEP_DAYS]:
        del counted[old]
    return counted


class PendingState:
    """A state written beside ``<name>.json``: ``commit`` puts it in place, ``discard`` drops it.

    So that the writing (and its fsyncs) can overlap rclone's last transfer
    and only the rename waits for it to succeed.
    """

    def __init__(
        self,
        file: Path,
        temp: Path,
        stored: Path,
        state: RemoteState,
        summary: dict[str, Any] | None,
        complete: int | None,
    ) -> None:
        self.file, self.temp, self.stored = file, temp, stored
        self.state, self.summary, self.complete = state, summary, complete

    def commit(self) -> None:
        """Put the state in place (the rename is not fsynced: a power cut that
        undid it would only bring back the state before, and the next sync
        would send a few files again)."""
        if not (self.state.saved is not None and self.state.saved <= self.state.stored):
            _save_stored(self.stored, self.state)  # paths were removed: rewritten first
        os.replace(self.temp, self.file)
        if self.summary is not None:
            self.state.record_sync(self.summary)
        self.state.complete = self.complete

    def discard(self) -> None:
        remove_quietly(self.temp)


def load_state(vault_root: Path, name: str, path: str) -> RemoteState:
    """The state of remote ``name``; an empty one if none, unreadable, or for another path."""
    try:
        record = json.loads(state_path(vault_root, name).read_bytes())
    except (FileNotFoundError, ValueError):
        return RemoteState(path)
    if not isinstance(record, dict) or record.get("path") != path:
        history = record.get("daily", {}) if isinstance(record, dict) else {}
        return RemoteState(path, daily=history if isinstance(history, dict) else {})
    saved = None
    complete = record.get("complete")
    journaled = complete.get("journaled") if isinstance(complete, dict) else None
    if record.get("format", 1) == 1:
        stored = set(record.get("stored", []))
    else:
        found = _read_stored(stored_path(vault_root, name), path)
        if found is None:  # lost or for another path: start afresh (a --full sync)
            return RemoteState(path, daily=dict(record.get("daily", {})))
        stored, saved = found, set(found)
    return RemoteState(
        path=path,
        stored=stored,
        files=dict(record.get("files", {})),
        last_sync=record.get("last_sync"),
        daily=dict(record.get("daily", {})),
        fresh=False,
        complete=journaled if isinstance(journaled, int) else None,
        saved=saved,
        logs=segments.load(record.get("logs")),
    )


def save_state(
    vault_root: Path,
    name: str,
    state: RemoteState,
    *,
    summary: dict[str, Any] | None = None,
    complete: int | None = None,
) -> None:
    """Write ``state``: new paths appended to ``<name>.stored``, then ``<name>.json``.

    ``summary``: a sync that succeeded, recorded as ``last_sync`` and in
    ``daily``. ``complete``: only for a sync that finished in full, the
    documents its journal records (see ``complete`` above); without it, that
    is dropped.
    """
    prepare_state(vault_root, name, state, summary=summary, complete=complete).commit()


def prepare_state(
    vault_root: Path,
    name: str,
    state: RemoteState,
    *,
    summary: dict[str, Any] | None = None,
    complete: int | None = None,
) -> PendingState:
    """Write what ``save_state`` would, but leave ``<name>.json`` to ``commit``.

    New paths are appended to ``<name>.stored`` now (only ever paths the
    remote holds); ``state`` itself changes only on ``commit``.
    """
    make_private_dir(state_dir(vault_root))
    stored = stored_path(vault_root, name)
    if state.saved is not None and state.saved <= state.stored:
        _save_stored(stored, state)  # appends; a rewrite waits for ``commit``
    record: dict[str, Any] = {
        "format": FORMAT,
        "path": state.path,
        "files": state.files,
        "logs": segments.save(state.logs),
        "last_sync": summary if summary is not None else state.last_sync,
        "daily": _count_sync(state.daily, summary) if summary is not None else state.daily,
    }
    if complete is not None:
        record["complete"] = {"journaled": complete}
    file = state_path(vault_root, name)
    temp = private_temp_path(file.parent)
    try:
        with open(temp, "wb") as out:
            out.write(json.dumps(record, separators=(",", ":")).encode())
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        remove_quietly(temp)
        raise
    return PendingState(file, temp, stored, state, summary, complete)


def remove_state(vault_root: Path, name: str) -> None:
    state_path(vault_root, name).unlink(missing_ok=True)
    stored_path(vault_root, name).unlink(missing_ok=True)


def _header(path: str) -> bytes:
    return json.dumps({"format": FORMAT, "path": path}).encode() + b"\n"


def _read_stored(file: Path, path: str) -> set[str] | None:
    """The paths in ``file``; None if it is missing or about another rclone path."""
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return None
    header, _, body = data.partition(b"\n")
    try:
        if json.loads(header).get("path") != path:
            return None
    except (ValueError, AttributeError):
        return None
    lines = body.decode("utf-8", errors="replace").split("\n")
    lines.pop()  # "" after the last newline, or a line a crash cut short
    return set(lines)


def _save_stored(file: Path, state: RemoteState) -> None:
    saved = state.saved
    if saved is not None and saved <= state.stored and file.exists():
        added = state.stored - saved
        if added:
            append_line(file, _lines(added))
    else:
        atomic_write(file, _header(state.path) + _lines(state.stored))
    state.saved = set(state.stored)


def _lines(paths: set[str]) -> bytes:
    """One path a line; a path with a line break (never one of ours) is left out."""
    return "".join(f"{p}\n" for p in sorted(paths) if "\n" not in p and "\r" not in p).encode()
