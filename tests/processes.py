"""Looking at real processes (Linux /proc): a command's descendants, whether
one still runs, what is in its environment."""

from __future__ import annotations

import time
from pathlib import Path


def children_of(pid: int) -> set[int]:
    """Processes whose parent is ``pid``."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def descendants_of(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children_of(todo.pop()) - found:
            found.add(child)
            todo.append(child)
    return found


def command_line(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def program_of(pid: int) -> str:
    """The file name of the program ``pid`` runs (``tesseract``, ``rclone``…)."""
    try:
        return Path(f"/proc/{pid}/exe").resolve().name
    except OSError:
        return ""


def environ_of(pid: int) -> dict[bytes, bytes] | None:
    """The environment ``pid`` was started with (None if it has gone)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    return dict(entry.partition(b"=")[::2] for entry in raw.split(b"\0") if entry)


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def all_gone(pids: set[int], within: float = 10.0) -> bool:
    """True once none of ``pids`` runs (False if one still does after ``within`` s)."""
    deadline = time.monotonic() + within
    while any(running(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
