"""Audit events of the sync commands, written only where the audit log knows them.

``vault/audit.py`` accepts a fixed set of event types. The sync commands
record ``sync``, ``repair`` and ``report`` once that set includes them, and
``verify`` (which it already has) for remote checks; until then these calls
do nothing rather than fail. Call holding the vault lock.
"""

from __future__ import annotations

from typing import Any

from vault.audit import EVENTS
from vault.repository import Vault


def record(vault: Vault, event: str, ids: list[str] | None = None, **detail: Any) -> bool:
    """Append ``event`` to the audit log if it is a known type; say whether it was."""
    if event not in EVENTS:
        return False
    vault.audit.append(event, ids, **detail)
    return True
