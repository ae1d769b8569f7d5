"""What every program the vault starts gets: no secret, and death with the vault.

- **No secret in its environment.** ``VAULT_PASSPHRASE`` and
  ``VAULT_NEW_PASSPHRASE`` are for the vault alone; any other user's program
  that can read a process's environment (``/proc/PID/environ`` of a process
  running as the same user, a crash reporter) must not find them in rclone,
  tesseract or a worker. :func:`withheld_secrets` takes them out of this
  process's environment for the length of a command (and wipes them from the
  block the process was started with, which a forked worker shares), so
  nothing started meanwhile inherits them; :func:`environment` is the
  environment for a program started with an explicit one.
- **Death with its parent.** A program started with :func:`dying_with_parent`
  before its argument list gets a parent-death signal (Linux, util-linux's
  ``setpriv --pdeathsig``): when the thread that started it ends, even by a
  SIGKILL of the vault, the program is signalled instead of going on working
  (and writing page text or downloading) for nobody. Elsewhere, or with a
  ``setpriv`` too old for it, the prefix is empty.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

SECRET_VARIABLES = ("VAULT_PASSPHRASE", "VAULT_NEW_PASSPHRASE")


@contextlib.contextmanager
def withheld_secrets() -> Iterator[dict[str, str]]:
    """Take the secret variables out of ``os.environ`` until the block ends.

    Yields them (name to value) for the code that needs them; they are put
    back afterwards, so a caller's environment is as it was."""
    started_with = _original_entries(SECRET_VARIABLES)
    taken = {name: os.environ.pop(name) for name in SECRET_VARIABLES if name in os.environ}
    for address, size in started_with:
        ctypes.memset(address, 0, size)
    try:
        yield taken
    finally:
        os.environ.update(taken)


def _original_entries(names: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where the C environment holds ``NAME=value`` for each of ``names``
    (address, length), on Linux.

    Taking a variable out of the environment leaves its bytes where the
    process was started with them: ``/proc/PID/environ`` still shows them,
    for this process and for every process forked from it (the object-part
    workers). So they are overwritten too, once out of the environment."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        environ = ctypes.POINTER(ctypes.c_void_p).in_dll(ctypes.CDLL(None), "environ")
    except (OSError, ValueError):  # pragma: no cover - a C library without it
        return []
    try:  # the block /proc/PID/environ shows: fields 50 and 51 of /proc/self/stat
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])
    except (OSError, IndexError, ValueError):  # pragma: no cover - no /proc
        return []
    prefixes = tuple(name.encode() + b"=" for name in names)
    found = []
    index = 0
    while (address := environ[index]) is not None:
        entry = ctypes.string_at(address)
        # Only the block the process was started with: a string set since is
        # the C library's, which may free it when the variable is removed.
        if entry.startswith(prefixes) and start <= address and address + len(entry) < end:
            found.append((address, len(entry)))
        index += 1
    return found


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the secret variables, plus ``extra``."""
    env = {name: value for name, value in os.environ.items() if name not in SECRET_VARIABLES}
    env.update(extra or {})
    return env


@functools.cache
def dying_with_parent(signal_name: str = "KILL") -> tuple[str, ...]:
    """The argument-list prefix that gives a program the parent-death signal
    ``signal_name`` (``KILL``, ``TERM``), or ``()`` where it cannot be had.

    The parent is the thread that starts the program: start it from a thread
    that waits for it."""
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    if setpriv is None:
        return ()
    try:
        done = subprocess.run(
            [setpriv, "--help"],
            capture_output=True,
            timeout=10,
            check=False,
            env=environment(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return ()
    if b"--pdeathsig" not in done.stdout:
        return ()
    return (setpriv, "--pdeathsig", signal_name, "--")
