"""Batch scans: one scanned file holding several documents, kept whole.

A pile of post scanned in one go is split into documents (``ingest.batch``);
the file as scanned is stored once, unchanged, as an object of its own
(``store_batch``), and each document split from it names that object and
its pages in its manifest (``Manifest.batch``) and its journal line. The
batch object is therefore kept (by prune, sync, verify and recovery) while
any document names it, moved by a key rotation with each of them, and
deleted by ``vault erase`` only with the last of them
(``Vault.drop_unreferenced`` keeps whatever another document names).

Storing, unlocked, records the batch's keyed fingerprint with it, so that a
run cut short and started again names the batch it stored before
(``stored_before``) instead of storing it a second time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault import clock
from vault.manifest import batch_ref
from vault.parts import split_ref

if TYPE_CHECKING:
    from vault.repository import Vault


@dataclass(frozen=True)
class StoredBatch:
    """A batch scan stored whole; ``pages``: those of it one document is
    (1-based, first and last)."""

    ref: str  # the object, or its parts (``vault.parts``)
    objects: dict[str, int]  # object id: size
    name: str
    media_type: str
    size: int
    received: str
    pages: tuple[int, int] = (1, 1)
    fingerprint: str | None = None  # keyed; when stored unlocked

    def of_pages(self, first: int, last: int) -> StoredBatch:
        return replace(self, pages=(first, last))

    def record(self) -> dict[str, Any]:
        """As a manifest's ``batch``."""
        found: dict[str, Any] = {
            "object": self.ref, "pages": list(self.pages), "name": self.name,
            "media_type": self.media_type, "size": self.size, "received": self.received,
        }  # fmt: skip
        if self.fingerprint is not None:
            found["fingerprint"] = self.fingerprint
        return found


def store_batch(vault: Vault, path: Path, *, name: str, media_type: str) -> StoredBatch:
    """Encrypt the batch scan ``path`` whole, as an object of its own. It is
    named only by the manifests and journal lines of the documents split
    from it: until the first is written, by nothing (a crash then leaves it
    to ``vault prune``)."""
    from vault.repository import fingerprint_file

    fingerprint = None
    if vault.key is not None:
        fingerprint = fingerprint_file(path, vault.key.fingerprint_key)
    put = vault.objects.put_file(path, [vault.recipient])
    size = path.stat().st_size
    return StoredBatch(
        put.id, dict(put.objects), name, media_type, size, clock.stamp(), fingerprint=fingerprint
    )


def stored_before(vault: Vault, doc_id: str, path: Path) -> StoredBatch | None:
    """The batch that document ``doc_id`` was split from, when it is the file
    ``path`` (the same keyed fingerprint) and its object is here: a batch an
    earlier run stored before it was cut short. None otherwise, or locked."""
    from vault.repository import fingerprint_file

    key = vault.key
    if key is None:
        return None
    row = vault.catalog.get(doc_id)
    batch = row.get("batch") if row else None
    if not isinstance(batch, dict) or batch_ref(batch) is None or not batch.get("fingerprint"):
        return None
    if batch["fingerprint"] != fingerprint_file(path, key.fingerprint_key):
        return None
    ids = split_ref(str(batch["object"]))
    if not all(vault.objects.exists(i) for i in ids):
        return None
    return StoredBatch(
        str(batch["object"]),
        {i: vault.objects.path(i).stat().st_size for i in ids},
        str(batch.get("name", "")),
        str(batch.get("media_type", "")),
        int(batch.get("size", 0)),
        str(batch.get("received", "")),
        fingerprint=str(batch["fingerprint"]),
    )


def pages_text(batch: dict[str, Any]) -> str:
    """``pages 4-6 of the batch scanned on 3 Dec 2026 at 09:14 (batch.pdf)``."""
    first, last = batch["pages"]
    pages = f"page {first}" if first == last else f"pages {first}-{last}"
    when = clock.shown(batch.get("received")) if batch.get("received") else "an unknown day"
    name = f" ({batch['name']})" if batch.get("name") else ""
    return f"{pages} of the batch scanned on {when}{name}"
