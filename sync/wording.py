"""The sentences ``vault status`` and the committee report share.

One document count (``Status.documents``: the head's documents and the
journal's signed entries, the figure a recovery would restore), said the
same way everywhere; each check called what it is (a check of sizes reads
no contents; "contents checked" only where files were downloaded and
re-hashed); times in local time with the zone (``vault.clock``).
"""

from __future__ import annotations

from sync.history import Check, Checks
from sync.progress import human_bytes
from sync.status import RemoteStatus, Status
from vault.clock import shown


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def documents_line(status: Status, *, mark: bool = False) -> str:
    """The one document count, with what is not yet checked in it (``mark``:
    and "(unverified)" when the head's figures could not be checked)."""
    line = f"The vault holds {_plural(status.documents, 'document')}"
    if status.documents_unchecked:
        line += (
            f" ({status.documents_unchecked} of them stored since the vault was last "
            "unlocked, not yet checked for duplicates)"
        )
    if mark and status.head and not status.head_verified:
        line += " (unverified)"
    return line + "."


def state_line(status: Status) -> str | None:
    """The state code and its number, for the minutes (None: no head yet)."""
    head = status.head
    if head is None:
        return None
    return (
        f"Vault state code {head['short']}, number {head['seq']} "
        f"(last saved {shown(head['time'])})."
    )


def backup_line(remote: RemoteStatus) -> str:
    line = f"{remote.name}: last backup {shown(remote.last_sync)}"
    if remote.waiting_files:
        line += (
            f"; {_plural(remote.waiting_files, 'file')} "
            f"({human_bytes(remote.waiting_bytes or 0)}) waiting to be sent"
        )
    elif remote.waiting_files == 0 and remote.last_sync:
        line += "; nothing waiting to be sent"
    if remote.waiting_deletions:
        line += (
            f"; {_plural(remote.waiting_deletions, 'file')} of erased or replaced documents"
            " still there until the next sync deletes them"
        )
    return line + "."


def _outcome(check: Check, good: str) -> str:
    if check.ok:
        return good
    return f"{_plural(check.bad, 'file')} missing or damaged"


def remote_check_lines(remote: RemoteStatus) -> list[str]:
    """What is known of the backup on ``remote``: sizes, contents, read-back, drill."""
    name, checks = remote.name, remote.checks
    lines = []
    sizes = checks.sizes
    if sizes is None:
        lines.append(f"{name}: never checked that every file is there.")
    else:
        found = (
            f"{_plural(sizes.sizes_bad, 'file')} missing or wrong"
            if sizes.sizes_bad
            else "all were"
        )
        lines.append(
            f"{name}: checked on {shown(sizes.time)} that every file is present and the "
            f"right size: {found}"
            + (" (this quick check does not read the contents)." if sizes.scope == "sizes" else ".")
        )
    lines.append(_contents_line(name, checks))
    subset = checks.subset
    if subset is not None and (checks.full is None or subset.time >= checks.full.time):
        lines.append(
            f"{name}: {_plural(subset.read, 'file')} chosen at random downloaded and compared "
            f"on {shown(subset.time)}: " + _outcome(subset, "all matched") + "."
        )
    if checks.sample is not None:
        sample = checks.sample
        lines.append(
            f"{name}: {_plural(sample.read, 'file')} read back and compared at the backup of "
            f"{shown(sample.time)}: " + _outcome(sample, "all matched") + "."
        )
    drill = remote.last_drill
    if drill is None:
        lines.append(f"{name}: no restore drill yet.")
    else:
        outcome = "passed" if drill["ok"] else f"FAILED ({drill['reason']})"
        lines.append(f"{name}: last restore drill {shown(drill['time'])}: {outcome}.")
    return lines


def _contents_line(name: str, checks: Checks) -> str:
    full = checks.full
    if full is None:
        return (
            f"{name}: contents never fully checked (every file downloaded and compared "
            "with what was sent)."
        )
    return (
        f"{name}: contents last fully checked on {shown(full.time)}: "
        + _outcome(full, "all matched")
        + "."
    )


def contents_last_checked(checks: Checks) -> str:
    """``on 5 Dec 2026, 10:02 GMT`` or ``never``: the last full check of contents."""
    return f"on {shown(checks.full.time)}" if checks.full else "never"


def here_check_line(status: Status) -> str:
    """What is known of this computer's own copy."""
    check = status.here.full
    if check is None:
        return "This computer: never checked (every file re-hashed)."
    return (
        f"This computer: every file re-hashed on {shown(check.time)}: "
        + _outcome(check, "all matched")
        + "."
    )
