"""Worker processes of our process pools (object parts, OCR pages): Ctrl-C
is the parent's to handle, and a worker dies with its parent.

A Ctrl-C at a terminal reaches every process of the foreground group at
once. A worker that took it would print a ``KeyboardInterrupt`` traceback
(even one still importing its modules), so workers leave it to the parent,
which stops the pool and removes its temporary files. The programs a worker
runs (tesseract) still stop at once: a caught signal is reset to its default
when a program starts, an ignored one would not be.

    with workers_starting():          # in the parent, around pool.submit
        future = pool.submit(...)
    start_worker(parent_pid)          # first thing in each worker (pool initializer)
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType

from vault.children import withheld_secrets

_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
_CAN_BLOCK = hasattr(signal, "pthread_sigmask")


@contextlib.contextmanager
def workers_starting() -> Iterator[None]:
    """Ctrl-C held back from this thread while it starts worker processes,
    and the secret environment variables kept from them (``vault.children``).

    A new process inherits the blocked signal, so a Ctrl-C that comes while it
    is still starting waits until ``start_worker`` has said how to take it. In
    this process it is delivered as soon as the block ends."""
    with withheld_secrets():
        if not _CAN_BLOCK:  # pragma: no cover - Windows
            yield
            return
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _leave_to_parent(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C in a worker: nothing to do, the parent stops the pool."""


def start_worker(parent: int) -> None:
    """Make this process a well-behaved worker of process ``parent``."""
    signal.signal(signal.SIGINT, _leave_to_parent)
    if _CAN_BLOCK:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if sys.platform.startswith("linux"):
        # Killed with its parent (even a SIGKILLed one), instead of finishing
        # its work for nobody and writing files after the parent's clean-up.
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)
