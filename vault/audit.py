"""The append-only, hash-chained audit log.

One JSON line per event: sequence number, UTC time, event type, object or
document ids, and for emergency-key use the recorded reason; for a data
breach (``vault.incidents``) its kind, when the centre became aware and the
decision (with the ICO's case reference), never its notes; for expected post
(``vault.expected``) its type, due day and changes, never the family, the
sender or the notes; in an unlocked
command, the label of the key that unlocked it (``key``) and, for a key of
an access level other than ``full``, that level (``level``). Never file names
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
from pathlib import Path
from typing import Any

from vault import clock, jsonlines
from vault.fsutil import append_line

GENESIS = "0" * 64
_TAIL = 64 * 1024  # bytes read from the end of the log to find its last entry

EVENTS = {
    "init", "ingest", "fold", "duplicate", "show", "export", "passwd", "verify",
    "rebuild", "emergency-use", "unlock", "edit", "search", "sync", "repair", "report",
    "set-aside", "recover", "drill", "ack", "emergency-sheet", "view", "key-add", "key-remove",
    "rotate-start", "rotate", "erase", "prune",
    "incident", "incident-close", "incident-note", "incident-show",
    "expect", "expect-received", "expect-cancel", "expect-chase", "expect-lost", "expect-show",
    "grant", "revoke", "level-rotate", "refused",
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


_FIELDS = {"seq", "time", "event", "ids", "detail", "prev", "hash"}
UNREADABLE = "unreadable"  # the hash of a stand-in for a damaged line


def is_record(value: Any) -> bool:
    """A whole audit entry as written (its chain is checked by ``verify``)."""
    return (
        isinstance(value, dict)
        and set(value) == _FIELDS
        and isinstance(value["seq"], int)
        and isinstance(value["hash"], str)
        and isinstance(value["prev"], str)
        and isinstance(value["ids"], list)
        and isinstance(value["detail"], dict)
    )


def _digest(body: dict[str, Any]) -> str:
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest()


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        # The label of the key that unlocked this command (``key_register``):
        # named as ``key`` in the detail of every entry it appends.
        self.key_label: str | None = None
        # ... and its access level (``vault.levels``), named as ``level`` when
        # it is not ``full`` (an entry naming a key and no level: a full key)
        self.key_level: str | None = None

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry; a damaged line is a stand-in entry whose hash is
        ``UNREADABLE``, followed by any whole entry glued onto it."""
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                found = jsonlines.Lines()
                jsonlines.parse_line(line, is_record, found)
                if found.damaged:
                    yield AuditEntry(number, "", "?", [], {}, "", UNREADABLE)
                for record in found.records:
                    yield AuditEntry(**record)

    def tip(self) -> tuple[int, str]:
        """The last entry's (seq, hash), or (0, GENESIS) for an empty log.

        Reads only the end of the file: a sync or an ingest appends to a log
        of many thousands of entries. When the last line is not a readable
        entry, the whole log is read and the chain goes on from the last
        readable entry (the damage stays for ``verify`` to report).
        """
        last = self._last_entry()
        if last is None:
            for entry in self.entries():
                if entry.hash != UNREADABLE:
                    last = entry
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
        if not tail.endswith(b"\n"):
            return None  # a torn last line: the next append cuts it off
        try:  # bytes.splitlines splits as ``entries`` does (universal newlines)
            record = json.loads(lines[-1].decode("utf-8"))
        except ValueError:
            return None
        return AuditEntry(**record) if is_record(record) else None

    def append(self, event: str, ids: list[str] | None = None, **detail: Any) -> AuditEntry:
        return self.append_all([(event, list(ids or []))], **detail)[0]

    def append_all(self, events: list[tuple[str, list[str]]], **detail: Any) -> list[AuditEntry]:
        """Append one entry per (event, ids), chained, with one write and one
        fsync (all or none); each carries ``detail``."""
        for event, _ in events:
            if event not in EVENTS:
                raise ValueError(f"unknown audit event {event!r}")
        seq, prev = self.tip()
        made: list[AuditEntry] = []
        lines: list[str] = []
        for event, ids in events:
            seq += 1
            body: dict[str, Any] = {
                "seq": seq,
                "time": clock.stamp(),
                "event": event,
                "ids": list(ids),
                "detail": self._detail(detail),
                "prev": prev,
            }
            entry = AuditEntry(**body, hash=_digest(body))
            made.append(entry)
            lines.append(json.dumps(entry.as_dict(), sort_keys=True, separators=(",", ":")) + "\n")
            prev = entry.hash
        append_line(self.path, "".join(lines).encode())
        return made

    def _detail(self, detail: dict[str, Any]) -> dict[str, Any]:
        if not self.key_label:
            return dict(detail)
        if self.key_level:
            return {"key": self.key_label, "level": self.key_level, **detail}
        return {"key": self.key_label, **detail}

    def verify(self, anchor: tuple[int, str] | None = None) -> list[ChainProblem]:
        """Check the chain; ``anchor`` is a (seq, hash) the chain must contain."""
        problems: list[ChainProblem] = []
        prev = GENESIS
        expected_seq = 1
        found_anchor = anchor is None or anchor[0] == 0
        for entry in self.entries():
            body = entry.as_dict()
            claimed = body.pop("hash")
            if entry.hash == UNREADABLE:
                problems.append(ChainProblem(entry.seq, f"line {entry.seq} is damaged"))
                continue
            if entry.seq != expected_seq:
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
