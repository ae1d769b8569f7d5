"""Moving a source file into another folder durably, never overwriting.

Used for the quarantine and for a watched inbox's processed folder. The file
arrives under its own name or, if that is taken, ``name-1.ext``, ``name-2.ext``
and so on. The new name is claimed with an operation that fails if it exists
(a hard link, or an exclusive create for a copy across file systems), the
data and the folder are fsynced, and only then is the source removed. A crash
at any instant leaves the file in the old place, the new place, or both,
never in neither. Moved files are made private (0600); a symbolic link is
moved as a link, never followed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from vault.errors import VaultError
from vault.fsutil import FILE_MODE, fsync_dir, fsync_file, make_private_dir, remove_quietly

_MAX_SUFFIX = 10_000


def candidate_names(name: str) -> Iterator[str]:
    """``name``, then ``stem-1.ext``, ``stem-2.ext``… (dot-files keep their dot)."""
    yield name
    stem, dot, ext = name.rpartition(".")
    if not stem:  # no extension, or a dot-file such as ".profile"
        stem, dot, ext = name, "", ""
    for n in range(1, _MAX_SUFFIX):
        yield f"{stem}-{n}{dot}{ext}"


def move_aside(src: Path, folder: Path, *, companions: Sequence[str] = ()) -> Path:
    """Move ``src`` into ``folder`` (made 0700 if new) under a free name; return it.

    A name counts as free only if ``name + suffix`` is free too for each of
    ``companions`` (such as ``.reason.txt``), so companion files never clash.
    """
    make_private_dir(folder)
    for name in candidate_names(src.name):
        dest = folder / name
        if any(_exists(folder / (name + suffix)) for suffix in companions):
            continue
        try:
            _place(src, dest)
        except FileExistsError:
            continue
        except OSError as exc:
            raise VaultError(
                f"cannot move {src.name} to the folder {folder.name}: {exc.strerror}"
            ) from exc
        break
    else:
        raise VaultError(f"cannot move {src.name} to the folder {folder.name}: too many so named")
    fsync_dir(folder)
    remove_source(src, f"was copied to {dest.name} in {folder.name}")
    return dest


def remove_source(src: Path, done: str) -> None:
    """Remove ``src`` once its copy is durable; ``done`` says where it went
    (for the error when it cannot be removed)."""
    try:
        src.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise VaultError(f"{src.name} {done} but cannot be removed: {exc.strerror}") from exc
    fsync_dir(src.parent)


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _place(src: Path, dest: Path) -> None:
    """Make ``dest`` a private copy of ``src``; FileExistsError if it exists."""
    if src.is_symlink():
        os.symlink(os.readlink(src), dest)
        return
    try:
        os.link(src, dest, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EMLINK):
            raise
        _copy_exclusive(src, dest)
    else:
        os.chmod(dest, FILE_MODE)
    fsync_file(dest)


def _copy_exclusive(src: Path, dest: Path) -> None:
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as source:
            shutil.copyfileobj(source, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            remove_quietly(dest)
        raise
