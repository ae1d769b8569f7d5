"""Which documents a damaged recovery could not restore: each missing or
corrupt file of the backup named with its document's id and file name.

Owners come from the checked catalog snapshot, else from the manifests that
did arrive (decrypted in memory), and from the journal's entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from recovery.trust import Verified
from sync.snapshot import object_path
from vault import crypto
from vault import manifest as manifests
from vault.errors import IntegrityError
from vault.keys import DataKey
from vault.manifest import batch_ref
from vault.parts import split_ref


@dataclass(frozen=True)
class Damage:
    """A file of the backup that could not be restored, and whose document it is."""

    path: str  # e.g. objects/ab/<id>
    problem: str  # "missing" or "corrupt"
    doc_id: str | None = None
    name: str | None = None

    @property
    def id(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def name_damage(bad: dict[str, str], verified: Verified, dest: Path) -> list[Damage]:
    """Each damaged file with the document it belongs to (id and file name) where known."""
    if not bad:
        return []
    owners: dict[str, tuple[str, str]] = {}
    if verified.catalog is not None:
        for row in verified.catalog.documents():
            for ref in (
                row["original"],
                row["searchable"],
                row["manifest"],
                batch_ref(row.get("batch")),
            ):
                for object_id in split_ref(ref) if ref else []:
                    owners[object_id] = (str(row["id"]), str(row["name"]))
        manifest_ids = [e["manifest"] for e in verified.entries]
    else:
        manifest_ids = [
            *(i for i in verified.index if (dest / object_path("manifests", i)).exists()),
            *(e["manifest"] for e in verified.entries),
        ]
    linked = {e["manifest"]: list(e["objects"]) for e in verified.entries}
    for manifest_id in manifest_ids:
        doc = _read_manifest(dest, manifest_id, verified.key)
        if doc is None:
            continue
        ids = [manifest_id, *split_ref(doc.original), *linked.get(manifest_id, [])]
        if doc.searchable:
            ids += split_ref(doc.searchable)
        if batch_ref(doc.batch):
            ids += split_ref(str(batch_ref(doc.batch)))
        for object_id in ids:
            owners[object_id] = (doc.doc_id, doc.name)
    damaged = []
    for rel, problem in sorted(bad.items()):
        doc_id, name = owners.get(rel.rsplit("/", 1)[-1], (None, None))
        damaged.append(Damage(rel, problem, doc_id, name))
    return damaged


def _read_manifest(dest: Path, manifest_id: str, key: DataKey) -> manifests.Manifest | None:
    path = dest / object_path("manifests", manifest_id)
    try:
        data = crypto.decrypt_bytes(path.read_bytes(), [key.identity])
        return manifests.parse(data, check_mac=None)[0]
    except (OSError, IntegrityError):
        return None
