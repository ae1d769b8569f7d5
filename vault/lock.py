"""A vault-level lock so two writers never interleave.

An exclusive OS file lock on ``<vault>/lock`` (fcntl on Unix, msvcrt on
Windows); the OS drops it when the process dies, so a crash never leaves the
vault locked. Whoever holds it may clean up what a crashed writer left
(``on_acquire``): no other writer can be mid-write then.

A vault that cannot be written (a read-only folder or disk, a copy on a
write-protected stick) can still be read: a lock made with ``read_only_ok``
falls back to a shared lock on a lock file opened for reading (or to no lock
when there is no lock file: nobody can write there) and says so in
``read_only``; it then cleans nothing up.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from vault.errors import LockedError

if sys.platform == "win32":  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int, shared: bool = False) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBRLCK if shared else msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int, shared: bool = False) -> bool:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


DEFAULT_WAIT = 30.0  # seconds a command waits for another to finish
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


class VaultLock:
    def __init__(
        self, path: Path, *, wait: float | None = None, on_acquire: Callable[[], None] | None = None
    ) -> None:
        self.path = path
        self.wait = DEFAULT_WAIT if wait is None else wait
        self.on_acquire = on_acquire
        self.read_only_ok = False  # a reading command: fall back on a read-only vault
        self.read_only = False  # held on a vault that cannot be written
        self._fd: int | None = None

    def _open(self) -> tuple[int | None, bool]:
        """The lock file's descriptor (None: there is none) and whether it is read-only."""
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), False
        except OSError as exc:
            if not self.read_only_ok or exc.errno not in _READ_ONLY:
                raise
        try:
            return os.open(self.path, os.O_RDONLY), True
        except FileNotFoundError:
            return None, True

    def acquire(self) -> None:
        fd, read_only = self._open()
        deadline = time.monotonic() + self.wait
        while fd is not None and not _try_lock(fd, shared=read_only):
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LockedError(
                    "the vault is busy: another vault command is running",
                    hint="wait for it to finish (a running 'vault watch' pauses between files)",
                )
            time.sleep(0.1)
        self._fd = fd
        self.read_only = read_only
        if self.on_acquire is not None and not read_only:
            try:
                self.on_acquire()
            except BaseException:
                self.release()
                raise

    @property
    def held(self) -> bool:
        """Whether this process holds the lock now (read-only or not)."""
        return self._fd is not None

    def release(self) -> None:
        self.read_only = False
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> VaultLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
