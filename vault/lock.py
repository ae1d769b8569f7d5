"""A vault-level lock so two writers never interleave.

An exclusive OS file lock on ``<vault>/lock`` (fcntl on Unix, msvcrt on
Windows); the OS drops it when the process dies, so a crash never leaves the
vault locked. Whoever holds it may clean up what a crashed writer left
(``on_acquire``): no other writer can be mid-write then.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from vault.errors import LockedError

if sys.platform == "win32":  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


DEFAULT_WAIT = 30.0  # seconds a command waits for another to finish


class VaultLock:
    def __init__(
        self, path: Path, *, wait: float | None = None, on_acquire: Callable[[], None] | None = None
    ) -> None:
        self.path = path
        self.wait = DEFAULT_WAIT if wait is None else wait
        self.on_acquire = on_acquire
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.wait
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LockedError(
                    "the vault is busy: another vault command is running",
                    hint="wait for it to finish (a running 'vault watch' pauses between files)",
                )
            time.sleep(0.1)
        self._fd = fd
        if self.on_acquire is not None:
            try:
                self.on_acquire()
            except BaseException:
                self.release()
                raise

    def release(self) -> None:
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
