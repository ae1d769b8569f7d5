"""Folding the journal into the catalog (needs the key).

Each journal entry is checked: its manifest must decrypt with the vault's key
and, when it carries no MAC (stored without the passphrase), the entry must be
signed by the key the authenticated head names (``journal.check_entry``).
An accepted document is fingerprinted (a duplicate is dropped, and the
catalog notes which document it was a copy of, so that its id, announced
when it was stored, still leads somewhere) and its manifest signed;
anything else is set aside, named, and blocks nothing. Each document
added is then matched against the expected post (``vault.expected``): one
that was awaited is marked received, and listed in the vault's
``matched_expectations`` for the command to say so.

Safe to repeat after a crash at any instant: an entry whose objects the
catalog already names was folded before and is not folded again (so it can
never be taken for a duplicate of itself). The new head is saved first, then
the journal is emptied, and only then are replaced files removed, none that
the catalog, the head's index, the journal or a set-aside entry names.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from vault import journal as journals
from vault import manifest as manifests
from vault.errors import IntegrityError, VaultError, WrongKeyError
from vault.fsutil import private_workdir
from vault.manifest import Manifest
from vault.parts import split_ref

if TYPE_CHECKING:
    from vault.expected import Arrival
    from vault.keys import DataKey
    from vault.repository import Vault


@dataclass
class FoldResult:
    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # manifest ids dropped as copies
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (doc id, the one it copies)
    rejected: list[str] = field(default_factory=list)  # manifest ids that failed checks
    set_aside: list[tuple[str, str]] = field(default_factory=list)  # (manifest id, reason)


class _SetAside(Exception):
    """A journal entry the fold does not accept, and why (no names in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def fold_journal(vault: Vault) -> FoldResult:
    """Bring the journaled documents into ``vault``'s catalog (see the module)."""
    key = vault.unlocked_key()
    catalog = vault.catalog  # open already: ``Vault.fold_journal`` sees to it
    result = FoldResult()
    found = journals.read(vault.root / journals.JOURNAL)
    if not found.records and not found.damaged:
        return result
    from vault.expected import Arrival, match_arrivals  # only when there is something to fold

    legacy = vault.legacy_journal
    leftovers: list[str] = []
    aside: list[tuple[dict[str, Any], str]] = []
    # Made once and grown as entries are folded: the fold's cost is the
    # entries plus the catalog, never the entries times the catalog.
    named = catalog.object_ids() | catalog.manifest_ids()
    damaged: list[str] = []
    arrivals: list[Arrival] = []
    for text in found.damaged:
        torn = _torn_entry(vault, text, key) if legacy else None
        if torn is None:
            damaged.append(text)
        else:
            found.records.append(torn)
    for entry in found.records:
        manifest_id = entry["manifest"]
        if manifest_id in named or (entry["objects"] and set(entry["objects"]) <= named):
            leftovers.append(manifest_id)  # folded before a crash
            continue
        try:
            doc, manifest_id, leftover, copy_of = _fold_one(vault, entry, key)
        except _SetAside as why:
            aside.append((entry, why.reason))
            continue
        if copy_of is not None:
            catalog.note_duplicate(doc.doc_id, copy_of)
            result.dropped.append((doc.doc_id, copy_of))
            result.duplicates.append(manifest_id)
            leftovers.extend(entry["objects"])
            leftovers.append(manifest_id)
            continue
        if leftover is not None:
            leftovers.append(leftover)
        catalog.add(doc, manifest_id)
        named |= {manifest_id, *entry["objects"]}
        result.added.append(doc.doc_id)
        arrivals.append(Arrival(doc.doc_id, doc.doc_type, doc.family, doc.received))
    for text in damaged:
        aside.append(({"damaged": text}, "a damaged journal line"))
    for entry, reason in aside:
        vault.record_set_aside(entry, reason)
        name = str(entry.get("manifest", "damaged line"))
        result.set_aside.append((name, reason))
        result.rejected.append(name)
    for manifest_id in result.duplicates:
        vault.audit.append("duplicate", [manifest_id])
    vault.dropped_duplicates.extend(result.dropped)
    if aside:
        vault.audit.append("set-aside", [m for m, _ in result.set_aside if len(m) == 64])
    if result.added:
        vault.audit.append("fold", result.added)
    vault.matched_expectations.extend(match_arrivals(vault, arrivals))
    vault.save_catalog()
    vault.empty_journal()
    vault.drop_unreferenced(leftovers)
    return result


def _torn_entry(vault: Vault, text: str, key: DataKey) -> dict[str, Any] | None:
    """The entry of a line an older version tore (a full disk), rebuilt from
    its manifest; only for a journal from before signing keys, where such a
    line was written by this computer. None if it cannot be rebuilt."""
    manifest_id = journals.torn_manifest(text)
    if manifest_id is None:
        return None
    try:
        data = vault.manifests.get_bytes(manifest_id, [key.identity])
        doc, _ = manifests.parse(data, check_mac=key.check_mac)
        objects = {}
        for ref in (doc.original, doc.searchable, manifests.batch_ref(doc.batch)):
            for object_id in split_ref(ref) if ref else []:
                objects[object_id] = vault.objects.path(object_id).stat().st_size
        size = vault.manifests.path(manifest_id).stat().st_size
    except (VaultError, OSError):
        return None
    return {"manifest": manifest_id, "size": size, "objects": objects, "signed": False}


def _fold_one(
    vault: Vault, entry: dict[str, Any], key: DataKey
) -> tuple[Manifest, str, str | None, str | None]:
    """Check one journal entry: (the document; the manifest id to catalog;
    an unsigned manifest no longer needed; the id of the document it is a
    copy of, when it is a duplicate to drop)."""
    catalog = vault.catalog
    manifest_id = entry["manifest"]
    try:
        data = vault.manifests.get_bytes(manifest_id, [key.identity])
    except WrongKeyError as exc:
        raise _SetAside("its manifest is not encrypted to this vault's key") from exc
    except IntegrityError as exc:
        raise _SetAside(f"its manifest is missing or damaged ({exc.message})") from exc
    try:
        doc, signed = manifests.parse(data, check_mac=key.check_mac)
    except IntegrityError as exc:
        raise _SetAside(exc.message) from exc
    if not signed and not vault.accepts(entry):
        raise _SetAside("it is not signed by this computer's signing key")
    if signed and doc.fingerprint and (existing := catalog.by_fingerprint(doc.fingerprint)):
        return doc, manifest_id, None, existing
    if catalog.has(doc.doc_id):
        doc = replace(doc, doc_id=manifests.new_document_id())
    if signed:
        return doc, manifest_id, None, None
    try:
        return _sign(vault, doc, manifest_id, key)
    except (WrongKeyError, IntegrityError) as exc:
        message = exc.message if isinstance(exc, IntegrityError) else "not this vault's key"
        raise _SetAside(f"its original cannot be read ({message})") from exc


def _sign(
    vault: Vault, doc: Manifest, manifest_id: str, key: DataKey
) -> tuple[Manifest, str, str, str | None]:
    """Fingerprint an unverified document and write its signed manifest."""
    from vault.repository import fingerprint_file

    with private_workdir() as work:
        plain = work / "original"
        vault.objects.get_file(doc.original, plain, [key.identity])
        fingerprint = fingerprint_file(plain, key.fingerprint_key)
    if existing := vault.catalog.by_fingerprint(fingerprint):
        return doc, manifest_id, manifest_id, existing
    signed = vault.manifests.put_bytes(
        doc.signed(fingerprint, key.mac), vault.recipients_of(doc.levels)
    )
    return replace(doc, fingerprint=fingerprint), signed.id, manifest_id, None
