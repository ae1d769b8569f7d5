"""Files the vault writes outside itself (an export, a report).

Two rules. A file the user already has at ``--out`` is never replaced
without ``force``, even one that appeared while the vault was being unlocked:
the last step creates the name exclusively (a hard link, which fails if the
name exists, or ``O_EXCL``), it does not check and then write. And nothing
is left beside the destination: the finished file is made first in a private
folder the vault cleans up (``work_folder``) and only then linked or copied to
``--out``. A hard link is instant and the file appears whole; where the
destination is another file system (a USB stick), the file is copied into
the exclusively created name and removed again if the copy fails.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from vault.errors import UsageError
from vault.fsutil import (
    FILE_MODE,
    fsync_dir,
    new_private_dir,
    private_temp_path,
    remove_quietly,
)

_NO_LINK = (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS)


def exists_error(out: Path) -> UsageError:
    return UsageError(f"{out} already exists", hint="choose another --out, or add --force")


def check_destination(out: Path, *, force: bool) -> None:
    """Refuse early what ``place`` would refuse: a folder, a missing folder,
    or (without ``force``) an existing file."""
    if out.is_dir():
        raise UsageError(f"{out} is a folder; give a file name with --out")
    if not out.parent.is_dir():
        raise UsageError(f"folder {out.parent} does not exist")
    if not force and (out.exists() or out.is_symlink()):
        raise exists_error(out)


def _same_device(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_dev == b.stat().st_dev
    except OSError:
        return False


@contextlib.contextmanager
def work_file(private_tmp: Path | None, out: Path, *, encrypted: bool = False) -> Iterator[Path]:
    """A private path to make the file for ``out`` at, removed on every path.

    It is a ``.tmp-*`` file in ``private_tmp`` (the vault's own ``tmp``, where
    every command cleans up such files on taking the lock) when that is on
    the destination's file system, so the file can be linked into place; else
    a file in a private work folder (tmpfs where there is one, removed by the
    next command if this one is killed), copied from.

    An ``encrypted`` file (an export bundle) holds no plaintext and can be
    larger than the computer's memory, which a tmpfs is made of: it is made
    in ``private_tmp`` wherever ``out`` is (a data stick: then copied), and
    failing that in a work folder on disk, never on tmpfs.
    """
    path: Path | None = None
    if private_tmp is not None and (encrypted or _same_device(private_tmp, out.parent)):
        with contextlib.suppress(OSError):  # a read-only vault: the work folder, then
            path = private_temp_path(private_tmp)
    if path is not None:
        try:
            yield path
        finally:
            remove_quietly(path)
        return
    folder = new_private_dir(tmpfs=not encrypted)
    try:
        yield folder / "file"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def place(src: Path, out: Path, *, force: bool) -> None:
    """Put the finished file ``src`` at ``out`` (mode 0600); ``src`` goes away.

    Without ``force`` an existing ``out`` is never touched (``UsageError``).
    """
    if force:
        with contextlib.suppress(OSError):
            os.replace(src, out)
            fsync_dir(out.parent)
            return
    else:
        try:
            os.link(src, out)
        except FileExistsError:
            raise exists_error(out) from None
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
        else:
            remove_quietly(src)
            fsync_dir(out.parent)
            return
    _copy(src, out, force=force)
    remove_quietly(src)


def _copy(src: Path, out: Path, *, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    flags |= os.O_TRUNC if force else os.O_EXCL
    try:
        fd = os.open(out, flags, FILE_MODE)
    except FileExistsError:
        raise exists_error(out) from None
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, FILE_MODE)  # --force over a file with other permissions
        with os.fdopen(fd, "wb") as dst, open(src, "rb") as source:
            shutil.copyfileobj(source, dst, 1024 * 1024)
            dst.flush()
            os.fsync(dst.fileno())
    except OSError as exc:
        remove_quietly(out)
        raise OSError(exc.errno, exc.strerror, str(out)) from exc  # name the file
    except BaseException:
        remove_quietly(out)
        raise
    fsync_dir(out.parent)
