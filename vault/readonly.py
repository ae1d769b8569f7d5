"""Reading a vault that cannot be written.

A vault on a read-only disk, a write-protected stick or a folder the user may
only read can still be listed, searched, shown, exported and verified: the
lock falls back to a shared one (``VaultLock.read_only_ok``), nothing is
cleaned up or folded, and the audit events those commands would add are
counted here instead of written, so the command can say plainly that they
were not recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vault import clock
from vault.audit import EVENTS, AuditEntry, AuditLog

if TYPE_CHECKING:
    from vault.repository import Vault


class UnrecordedAudit(AuditLog):
    """The audit log of a read-only vault: read as usual; appends only counted."""

    def __init__(self, log: AuditLog) -> None:
        super().__init__(log.path)
        self.unrecorded: list[str] = []

    def append(self, event: str, ids: list[str] | None = None, **detail: Any) -> AuditEntry:
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        self.unrecorded.append(event)
        seq, prev = self.tip()
        time = clock.stamp()
        return AuditEntry(seq + 1, time, event, list(ids or []), detail, prev, "")


def adapt(vault: Vault) -> None:
    """Once the lock is held: on a read-only vault, count audit events instead."""
    if vault.lock.read_only and not isinstance(vault.audit, UnrecordedAudit):
        vault.audit = UnrecordedAudit(vault.audit)


def notes(audit: AuditLog, unfolded: int) -> list[str]:
    """What a command on a read-only vault could not do, in plain words."""
    found = []
    if isinstance(audit, UnrecordedAudit) and audit.unrecorded:
        events = ", ".join(sorted(set(audit.unrecorded)))
        found.append(f"the vault is read-only: this {events} was not recorded in the audit log")
    if unfolded:
        found.append(
            f"the vault is read-only: {unfolded} document(s) stored without the passphrase "
            "are not shown until an unlocked command runs on a writable vault"
        )
    return found
