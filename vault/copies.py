"""Readable copies the vault made outside itself, so it can say they are there.

An export, a document opened with ``vault view``, a scan kept in a watch's
processed folder: each is a readable (unencrypted) copy of a document outside
the vault. The vault cannot stop the user keeping them, but it can count
them. Every such copy, or the folder that holds such copies, is noted in a
*register*: a private (0600) file in this computer's per-user state folder
(``~/.local/state/centre-vault/copies/<hash>.jsonl`` on Linux), outside the
vault folder and never sent to a backup. One JSON line per copy::

    {"kind": "export", "path": "/home/c/Desktop/court-order.pdf", "ino": 1835123}
    {"kind": "view", "path": "/run/user/1000/centre-vault-view-.../letter.pdf",
     "expires": 1765000000.0}
    {"kind": "processed", "path": "/home/c/Scans/done"}

The paths are the only thing written, and only while the copy exists:
``found`` re-checks each one and rewrites the register without those that
are gone (an export noted with its inode: a different file saved later under
its name is not counted). Every change to the register is made holding
its lock (``<hash>.jsonl.lock`` beside it), as several processes change it.
``sweep_views`` removes view copies whose time is up (a viewer that handed
the file to another program and returned at once leaves one behind; so does
a killed ``vault view``); every vault command calls it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vault.fsutil import append_line, atomic_write, make_private_dir
from vault.paths import default_state_dir

EXPORT = "export"
VIEW = "view"
PROCESSED = "processed"
QUARANTINE = "quarantine"
VIEW_PREFIX = "centre-vault-view-"


@dataclass(frozen=True)
class Copy:
    """A readable copy (``path`` a file), or a folder of them (``processed``)."""

    kind: str
    path: Path
    expires: float | None = None
    ino: int | None = None  # the file's inode when noted: a new file at its path is not it

    def entry(self) -> dict[str, object]:
        entry: dict[str, object] = {"kind": self.kind, "path": str(self.path)}
        if self.expires is not None:
            entry["expires"] = self.expires
        if self.ino is not None:
            entry["ino"] = self.ino
        return entry

    def there(self) -> bool:
        """Whether the copy (the same file, for one noted with its inode) is still there."""
        try:
            info = self.path.lstat()
        except OSError:
            return False
        return self.ino is None or info.st_ino == self.ino


def register_path(root: Path) -> Path:
    """The register of the vault in folder ``root``, named by a hash of the folder."""
    try:
        folder = root.expanduser().resolve()
    except OSError:
        folder = root.expanduser().absolute()
    name = hashlib.sha256(f"copies\0{folder}".encode()).hexdigest()[:32]
    return default_state_dir() / "copies" / f"{name}.jsonl"


@contextlib.contextmanager
def _changing(root: Path, *, create: bool = False) -> Iterator[None]:
    """Hold the register's lock while it is read and changed: a command
    noting a copy, the detached remover of a view copy and status forgetting
    what is gone run at the same time, and a rewrite must not drop a note
    added meanwhile. ``create``: make the register's folder. With no folder
    (nothing noted yet), or where files cannot be locked, unlocked."""
    register = register_path(root)
    if create:
        make_private_dir(register.parent)
    try:
        import fcntl

        fd = os.open(register.with_name(register.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except (ImportError, OSError):  # Windows; no register folder; a read-only home
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and the lock with it


def note(root: Path, kind: str, path: Path, *, expires: float | None = None) -> None:
    """Add a copy (or a processed folder) to the register; a folder already
    there is not added twice."""
    path = path.absolute()
    ino = None
    if kind == EXPORT:
        with contextlib.suppress(OSError):
            ino = path.lstat().st_ino
    with _changing(root, create=True):
        if kind == PROCESSED and any(c.path == path for c in _read(root) if c.kind == kind):
            return
        line = json.dumps(Copy(kind, path, expires, ino).entry(), sort_keys=True) + "\n"
        append_line(register_path(root), line.encode())


def _read(root: Path) -> list[Copy]:
    try:
        text = register_path(root).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    copies = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
            expires, ino = entry.get("expires"), entry.get("ino")
            copies.append(
                Copy(
                    str(entry["kind"]),
                    Path(str(entry["path"])),
                    float(expires) if expires is not None else None,
                    int(ino) if ino is not None else None,
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return copies


def _rewrite(root: Path, copies: list[Copy]) -> None:
    register = register_path(root)
    lines = [json.dumps(c.entry(), sort_keys=True) + "\n" for c in copies]
    with contextlib.suppress(OSError):
        if lines:
            atomic_write(register, "".join(lines).encode())
        else:
            register.unlink(missing_ok=True)


def folder_files(folder: Path, *, leave_out: str | None = None) -> list[Path]:
    """The files in ``folder`` and its subfolders (``leave_out``: a name ending
    whose files are not copies, such as the quarantine's reason files)."""
    if not folder.is_dir():
        return []
    found = []
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            if leave_out is None or not name.endswith(leave_out):
                found.append(Path(dirpath) / name)
    return sorted(found)


def is_view_folder(folder: Path) -> bool:
    """A folder ``vault view`` made (its own name, owned by this user)."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    owner = getattr(os, "getuid", lambda: info.st_uid)()
    return folder.name.startswith(VIEW_PREFIX) and info.st_uid == owner and folder.is_dir()


def remove_view(path: Path) -> None:
    """Remove a view copy and its private folder."""
    folder = path.parent
    if is_view_folder(folder) and not folder.is_symlink():
        shutil.rmtree(folder, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def forget(root: Path, path: Path) -> None:
    """Take ``path`` out of the register (a view copy just removed)."""
    with _changing(root):
        noted = _read(root)
        kept = [c for c in noted if c.path != path.absolute()]
        if len(kept) != len(noted):
            _rewrite(root, kept)


def sweep_views(root: Path, now: float | None = None) -> int:
    """Remove view copies whose time is up; return how many were removed."""
    register = register_path(root)
    if not register.exists():
        return 0
    now = time.time() if now is None else now
    removed = 0
    for c in _read(root):
        if c.kind == VIEW and c.expires is not None and c.expires <= now and c.there():
            remove_view(c.path)
            removed += 1
    if removed:
        found(root)
    return removed


def found(root: Path, *, quarantined: Iterable[Path] = ()) -> list[Copy]:
    """The readable copies there are now: each noted copy that still exists,
    each file in a noted processed folder, and the ``quarantined`` files
    (the caller knows the quarantine). The register forgets copies that are gone."""
    with _changing(root):
        noted = _read(root)
        kept = [c for c in noted if c.there()]
        if len(kept) != len(noted):
            _rewrite(root, _unique(kept))
    copies: list[Copy] = []
    for c in _unique(kept):
        if c.kind == PROCESSED:
            copies.extend(Copy(PROCESSED, p) for p in folder_files(c.path))
        elif c.path.is_file():
            copies.append(c)
    copies.extend(Copy(QUARANTINE, p) for p in quarantined)
    return copies


def _unique(copies: Iterable[Copy]) -> list[Copy]:
    seen: set[tuple[str, Path]] = set()
    result = []
    for c in copies:
        if (c.kind, c.path) not in seen:
            seen.add((c.kind, c.path))
            result.append(c)
    return result


def delete(copies: Iterable[Copy]) -> tuple[int, list[tuple[Path, str]]]:
    """Delete the copies (a view copy with its private folder); (how many,
    [(path, why not)] for the rest)."""
    deleted = 0
    failed: list[tuple[Path, str]] = []
    for c in copies:
        if c.kind == VIEW:
            remove_view(c.path)
        else:
            try:
                c.path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                failed.append((c.path, exc.strerror or "cannot delete it"))
                continue
        deleted += 1
    return deleted, failed


_WORDS = {
    EXPORT: ("export", "exports"),
    VIEW: ("copy being viewed", "copies being viewed"),
    PROCESSED: ("in the processed folder", "in the processed folder"),
    QUARANTINE: ("in the quarantine", "in the quarantine"),
}


def counts(copies: Iterable[Copy]) -> dict[str, int]:
    """How many copies of each kind (every kind named, 0 if none)."""
    result = {kind: 0 for kind in _WORDS}
    for c in copies:
        result[c.kind] = result.get(c.kind, 0) + 1
    return result


def summary(copies: list[Copy]) -> str:
    """How many readable copies there are, of each kind: "3 readable copies
    outside the vault: 2 exports, 1 in the quarantine"."""
    parts = []
    for kind, n in counts(copies).items():
        if n:
            one, many = _WORDS[kind]
            parts.append(f"{n} {one if n == 1 else many}")
    total = len(copies)
    noun = "copy" if total == 1 else "copies"
    return f"{total} readable {noun} outside the vault: {', '.join(parts)}"


def warning(copies: list[Copy]) -> str | None:
    """One line saying how many readable copies there are, naming none of them."""
    if not copies:
        return None
    them = "it" if len(copies) == 1 else "them"
    return f"{summary(copies)}; delete {them} when done ('vault copies' lists {them})"
