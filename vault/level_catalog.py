"""Each access level's own catalog: what its keys can list and search.

With a session key, ``vault list``, ``search`` and ``show`` must find the
documents granted to the session level and reveal nothing of the others:
not their count, type, family reference, dates or words. The vault's
catalog (``vault.chain``) is encrypted to the data key alone, so each level
gets a catalog of its own: one write-once file ``catalog/<sha>.age`` (the
form of a chain file, ``vault.chain``) holding the catalog record (row and
page text) of each document granted to it and nothing else, encrypted to
the level's key and to the data key, with a MAC under a key derived from
the level's key. The head (``vault.head``, under the data key's MAC) names
each level's file, how many documents it holds and the level key it was
written for; a sync sends it and a recovery brings it back with the rest of
the catalog.

A level's file is written again by the save that changes what it holds
(a document granted, taken back, corrected or erased, the level given a
new key); other saves keep it. Each record is the full catalog's record
with what would speak of other documents left out: the batch scan a
document was split from (its other pages are other documents), the ids
of an e-mail's attachments not granted to the level, and the keyed
fingerprint.

A level's keyholder opens it into a catalog in memory (``open_level``), and
adds the documents stored at that level since the last save, which wait
in the journal (``vault.journal``: each entry signed by this computer's key;
its manifest opens with the level's key). Someone holding only a level's
key cannot check the data key's MACs: the level's file is checked against
the head's record of its hash and its own MAC; a file written by a
keyholder of the level would pass, which gives them nothing they do not
have (the MAC keeps everyone else out).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault import chain, crypto
from vault import journal as journals
from vault import manifest as manifests
from vault.errors import IntegrityError, WrongKeyError

if TYPE_CHECKING:
    from pyrage import x25519

    from vault.catalog import Catalog
    from vault.levels import LevelKey

KIND = "level"


@dataclass(frozen=True)
class LevelFile:
    """A level's catalog file as the head names it."""

    level: str
    catalog: str  # SHA-256 of catalog/<sha>.age
    documents: int
    key: str  # the level key's id (``LevelKey.key_id``) it was written for

    @property
    def name(self) -> str:
        return f"{self.catalog}.age"


def _sanitised(record: dict[str, Any], granted: set[str]) -> dict[str, Any]:
    row = dict(record["doc"])
    row["fingerprint"] = None
    row["batch"] = None
    attachments = row.get("attachments")
    if attachments:
        try:
            kept = [a for a in json.loads(attachments) if a in granted]
        except (ValueError, TypeError):
            kept = []
        row["attachments"] = json.dumps(kept) if kept else None
    return {"doc": row, "text": record["text"]}


def _records(catalog: Catalog, ids: list[str]) -> Iterator[dict[str, Any]]:
    granted = set(ids)
    for doc_id in ids:
        record = catalog.record(doc_id)
        if record is not None:
            yield _sanitised(record, granted)


def write_level(
    folder: Path,
    catalog: Catalog,
    key: LevelKey,
    data: x25519.Recipient,
    *,
    vault_id: str,
    seq: int,
) -> LevelFile:
    """Write level ``key.name``'s catalog file from ``catalog``."""
    ids = catalog.at_level(key.name)
    header = {
        "chain": chain.FORMAT, "kind": KIND, "level": key.name, "vault": vault_id,
        "seq": seq, "prev": None, "key": key.key_id,
    }  # fmt: skip
    level = crypto.parse_recipient(key.recipient)
    digest = chain._write_records(folder, header, _records(catalog, ids), level, key, also=[data])
    return LevelFile(key.name, digest, len(ids), key.key_id)


def save_levels(
    folder: Path,
    catalog: Catalog,
    keys: Mapping[str, LevelKey],
    data: x25519.Recipient,
    previous: tuple[LevelFile, ...] | None,
    previous_seq: int,
    *,
    vault_id: str,
    seq: int,
) -> tuple[LevelFile, ...]:
    """Each level's catalog file for a save of state ``seq``: the previous one
    (``previous``: as the previous head names them; None: unknown, all are
    written) kept when nothing it holds changed since ``previous_seq``."""
    kept = {entry.level: entry for entry in previous or ()}
    changed = {item for kind, item, _ in catalog.changes(previous_seq) if kind == "doc"}
    found = []
    for name, key in sorted(keys.items()):
        old = kept.get(name)
        if previous is not None and old is not None and _still(folder, old, catalog, key, changed):
            found.append(old)
            continue
        found.append(write_level(folder, catalog, key, data, vault_id=vault_id, seq=seq))
    return tuple(found)


def _still(
    folder: Path, old: LevelFile, catalog: Catalog, key: LevelKey, changed: set[str]
) -> bool:
    if old.key != key.key_id or not (folder / old.name).is_file():
        return False
    ids = catalog.at_level(key.name)
    return len(ids) == old.documents and not changed.intersection(ids)


def open_level(
    folder: Path,
    entry: LevelFile | None,
    key: LevelKey,
    vault_id: str,
    journal: list[dict[str, Any]],
    signer: str | None,
    manifest_bytes: Any,
) -> Catalog:
    """The catalog of ``key``'s level, in memory: its file (``entry``, as the
    head names it; None: no document was granted yet), and the documents
    journaled since whose manifest opens with the level's key (``journal``:
    the entries; ``signer``: this computer's signing key, which must have
    signed each; ``manifest_bytes(id)``: a manifest file's bytes, or None)."""
    from vault.catalog import Catalog

    catalog = Catalog.new()
    if entry is not None:
        if entry.key != key.key_id:
            raise IntegrityError(
                f"the catalog of the access level '{key.name}' was written for another of its keys",
                hint="a change of access was cut short: a full key finishes it with "
                "'vault access resume'",
            )
        path = folder / entry.name
        if not path.is_file():
            raise IntegrityError(
                f"the catalog of the access level '{key.name}' (catalog/{entry.name}) is missing",
                hint="'vault repair NAME' brings it back from a backup",
            )
        header = chain.read_records(path, entry.catalog, key, catalog.apply)
        if (
            header.get("kind") != KIND
            or header.get("level") != key.name
            or header.get("vault") != vault_id
            or header.get("key") != key.key_id
        ):
            raise IntegrityError(
                f"catalog/{entry.name} is not the catalog of the access level '{key.name}'"
            )
    for entry_record in journal:
        if signer is None or not journals.check_entry(entry_record, signer):
            continue
        data = manifest_bytes(entry_record["manifest"])
        if data is None:
            continue
        try:
            plain = crypto.decrypt_bytes(data, [key.identity])
        except WrongKeyError:
            continue  # not granted to this level
        doc, _ = manifests.parse(plain, check_mac=None)
        if key.name in doc.levels and not catalog.has(doc.doc_id):
            catalog.add(doc, entry_record["manifest"])
    catalog.conn.commit()
    return catalog
