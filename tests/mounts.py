"""Real small or read-only file systems for tests (we run as root in CI).

``small_tmpfs`` mounts a tmpfs of a given size; ``read_only_view`` bind-mounts
a folder read-only elsewhere. Where the machine does not allow mounting, the
test is skipped with the reason (never silently passed).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here (needs root and mount rights): {result.stderr.strip()}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path))
    try:
        yield path
    finally:
        _umount(path)


@contextlib.contextmanager
def read_only_view(folder: Path, view: Path) -> Iterator[Path]:
    view.mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(folder), str(view))
    try:
        result = subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(view)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {result.stderr.strip()}")
        yield view
    finally:
        _umount(view)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system of ``folder`` until ``leave`` bytes or fewer are free."""
    filler = folder / "filler"
    with open(filler, "wb") as f:
        chunk = b"\0" * (64 * 1024)
        while True:
            free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
            if free <= leave:
                break
            try:
                f.write(chunk[: max(1, min(len(chunk), free - leave))])
                f.flush()
            except OSError:
                break
    return filler
