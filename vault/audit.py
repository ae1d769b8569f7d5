"""The append-only, hash-chained audit log.

One JSON line per event: sequence number, UTC time, event type, object or
document ids, and for emergency-key use the recorded reason. Never file names
or document text. Each entry holds the hash of the one before, and its own hash
covers its content and that link, so editing, removing or reordering an entry
breaks the chain. The vault's MAC-protected head records the chain's tip at
each unlocked save, so cutting entries off the end is found too.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vault.fsutil import append_line

GENESIS = "0" * 64
_TAIL = 64 * 1024  # bytes read from the end of the log to find its last entry

EVENTS = {
    "init", "ingest", "fold", "duplicate", "show", "export", "passwd", "verify",
    "rebuild", "emergency-use", "unlock", "edit", "search", "sync", "repair", "report",
}  # fmt: skip


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: str
    event: str
    ids: list[str]
    detail: dict[str, Any]
    prev: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "time": self.time, "event": self.event, "ids": self.ids,
            "detail": self.detail, "prev": self.prev, "hash": self.hash,
        }  # fmt: skip


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str


def _digest(body: dict[str, Any]) -> str:
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest()


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> Iterator[AuditEntry]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                try:
                    record = json.loads(line)
                    yield AuditEntry(**record)
                except (ValueError, TypeError):
                    yield AuditEntry(number, "", "?", [], {}, "", "unreadable")

    def tip(self) -> tuple[int, str]:
        """The last entry's (seq, hash), or (0, GENESIS) for an empty log.

        Reads only the end of the file: a sync or an ingest appends to a log
        of many thousands of entries. When the last line is not a readable
        entry, the whole log is read, as ``entries`` numbers it.
        """
        last = self._last_entry()
        if last is None:
            for last in self.entries():  # noqa: B007
                pass
        return (last.seq, last.hash) if last else (0, GENESIS)

    def _last_entry(self) -> AuditEntry | None:
        """The entry on the last line, read from the end; None if that is not simple."""
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                start = max(0, size - _TAIL)
                f.seek(start)
                tail = f.read()
        except FileNotFoundError:
            return None
        lines = tail.splitlines()
        if not lines or (start > 0 and len(lines) < 2):
            return None  # empty, or a last line longer than the tail read
        try:  # bytes.splitlines splits as ``entries`` does (universal newlines)
            record = json.loads(lines[-1].decode("utf-8"))
            entry = AuditEntry(**record)
        except (ValueError, TypeError):
            return None
        if not isinstance(entry.seq, int) or not isinstance(entry.hash, str):
            return None
        return entry

    def append(self, event: str, ids: list[str] | None = None, **detail: Any) -> AuditEntry:
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        seq, prev = self.tip()
        body: dict[str, Any] = {
            "seq": seq + 1,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "event": event,
            "ids": list(ids or []),
            "detail": detail,
            "prev": prev,
        }
        entry = AuditEntry(**body, hash=_digest(body))
        line = json.dumps(entry.as_dict(), sort_keys=True, separators=(",", ":")) + "\n"
        append_line(self.path, line.encode())
        return entry

    def verify(self, anchor: tuple[int, str] | None = None) -> list[ChainProblem]:
        """Check the chain; ``anchor`` is a (seq, hash) the chain must contain."""
        problems: list[ChainProblem] = []
        prev = GENESIS
        expected_seq = 1
        found_anchor = anchor is None or anchor[0] == 0
        for entry in self.entries():
            body = entry.as_dict()
            claimed = body.pop("hash")
            if entry.hash == "unreadable":
                problems.append(ChainProblem(entry.seq, "entry is unreadable"))
            elif entry.seq != expected_seq:
                problems.append(
                    ChainProblem(
                        entry.seq,
                        f"expected entry {expected_seq}: an entry was removed or reordered",
                    )
                )
            elif entry.prev != prev:
                problems.append(ChainProblem(entry.seq, "link to the previous entry is broken"))
            elif _digest(body) != claimed:
                problems.append(ChainProblem(entry.seq, "entry was edited"))
            if anchor and entry.seq == anchor[0] and entry.hash == anchor[1]:
                found_anchor = True
            prev = entry.hash
            expected_seq = entry.seq + 1
        if not found_anchor and anchor is not None:
            problems.append(
                ChainProblem(anchor[0], "entries recorded at the last save are missing")
            )
        return problems
