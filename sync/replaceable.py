"""The replaceable files on a remote, compared with what this computer sent there.

Write-once files are named by their SHA-256, so a wrong one gives itself
away. The replaceable files (``head.json``, ``segments.json``, ``config.json``,
``keys/*``) are not: whoever can write to the remote can put an older head
back, forge one of the same size, add a segment to the journal's list or
swap a key. The segments of the audit log and journal (``audit/<sha>``,
``journal/<sha>``, see ``segments.py``) are named by their hashes, but a
list names them, so they are judged with it: removed, or not what their
name says. So every sync lists them all with their hashes, in one listing of
the top folder, ``keys/``, ``keys/people/``, ``keys/levels/``, ``audit/`` and ``journal/``
(``LISTED``), and compares each with the digests recorded when it was sent
(the state file, ``state.py``): SHA-256 where the remote gives it (a local
folder computes it), else MD5 (what S3-like stores keep). A file whose hash
the remote cannot give is downloaded and hashed here. Nothing here needs a key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync import rclone

# rclone filter patterns for the replaceable files: the top folder, keys/, the
# personal keys in keys/people/ and the access levels' keys in keys/levels/;
# and the segments of the audit log and journal, so one removed or forged is
# noticed.
LISTED = (
    "/*", "/keys/*", "/keys/people/*", "/keys/levels/*", "/audit/*", "/journal/*",
    "/rotation/*", "/rotation/keys/*", "/rotation/keys/people/*", "/rotation/keys/levels/*",
)  # fmt: skip
HASHES = ("sha256", "md5")
# Audit events that record a look at the vault, not a change to it or a reading
# of a document: alone, they do not make a sync necessary (``backup.py``).
LOOKS = frozenset({"sync", "verify", "report", "drill"})


@dataclass(frozen=True)
class Difference:
    path: str
    problem: str  # "missing", "wrong size", "changed"


def record(data: bytes) -> dict[str, Any]:
    """What the state file keeps about a replaceable file that was sent."""
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "size": len(data),
    }


def compare(
    sent: Mapping[str, Mapping[str, Any]], present: Iterable[rclone.Entry]
) -> tuple[list[Difference], list[str]]:
    """Which of the files in ``sent`` differ on the remote (listed as ``present``),
    and which could not be judged from the listing (no usable hash: fetch them)."""
    found = {e.path: e for e in present}
    differ: list[Difference] = []
    unknown: list[str] = []
    for rel, mine in sorted(sent.items()):
        there = found.get(rel)
        if there is None:
            differ.append(Difference(rel, "missing"))
        elif there.size != mine.get("size"):
            differ.append(Difference(rel, "wrong size"))
        else:
            same = _same(mine, there.hashes)
            if same is None:
                unknown.append(rel)
            elif not same:
                differ.append(Difference(rel, "changed"))
    return differ, unknown


def _same(mine: Mapping[str, Any], theirs: Mapping[str, str]) -> bool | None:
    for kind in HASHES:
        if kind in theirs and kind in mine:
            return bool(theirs[kind].lower() == str(mine[kind]).lower())
    return None


def compare_fetched(
    sent: dict[str, dict[str, Any]], folder: Path, paths: Iterable[str]
) -> list[Difference]:
    """Judge files fetched into ``folder`` by their SHA-256; a file found
    right gets its MD5 recorded in ``sent``, so the next listing can judge it."""
    differ = []
    for rel in paths:
        try:
            data = folder.joinpath(*rel.split("/")).read_bytes()
        except FileNotFoundError:
            differ.append(Difference(rel, "missing"))
            continue
        found = record(data)
        if found["sha256"] != sent[rel].get("sha256"):
            differ.append(Difference(rel, "changed"))
        else:
            sent[rel] = found
    return differ


def describe(differ: Iterable[Difference]) -> str:
    """``head.json changed, keys/data.pub missing`` (at most five named)."""
    items = [f"{d.path} {d.problem}" for d in differ]
    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return ", ".join(items[:5]) + more


def only_looks(sent: dict[str, Any] | None, data: bytes) -> bool:
    """The audit log ``data`` is the copy ``sent`` with only ``LOOKS`` entries added."""
    if sent is None:
        return False
    try:
        size, digest = int(sent["size"]), str(sent["sha256"])
    except (KeyError, TypeError, ValueError):
        return False
    if len(data) <= size or hashlib.sha256(data[:size]).hexdigest() != digest:
        return False
    for line in data[size:].splitlines():
        try:
            event = json.loads(line).get("event")
        except (ValueError, AttributeError):
            return False
        if event not in LOOKS:
            return False
    return True
