"""The audit log and the journal on a remote: write-once segments and the list that orders them.

Both files only grow between folds (the audit log never shrinks), so a remote
keeps each as pieces, each sent once:

- ``audit/<sha256>`` and ``journal/<sha256>``: a run of bytes of the log,
  named by the SHA-256 of those bytes, never changed;
- ``segments.json`` (``LIST``), small and replaced in one step like the head::

      {"format": 1,
       "audit":   {"size": N, "sha256": "<of the whole log>",
                   "segments": [["<sha256>", <bytes>, <level>], ...]},
       "journal": {...the same...}}

  The log is its segments joined in the list's order; ``size`` and
  ``sha256`` are those of the whole. A list without ``audit`` (or
  ``journal``) means that log is still the whole file ``audit.log``
  (``journal.log``) an earlier version sent: a remote moves to this layout
  part by part, see ``backup.py``.

**What a sync sends** (:func:`plan`). When the log here begins with the
bytes the remote's list last named (their size and SHA-256 match), only
what follows is sent, as one new segment of level 0. Anything else (a fold
emptied the journal, a log rewritten, the first sync, a remote that was not
as last left) starts the log afresh: one segment of its whole content, a
*base* (level -1), or none for an empty log.

**Merging.** Whenever the last ``FAN_IN`` (16) segments of a list have the
same level (not a base) and hold together at most ``MERGE_LIMIT`` (1 MiB),
they are replaced by one segment of their joined bytes, one level up (and
again, if that makes 16 of that level). So a list holds a base, at most 15
segments per level, and the segments that grew too big to merge (one per
1 MiB or so of log); a byte is sent again once per level it climbs (about
log16 of the syncs since the base), no sync sends more than 1 MiB again, and
the base, the bulk of a long audit log, is never sent again while the log
only grows. (At the audit log's usual 5 kB a day: 80 kB more every 16th
sync, 1 MiB at most every 256th.)

**Reading** (:func:`read_logs`, for ``vault verify --remote``, ``vault
recover`` and ``vault drill``): each listed segment must be there, of its
listed size, and hash to its name; the joined bytes must have the list's
``size`` and ``sha256``. Nothing here needs a key, and nothing here trusts
a list for being on the remote: a changed or rolled-back list is found by
comparing it with what was sent (``replaceable.py``), and the audit chain
and the head's audit anchor are checked by the caller.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vault.errors import IntegrityError
from vault.fsutil import make_private_dir

LIST = "segments.json"
AUDIT = "audit"  # the log's key in the list, and the folder of its segments
JOURNAL = "journal"
LOGS = (AUDIT, JOURNAL)
WHOLE = {AUDIT: "audit.log", JOURNAL: "journal.log"}  # the whole files earlier versions sent
FORMAT = 1
FAN_IN = 16
MERGE_LIMIT = 1 << 20
BASE = -1
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_SHA = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Segment:
    sha256: str
    size: int
    level: int


@dataclass(frozen=True)
class Log:
    """One log's part of the list: its segments in order, and the whole's size and hash."""

    size: int
    sha256: str
    segments: tuple[Segment, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "sha256": self.sha256,
            "segments": [[s.sha256, s.size, s.level] for s in self.segments],
        }


EMPTY = Log(0, EMPTY_SHA256)


def segment_path(kind: str, digest: str) -> str:
    return f"{kind}/{digest}"


def is_segment(path: str) -> bool:
    kind, _, name = path.partition("/")
    return kind in LOGS and bool(_SHA.match(name))


def paths(logs: Mapping[str, Log]) -> dict[str, int]:
    """Every segment path the list names, with its size."""
    return {
        segment_path(kind, s.sha256): s.size for kind, log in logs.items() for s in log.segments
    }


def dump(logs: Mapping[str, Log]) -> bytes:
    record: dict[str, Any] = {"format": FORMAT}
    for kind in LOGS:
        if kind in logs:
            record[kind] = logs[kind].as_json()
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def parse(data: bytes | Mapping[str, Any]) -> dict[str, Log]:
    """The list's logs; ``ValueError`` for anything but a well-formed list."""
    record = json.loads(data) if isinstance(data, bytes) else data
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError("not a segment list")
    logs = {}
    for kind in LOGS:
        if kind in record:
            logs[kind] = _parse_log(record[kind])
    return logs


def _parse_log(value: Any) -> Log:
    if not isinstance(value, dict):
        raise ValueError("not a log")
    size, digest, items = value.get("size"), value.get("sha256"), value.get("segments")
    if not (isinstance(size, int) and isinstance(digest, str) and _SHA.match(digest)):
        raise ValueError("bad log size or hash")
    if not isinstance(items, list):
        raise ValueError("bad segments")
    segments = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 3):
            raise ValueError("bad segment")
        sha, length, level = item
        ok = isinstance(sha, str) and _SHA.match(sha) and isinstance(length, int) and length > 0
        if not (ok and isinstance(level, int) and level >= BASE):
            raise ValueError("bad segment")
        segments.append(Segment(sha, length, level))
    if sum(s.size for s in segments) != size:
        raise ValueError("segment sizes do not add up")
    return Log(size, digest, tuple(segments))


