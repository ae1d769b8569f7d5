"""The processes a test started, read from /proc: so that none outlives it."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable


def _table() -> dict[int, tuple[int, int]]:
    """Every live process: pid -> (parent pid, process group)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (name)"
        if fields[0] == "Z":  # a zombie has ended: only its parent's wait is missing
            continue
        found[int(entry)] = (int(fields[1]), int(fields[2]))
    return found


def children(pid: int) -> set[int]:
    return {p for p, (parent, _) in _table().items() if parent == pid}


def descendants(pid: int) -> set[int]:
    table = _table()
    found: set[int] = set()
    wave = {pid}
    while wave:
        wave = {p for p, (parent, _) in table.items() if parent in wave} - found
        found |= wave
    return found


def group_members(pgid: int) -> set[int]:
    return {p for p, (_, group) in _table().items() if group == pgid}


def group_of(pid: int) -> int | None:
    found = _table().get(pid)
    return found[1] if found else None


def alive(pids: Iterable[int]) -> set[int]:
    table = _table()
    return {p for p in pids if p in table}


def is_resource_tracker(pid: int) -> bool:
    """Whether ``pid`` is multiprocessing's resource tracker: one per process
    that started workers by spawn (the OCR's), living as long as it does."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"multiprocessing.resource_tracker" in f.read()
    except OSError:
        return False


def kill_all(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def shown(pids: Iterable[int]) -> str:
    """Each process as its id and command line."""
    lines = []
    for pid in sorted(pids):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            command = "(gone)"
        lines.append(f"{pid}: {command[:160]}")
    return "; ".join(lines) or "none"
