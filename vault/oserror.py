"""What the computer refused, in one line: ``OSError`` to ``StorageError``.

A full disk, a read-only or immutable folder, a file where a folder should be
(or the reverse): each is a failure of the computer, not tampering, so it is
exit status 1 with a message saying what to do, never a traceback and never
the integrity status 4 (monitoring would raise a false tamper alarm).

Paths inside the vault are named relative to it (``objects/ab/…``); any
other path by its last component only, so a message never carries the
folders of a document's source.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from vault.errors import StorageError

DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG)
_OS_ERROR_TEXT = re.compile(r"\(os error (\d+)\)")


def errno_of(exc: BaseException) -> int | None:
    """The errno of an ``OSError``, or of a library error whose text ends in
    Rust's ``(os error N)`` (pyrage reports a full disk that way)."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.errno
    match = _OS_ERROR_TEXT.search(str(exc))
    return int(match.group(1)) if match else None


def os_error_from(exc: BaseException, filename: Path | None = None) -> OSError | None:
    """A proper ``OSError`` for a library error that wraps one, else None."""
    number = errno_of(exc)
    if number is None:
        return None
    return OSError(number, os.strerror(number), str(filename) if filename else None)


def is_disk_full(exc: BaseException) -> bool:
    return errno_of(exc) in DISK_FULL


def _shown(filename: object, root: Path | None) -> str | None:
    if not filename:
        return None
    path = Path(os.fsdecode(filename))  # type: ignore[arg-type]
    if root is not None:
        try:
            return str(path.absolute().relative_to(root.absolute())) or "."
        except ValueError:
            pass
    return path.name or str(path)


def storage_error(exc: OSError, root: Path | None = None) -> StorageError:
    """One line for ``exc``; ``root`` is the vault folder, for naming its files."""
    number = errno_of(exc)
    where = _shown(exc.filename, root)
    at = f" ({where})" if where else ""
    if number in DISK_FULL:
        return StorageError(
            f"disk full: a file could not be written{at}",
            hint="free some space on that disk (or choose another folder), then run the "
            "command again",
            errno=number,
        )
    if number == errno.EROFS:
        return StorageError(
            f"the folder is read-only{at}",
            hint="reading commands (list, show, search, export, verify, audit, status) work "
            "on a read-only vault; others need it writable",
            errno=number,
        )
    if number in (errno.EACCES, errno.EPERM):
        return StorageError(
            f"permission denied{at}",
            hint="check the owner and permissions of the vault folder "
            "(and that no file is marked immutable: lsattr)",
            errno=number,
        )
    if number == errno.EISDIR:
        return StorageError(f"a folder is where a file should be{at}", errno=number)
    if number == errno.ENOTDIR:
        return StorageError(f"a file is where a folder should be{at}", errno=number)
    if number == errno.ENOENT:
        return StorageError(f"a file or folder is missing{at}", errno=number)
    reason = exc.strerror or type(exc).__name__
    return StorageError(f"{reason.lower()}{at}", errno=number)