def load(value: Any) -> dict[str, Log]:
    """The logs a state file recorded (``state.py``); empty if none or unreadable."""
    try:
        return parse({"format": FORMAT, **value}) if isinstance(value, dict) else {}
    except ValueError:
        return {}


def save(logs: Mapping[str, Log]) -> dict[str, Any]:
    return {kind: logs[kind].as_json() for kind in LOGS if kind in logs}


def extends(sent: Mapping[str, Any] | Log | None, data: bytes) -> bool:
    """``data`` begins with the log ``sent`` (its size and SHA-256); None: nothing sent."""
    if sent is None:
        return True
    try:
        size = int(sent.size if isinstance(sent, Log) else sent["size"])
        digest = str(sent.sha256 if isinstance(sent, Log) else sent["sha256"])
    except (KeyError, TypeError, ValueError):
        return False
    return len(data) >= size and hashlib.sha256(memoryview(data)[:size]).hexdigest() == digest


# --- writing ------------------------------------------------------------------------------


@dataclass
class Plan:
    """What a sync sends of the logs.

    ``upload``: new segments (path -> bytes). ``before``: the list to put in
    place before the head (None: none); ``after``: the one after the head
    (None: none): only when the journal does not simply grow, so that the
    journal the remote names changes only once the head that replaces it is
    there. ``logs``: the list the remote holds at the end.
    """

    logs: dict[str, Log]
    upload: dict[str, bytes] = field(default_factory=dict)
    before: dict[str, Log] | None = None
    after: dict[str, Log] | None = None

    @property
    def empty(self) -> bool:
        return not self.upload and self.before is None and self.after is None


def next_log(sent: Log | None, data: bytes) -> Log:
    """The log ``data`` as segments, given ``sent`` (the segments the remote's list names)."""
    whole = hashlib.sha256(memoryview(data)[: sent.size] if sent is not None else b"")
    if sent is not None and len(data) >= sent.size and whole.hexdigest() == sent.sha256:
        whole.update(memoryview(data)[sent.size :])  # one pass over a long log
        digest = whole.hexdigest()
        segments = list(sent.segments)
        if len(data) > sent.size:
            added = data[sent.size :]
            segments.append(Segment(hashlib.sha256(added).hexdigest(), len(added), 0))
        segments = _merged(segments, data)
    else:
        digest = hashlib.sha256(data).hexdigest()
        segments = [Segment(digest, len(data), BASE)] if data else []
    return Log(len(data), digest, tuple(segments))


def _merged(segments: list[Segment], data: bytes) -> list[Segment]:
    while len(segments) >= FAN_IN:
        tail = segments[-FAN_IN:]
        level = tail[-1].level
        if level == BASE or any(s.level != level for s in tail):
            break
        start = sum(s.size for s in segments[:-FAN_IN])
        size = sum(s.size for s in tail)
        if size > MERGE_LIMIT:
            break
        joined = hashlib.sha256(memoryview(data)[start : start + size]).hexdigest()
        segments = [*segments[:-FAN_IN], Segment(joined, size, level + 1)]
    return segments


def plan(
    sent: Mapping[str, Log],
    legacy: Mapping[str, Mapping[str, Any]],
    data: Mapping[str, bytes],
    had: Callable[[str], bool],
) -> Plan:
    """What to send so that the remote's list names ``data`` (the local logs).

    ``sent``: the logs the remote's list names (a missing key: none, or the
    whole legacy file); ``legacy``: the records of the whole files an earlier
    version sent (``WHOLE``), for the journal's order; ``had(path)``: the
    remote already holds that segment, as sent.
    """
    logs: dict[str, Log] = {}
    upload: dict[str, bytes] = {}
    for kind in LOGS:
        whole = data.get(kind, b"")
        log = logs[kind] = next_log(sent.get(kind), whole)
        offset = 0
        for s in log.segments:  # new, or not held as sent (one that failed, a --full sync)
            rel = segment_path(kind, s.sha256)
            if not had(rel):
                upload[rel] = whole[offset : offset + s.size]
            offset += s.size
    found = Plan(logs, upload)
    if dict(sent) == logs:
        return found
    journal_now = sent.get(JOURNAL) or legacy.get(WHOLE[JOURNAL])
    if extends(journal_now, data.get(JOURNAL, b"")):
        found.before = logs
        return found
    # The journal was emptied or rewritten: it may name documents only the new
    # head names, so it changes after the head; the audit log goes before it.
    first = dict(logs)
    if JOURNAL in sent:
        first[JOURNAL] = sent[JOURNAL]
    else:
        del first[JOURNAL]  # the whole journal.log stays in force (or there is none)
    if first != dict(sent):
        found.before = first
    found.after = logs
    return found


