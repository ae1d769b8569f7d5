"""Objects nothing names (``vault prune``): left by a crash between an
object's rename and its journal line, or by a document stored twice at
once. A key rotation under way has new objects no head names yet: prune
refuses to run then. The files of journal entries set aside (kept on
purpose, for inspection) are kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from vault import erasure, rotation
from vault import journal as journals
from vault.errors import UsageError

if TYPE_CHECKING:
    from vault.repository import Vault


@dataclass
class Pruned:
    files: int = 0
    bytes: int = 0
    erasure: int | None = None  # files of an erasure cut short, deleted first


def prune(vault: Vault, *, dry_run: bool = False) -> Pruned:
    """Delete every object and manifest of the unlocked ``vault`` (its lock
    held) that nothing names; ``dry_run``: only count them."""
    if rotation.read_state(vault.root) is not None:
        raise UsageError(
            "a key rotation is under way: its new files are named by nothing yet",
            hint="finish it first ('vault rotate'), then prune",
        )
    finished = None if dry_run else erasure.finish_interrupted(vault)
    vault.fold_journal()
    named = vault.referenced()
    for entry in vault.set_aside_entries():
        if journals.is_entry(entry):
            named |= {entry["manifest"], *entry["objects"]}
    found = Pruned(erasure=finished)
    for store in (vault.objects, vault.manifests):
        for object_id in list(store.ids()):
            if object_id in named:
                continue
            path = store.path(object_id)
            found.files += 1
            found.bytes += path.stat().st_size
            if not dry_run:
                store.remove(object_id)
    if not dry_run:
        vault.audit.append("prune", [], files=found.files)
    return found
