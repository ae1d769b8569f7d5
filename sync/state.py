"""What each remote holds, as far as this vault knows: ``<vault>/remotes/<name>.json``.

So that a sync uploads only what is new without listing the whole remote,
each remote has a small local state file (mode 0600, written atomically):

- ``path``: the rclone path the state is about (a changed path starts afresh);
- ``stored``: relative paths of the write-once files the remote holds
  (``objects/ab/<id>``, ``manifests/ab/<id>``, ``catalog/<sha>.age|.idx``):
  ids only, never names;
- ``files``: the replaceable files (head, journal, logs, keys, settings) as
  ``{path: {"sha256", "size"}}`` of the copy last uploaded;
- ``last_sync``: time, files and bytes uploaded, files removed, the head's
  short hash and the document count of the last successful sync;
- ``daily``: per UTC day, successful syncs and the document count, for the
  committee report's chart (the last 400 days are kept).

``vault sync --full`` rebuilds ``stored`` from a real listing of the remote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vault.fsutil import atomic_write, make_private_dir

STATE_DIR = "remotes"
KEEP_DAYS = 400


def state_dir(vault_root: Path) -> Path:
    return vault_root / STATE_DIR


def state_path(vault_root: Path, name: str) -> Path:
    return state_dir(vault_root) / f"{name}.json"


@dataclass
class RemoteState:
    path: str
    stored: set[str] = field(default_factory=set)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_sync: dict[str, Any] | None = None
    daily: dict[str, dict[str, int]] = field(default_factory=dict)
    fresh: bool = True  # no state file was found (or it was for another path)

    def record_sync(self, summary: dict[str, Any]) -> None:
        self.last_sync = summary
        day = str(summary["time"])[:10]
        entry = self.daily.setdefault(day, {"syncs": 0, "documents": 0})
        entry["syncs"] += 1
        entry["documents"] = int(summary.get("documents", 0))
        for old in sorted(self.daily)[:-KEEP_DAYS]:
            del self.daily[old]


def load_state(vault_root: Path, name: str, path: str) -> RemoteState:
    """The state of remote ``name``; an empty one if none, unreadable, or for another path."""
    try:
        record = json.loads(state_path(vault_root, name).read_bytes())
    except (FileNotFoundError, ValueError):
        return RemoteState(path)
    if not isinstance(record, dict) or record.get("path") != path:
        history = record.get("daily", {}) if isinstance(record, dict) else {}
        return RemoteState(path, daily=history if isinstance(history, dict) else {})
    return RemoteState(
        path=path,
        stored=set(record.get("stored", [])),
        files=dict(record.get("files", {})),
        last_sync=record.get("last_sync"),
        daily=dict(record.get("daily", {})),
        fresh=False,
    )


def save_state(vault_root: Path, name: str, state: RemoteState) -> None:
    make_private_dir(state_dir(vault_root))
    record = {
        "format": 1,
        "path": state.path,
        "stored": sorted(state.stored),
        "files": state.files,
        "last_sync": state.last_sync,
        "daily": state.daily,
    }
    atomic_write(state_path(vault_root, name), json.dumps(record, separators=(",", ":")).encode())


def remove_state(vault_root: Path, name: str) -> None:
    state_path(vault_root, name).unlink(missing_ok=True)