def stage(found: Plan, folder: Path) -> None:
    """Write the new segments under ``folder`` (``audit/<sha>``, ``journal/<sha>``)."""
    for rel, piece in found.upload.items():
        target = folder.joinpath(*rel.split("/"))
        make_private_dir(target.parent)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(piece)


# --- reading ------------------------------------------------------------------------------


@dataclass
class Found:
    """The logs of a remote as a reader finds them (``read_logs``)."""

    data: dict[str, bytes] = field(default_factory=dict)  # kind -> the log's bytes
    logs: dict[str, Log] | None = None  # the list, if the remote has one
    problems: dict[str, str] = field(default_factory=dict)  # path -> "missing", "corrupt"...


Fetch = Callable[[Sequence[str]], None]


def read_logs(present: Mapping[str, int], folder: Path, fetch: Fetch) -> Found:
    """The remote's audit log and journal, checked, as bytes.

    ``present``: the remote's files with their sizes; ``fetch(paths)``
    downloads remote paths into ``folder``. The list is read from
    ``folder`` if it is there already, else fetched. A log the list does
    not name (or the list is absent) is the whole legacy file, if any.
    """
    found = Found()
    legacy = [WHOLE[kind] for kind in LOGS if WHOLE[kind] in present]
    wanted = [rel for rel in (LIST, *legacy) if not (folder / rel).exists()]
    wanted = [rel for rel in wanted if rel in present]
    if wanted:
        fetch(wanted)
    if LIST in present:
        try:
            found.logs = parse((folder / LIST).read_bytes())
        except (OSError, ValueError):
            found.problems[LIST] = "unreadable"
            found.logs = {}
    logs = found.logs or {}
    named = paths(logs)
    missing = [rel for rel in named if rel not in present]
    for rel in missing:
        found.problems[rel] = "missing"
    wrong = [rel for rel in named if rel in present and present[rel] != named[rel]]
    for rel in wrong:
        found.problems[rel] = "wrong size"
    todo = [rel for rel in named if rel in present and rel not in wrong]
    todo = [rel for rel in todo if not folder.joinpath(*rel.split("/")).exists()]
    if todo:
        fetch(todo)
    for kind in LOGS:
        if kind in logs:
            found.data[kind] = _joined(kind, logs[kind], folder, found.problems)
        elif (folder / WHOLE[kind]).exists():
            found.data[kind] = (folder / WHOLE[kind]).read_bytes()
    return found


def _joined(kind: str, log: Log, folder: Path, problems: dict[str, str]) -> bytes:
    parts = []
    for s in log.segments:
        rel = segment_path(kind, s.sha256)
        if rel in problems:
            break  # the log as far as it is whole: nothing after a gap
        try:
            piece = folder.joinpath(*rel.split("/")).read_bytes()
        except OSError:
            problems[rel] = "missing"
            break
        if hashlib.sha256(piece).hexdigest() != s.sha256:
            problems[rel] = "corrupt"
            break
        parts.append(piece)
    data = b"".join(parts)
    whole = hashlib.sha256(data).hexdigest()
    if not any(rel.startswith(f"{kind}/") for rel in problems) and (
        len(data) != log.size or whole != log.sha256
    ):
        problems[LIST] = f"the {kind} log it names has another size or hash"
    return data


def write_logs(found: Found, folder: Path) -> None:
    """Put the logs read into ``folder`` as the whole files (``audit.log``, ``journal.log``)."""
    for kind, data in found.data.items():
        target = folder / WHOLE[kind]
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)


def audit_damage(found: Found) -> dict[str, str]:
    """The problems of ``found`` that touch only the audit log."""
    return {
        rel: problem
        for rel, problem in found.problems.items()
        if rel.startswith(f"{AUDIT}/") or (rel == LIST and f"the {AUDIT} log" in problem)
    }


def refuse(found: Found, where: str) -> None:
    """Raise ``IntegrityError`` naming the first problem of ``found`` that is not
    the audit log's alone (recovery's rule: the journal names documents, so a
    damaged one is refused; a damaged audit log is brought in as far as it is
    whole, and the recovery says so)."""
    problems = {rel: p for rel, p in found.problems.items() if rel not in audit_damage(found)}
    if not problems:
        return
    rel, problem = sorted(problems.items())[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    raise IntegrityError(
        f"{rel} on the remote at {where}: {problem}{more}",
        hint="the backup's journal is damaged or was tampered with; "
        "nothing was restored. Try another backup of this vault",
    )
