"""What the audit log says about the checks of each copy of the vault.

Each check is a ``verify`` event in the audit log (no key needed to read it)
with the place it looked at (``remote``, or none for this computer) and how
far it went (``scope``):

- ``local``: ``vault verify``, every file on this computer re-hashed;
- ``sizes``: ``vault verify --remote``, every file the remote needs present
  with the right size. Quick, and it says nothing about the contents: a file
  damaged in place keeps its size;
- ``sample``: each ``vault sync`` reads back a few files at random and
  re-hashes them against their names;
- ``subset``: ``--read-data-subset``, sizes and a random share re-hashed;
- ``full``: ``--read-data``, sizes and every file re-hashed (as does a
  ``vault repair`` that mended everything).

Events from before ``scope`` was recorded count as ``local`` (no remote),
``sizes`` (nothing read) or ``subset``.

A problem a check found stays outstanding until a later check that would
have found it again passed (or failed afresh, which replaces it): a missing
or wrong-size file by any later check of sizes, damaged contents only by a
full read. A sample that happened to pick other files clears nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from vault.audit import UNREADABLE, AuditEntry

SIZES_SCOPES = ("sizes", "subset", "full")  # checks that looked at every file's size
CONTENT_SCOPES = ("sample", "subset", "full", "local")  # checks that read contents


@dataclass(frozen=True)
class Check:
    time: str
    scope: str
    ok: bool
    bad: int = 0
    read: int = 0
    corrupt: int = 0  # of ``bad``, those found with the right size and the wrong contents

    @property
    def sizes_bad(self) -> int:
        """The files this check found missing, of the wrong size or otherwise wrong."""
        return self.bad - self.corrupt

    def covers(self, earlier: Check) -> bool:
        """This check would have found again what ``earlier`` found."""
        if earlier.scope == "local":
            return self.scope == "local"
        if earlier.scope == "sizes":
            return self.scope in SIZES_SCOPES
        return self.scope == "full"


@dataclass
class Checks:
    """The checks of one place: this computer or one remote."""

    sizes: Check | None = None  # the last check of every file's presence and size
    sample: Check | None = None  # the last read-back of a few files at a sync
    contents: Check | None = None  # the last check that read contents (any share)
    full: Check | None = None  # the last check that read every file
    subset: Check | None = None  # the last that read a random share (--read-data-subset)
    outstanding: list[Check] = field(default_factory=list)  # problems not cleared since

    def add(self, check: Check) -> None:
        self.outstanding = [old for old in self.outstanding if not check.covers(old)]
        if not check.ok:
            self.outstanding.append(check)
        if check.scope in SIZES_SCOPES:
            self.sizes = check
        if check.scope == "sample":
            self.sample = check
        if check.scope in CONTENT_SCOPES:
            self.contents = check
        if check.scope in ("full", "local"):
            self.full = check
        if check.scope == "subset":
            self.subset = check


@dataclass
class History:
    here: Checks = field(default_factory=Checks)
    remotes: dict[str, Checks] = field(default_factory=dict)
    last: dict[str, object] | None = None  # the last check asked for (not a sync's sample)

    def of(self, remote: str | None) -> Checks:
        if remote is None:
            return self.here
        return self.remotes.setdefault(remote, Checks())


def scope_of(entry: AuditEntry) -> str:
    scope = entry.detail.get("scope")
    if isinstance(scope, str) and scope:
        return scope
    if not entry.detail.get("remote"):
        return "local"
    return "subset" if int(entry.detail.get("read") or 0) else "sizes"


def check_of(entry: AuditEntry) -> Check:
    return Check(
        time=entry.time,
        scope=scope_of(entry),
        ok=bool(entry.detail.get("ok", not entry.ids)),
        bad=len(entry.ids),
        read=int(entry.detail.get("read") or 0),
        corrupt=int(entry.detail.get("corrupt") or 0),
    )


def add_entry(history: History, entry: AuditEntry) -> None:
    """Take in one audit entry (entries other than checks are passed over)."""
    if entry.hash == UNREADABLE:
        return
    remote = entry.detail.get("remote")
    name = str(remote) if remote else None
    if entry.event == "verify":
        check = check_of(entry)
        history.of(name).add(check)
        if check.scope != "sample":
            history.last = {
                "time": check.time,
                "ok": check.ok,
                "bad": check.bad,
                "remote": name,
                "read_data": check.read,
                "scope": check.scope,
            }
    elif entry.event == "repair" and name and entry.detail.get("ok"):
        history.of(name).add(Check(entry.time, "full", True))


def read_history(entries: Iterable[AuditEntry]) -> History:
    history = History()
    for entry in entries:
        add_entry(history, entry)
    return history
