"""Rebuilding the catalog from the manifests (``vault rebuild-catalog``).

The manifests are enough to rebuild the catalog and its search index, and a
rebuild must work whatever state head.json is in: missing, damaged, forged or
rolled back. What it keeps from the old state is only what it can trust:

- the state number goes on from the highest *authentic* number among
  head.json and its anchors (``vault.anchor``), never back to 1;
- the object index of that state, when its file is still there, says which
  objects and manifests the vault held: any now missing are reported
  (``missing``), as is a drop in the number of documents it recorded, since
  a rebuild cannot bring back a document whose manifest is gone;
- of two versions of one document (an edit cut short between writing the new
  manifest and removing the old) the higher ``revision`` is kept, and on a
  tie the one that state named, never merely whichever sorts first.

Manifests without a MAC are rebuilt from only while the journal names them
(they are folded in after); any other is rejected, as is one whose MAC fails.

The manifests do not carry the notes of recorded data breaches
(``vault.incidents``) nor the family, sender and notes of expected post
(``vault.expected``): they are taken from this computer's catalog database
when it still opens under the key (each page of it is authenticated), and
are otherwise lost; the breaches and expectations themselves stay in the
audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from vault import anchor
from vault import manifest as manifests
from vault.errors import IntegrityError
from vault.head import read_index

if TYPE_CHECKING:
    from typing import Any

    from vault.keys import DataKey
    from vault.repository import Vault


@dataclass
class RebuildResult:
    added: list[str] = field(default_factory=list)  # document ids
    duplicates: list[str] = field(default_factory=list)  # manifest ids of the same content
    rejected: list[str] = field(default_factory=list)  # manifest ids that failed checks
    superseded: list[str] = field(default_factory=list)  # older versions of a document
    missing: list[str] = field(default_factory=list)  # ids the last state named, now gone
    last_documents: int | None = None  # documents in the last authentic state
    last_seq: int = 0  # its state number (the rebuilt head has the next)


def rebuild_catalog(
    vault: Vault, progress: Callable[[int, int], None] | None = None
) -> RebuildResult:
    """Rebuild ``vault``'s catalog from its manifests and save a new head."""
    key = vault.key
    if key is None:
        raise IntegrityError("the catalog can only be rebuilt with the vault unlocked")
    last = anchor.highest(anchor.copies(vault.root, vault.vault_id, vault.layout.head), key)
    named: dict[str, int] = {}
    result = RebuildResult()
    if last is not None:
        result.last_documents, result.last_seq = last.head.documents, last.head.seq
        try:
            named = read_index(vault.layout.catalog, last.head)
        except (IntegrityError, OSError, ValueError):
            named = {}
    result.missing = sorted(
        object_id
        for object_id in named
        if not vault.objects.exists(object_id) and not vault.manifests.exists(object_id)
    )
    journaled = {entry["manifest"] for entry in vault.journal_entries()}
    carried, expected = _carried_from_local_catalog(vault, key)
    catalog = vault.fresh_catalog()
    for incident in carried:
        catalog.put_incident(incident)
    for expectation in expected:
        catalog.put_expectation(expectation)
    kept: dict[str, tuple[tuple[int, bool], str, str | None]] = {}  # doc id -> rank, id, fp
    ids = list(vault.manifests.ids())
    for n, manifest_id in enumerate(ids, 1):
        if progress:
            progress(n, len(ids))
        try:
            doc, signed = manifests.parse(
                vault.manifests.get_bytes(manifest_id, [key.identity]), check_mac=key.check_mac
            )
        except IntegrityError:
            result.rejected.append(manifest_id)
            continue
        if not signed:
            if manifest_id not in journaled:
                result.rejected.append(manifest_id)
            continue
        rank = (doc.revision, manifest_id in named)
        earlier = kept.get(doc.doc_id)
        if earlier is not None and earlier[2] == doc.fingerprint:
            if rank > earlier[0]:
                catalog.add(doc, manifest_id)
                kept[doc.doc_id] = (rank, manifest_id, doc.fingerprint)
                result.superseded.append(earlier[1])
            else:
                result.superseded.append(manifest_id)
            continue
        if doc.fingerprint and (existing := catalog.by_fingerprint(doc.fingerprint)):
            result.duplicates.append(manifest_id)
            if not catalog.has(doc.doc_id):
                catalog.note_duplicate(doc.doc_id, existing)
            continue
        if catalog.has(doc.doc_id):
            doc = replace(doc, doc_id=manifests.new_document_id())
        catalog.add(doc, manifest_id)
        kept[doc.doc_id] = (rank, manifest_id, doc.fingerprint)
        result.added.append(doc.doc_id)
    vault.audit.append(
        "rebuild",
        [],
        documents=len(result.added),
        rejected=len(result.rejected),
        missing=len(result.missing),
    )
    head = vault.layout.head
    if head.is_dir() and not head.is_symlink():
        head.rmdir()  # a folder in its place (an empty one: anything else is refused)
    vault.adopt_catalog(catalog)
    return result


def _carried_from_local_catalog(
    vault: Vault, key: DataKey
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The encrypted part of each incident and each expectation in this
    computer's catalog database, when it opens (none when it is missing or
    damaged)."""
    from vault import catalog_db
    from vault.catalog import Catalog

    path = catalog_db.current(vault.layout.local)
    if path is None or not path.is_file():
        return [], []
    try:
        conn = catalog_db.open_database(path, key.catalog_key, read_only=True)
    except catalog_db.ERRORS:
        return [], []
    try:
        old = Catalog.opened(conn)
        return old.incidents(), old.expectations()
    except catalog_db.ERRORS:
        return [], []
    finally:
        conn.close()
