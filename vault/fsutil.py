"""Durable, private file writing: temp name, fsync, rename; modes 0600/0700.

Every file the vault writes goes through here so that a crash at any instant
leaves either the old file or the new one, never a torn one, and nothing is
ever readable by other users of the computer.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
TEMP_PREFIX = ".tmp-"


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) with mode 0700; tighten it if it exists."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    with contextlib.suppress(OSError):
        os.chmod(path, DIR_MODE)


def private_temp_path(directory: Path, *, prefix: str = TEMP_PREFIX) -> Path:
    """Reserve a new empty 0600 file in ``directory`` and return its path."""
    name = directory / f"{prefix}{secrets.token_hex(8)}"
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.close(fd)
    return name


def write_private_temp(directory: Path, data: bytes, *, prefix: str = TEMP_PREFIX) -> Path:
    """A new 0600 file in ``directory`` holding ``data`` (not fsynced); its path.

    One open for both (``private_temp_path`` and a second open cost a file
    creation and a lookup more). A failed write leaves no file."""
    name = directory / f"{prefix}{secrets.token_hex(8)}"
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            if written <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(name))
            view = view[written:]
    except BaseException:
        os.close(fd)
        remove_quietly(name)
        raise
    os.close(fd)
    return name


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (no-op where directories can't be opened)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` durably and atomically, mode 0600."""
    tmp = private_temp_path(path.parent)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        remove_quietly(tmp)
    fsync_dir(path.parent)


def commit_temp(tmp: Path, path: Path) -> None:
    """fsync ``tmp`` and rename it to ``path``."""
    fsync_file(tmp)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def append_line(path: Path, line: bytes) -> None:
    """Append whole lines durably (journal, audit log, sync state), or nothing.

    Every byte is written and fsynced, or the file is cut back to its old
    length and the error raised: a short write (a full disk) never leaves a
    torn line for the next append to glue onto. A new file's folder is
    fsynced too. A torn last line left by a crash is cut off first, unless
    it is a whole JSON record that lost only its line end, which is then
    completed.
    """
    if not line.endswith(b"\n"):
        raise ValueError("append_line takes whole lines")
    try:
        fd = os.open(path, os.O_RDWR)
        created = False
    except FileNotFoundError:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        created = True
    try:
        start = _whole_lines_end(fd)
        data = memoryview(line)
        written = 0
        try:
            while written < len(data):
                count = os.pwrite(fd, data[written:], start + written)
                if count <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                written += count
            os.fsync(fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
                os.fsync(fd)
            raise
    finally:
        os.close(fd)
    if created:  # the new file's name is durable too, not only its line
        fsync_dir(path.parent)


_TAIL_CHUNK = 64 * 1024


def _whole_lines_end(fd: int) -> int:
    """Where the next line goes: the end of the file's last whole line.

    A torn tail (no line end) is cut off, or, when it parses as a whole JSON
    record, completed with a line end.
    """
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    end = size
    tail = b""
    while end > 0:  # find the last line end, reading backwards
        begin = max(0, end - _TAIL_CHUNK)
        chunk = os.pread(fd, end - begin, begin)
        tail = chunk + tail
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            tail = tail[cut + 1 :]
            begin += cut + 1
            break
        end = begin
    else:
        begin = 0
    try:
        whole = isinstance(json.loads(tail), dict)
    except ValueError:
        whole = False
    if not whole:
        os.ftruncate(fd, begin)
        os.fsync(fd)
        return begin
    if os.pwrite(fd, b"\n", size) != 1:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return size + 1


def clean_stale_temps(directory: Path, *, recursive: bool = True) -> int:
    """Remove temp files a crashed run left behind; return how many.

    Only call this holding the vault lock, so no live writer owns them.
    """
    removed = 0
    if not directory.exists():
        return 0
    entries = directory.rglob(f"{TEMP_PREFIX}*") if recursive else directory.glob(f"{TEMP_PREFIX}*")
    for entry in entries:
        if entry.is_file():
            remove_quietly(entry)
            removed += 1
    return removed


def _tmpfs_root() -> Path | None:
    for candidate in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            return Path(candidate)
    return None


_WORKDIR_PREFIX = "centre-vault-"


def new_private_dir(*, tmpfs: bool = True) -> Path:
    """A new private 0700 folder on tmpfs where there is one (``tmpfs=False``: in
    the system's temp folder on disk, for work too big for memory); the caller
    removes it.

    Its name carries the process id so that one left by a killed process can
    be found and removed later (``remove_orphan_workdirs``).
    """
    root = _tmpfs_root() if tmpfs else None
    path = Path(
        tempfile.mkdtemp(prefix=f"{_WORKDIR_PREFIX}{os.getpid()}-", dir=str(root) if root else None)
    )
    os.chmod(path, DIR_MODE)
    return path


@contextlib.contextmanager
def private_workdir() -> Iterator[Path]:
    """A private 0700 work folder (``new_private_dir``), removed on every path."""
    path = new_private_dir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_orphan_workdirs() -> int:
    """Remove work folders of processes that no longer run (killed mid-OCR,
    they may hold page images; mid-sync, rclone's log). Returns how many
    were removed."""
    removed = 0
    roots = {Path(tempfile.gettempdir())}
    tmpfs = _tmpfs_root()
    if tmpfs is not None:
        roots.add(tmpfs)
    for root in roots:
        for entry in root.glob(f"{_WORKDIR_PREFIX}*"):
            pid_text = entry.name[len(_WORKDIR_PREFIX) :].split("-", 1)[0]
            if not pid_text.isdigit() or _alive(int(pid_text)):
                continue
            try:
                owned = entry.stat().st_uid == os.getuid()
            except OSError:
                continue
            if owned and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
    return removed


def tmpfs_root() -> Path | None:
    """A memory-backed folder for private work ($XDG_RUNTIME_DIR or /dev/shm), if any."""
    return _tmpfs_root()
