"""Saved state of the catalog: encrypted snapshot, object index and the head.

- ``snapshots/<sha256>.age``: the catalog, serialised and age-encrypted.
- ``snapshots/<sha256>.idx``: plain JSON ``{object id: size}`` of every
  object and manifest the catalog names: ids and sizes only, so verification
  and sync can check completeness without a key.
- ``head.json``: names both by hash, with the document count, a sequence
  number, the audit log's tip, the public half of this computer's signing key
  (``signing.py``), and a MAC over all of it under the key derived from the
  data identity. It is replaced last and atomically, so the previous
  head stays valid until the new snapshot is durable.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault import clock, crypto
from vault.errors import IntegrityError
from vault.fsutil import atomic_write, make_private_dir, remove_quietly
from vault.keys import DataKey

if TYPE_CHECKING:  # the catalog (SQLite, search) loads only when a snapshot is opened
    from vault.catalog import Catalog

FORMAT = 1
HEAD_MAC_HINT = (
    "it was altered or not written by this vault: run 'vault rebuild-catalog' to rebuild "
    "the catalog from the manifests, then 'vault verify'"
)


@dataclass(frozen=True)
class Head:
    seq: int
    time: str
    documents: int
    catalog: str
    index: str
    audit: tuple[int, str]
    signer: str | None = None  # public half of the installation signing key (signing.py)

    def body(self) -> bytes:
        record = {"format": FORMAT, **asdict(self), "audit": list(self.audit)}
        if self.signer is None:
            del record["signer"]  # a head written before signing keys keeps its MAC
        return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()

    @property
    def short(self) -> str:
        """A short hash of the head, for committee minutes."""
        return hashlib.sha256(self.body()).hexdigest()[:12]


def read_head(path: Path) -> tuple[Head, str] | None:
    """The head and its MAC, unverified (what keyless commands can know)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        data = b""  # a folder in its place: as damaged as a garbled file
    return parse_head(data)


def parse_head(data: bytes) -> tuple[Head, str]:
    """A head record (head.json or a copy of it) and its MAC, unverified."""
    damaged = IntegrityError(
        "the vault head file is damaged",
        hint="'vault rebuild-catalog' rebuilds it from the manifests",
    )
    try:
        record: dict[str, Any] = json.loads(data)
        mac = record.pop("mac")
        if record.pop("format") != FORMAT or not isinstance(mac, str):
            raise damaged
        audit = record["audit"]
        record["audit"] = (int(audit[0]), str(audit[1]))
        head = Head(**record)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise damaged from exc
    if not isinstance(head.seq, int) or isinstance(head.seq, bool):
        raise damaged
    return head, mac


def head_record(head: Head, key: DataKey) -> bytes:
    """The bytes of head.json for ``head``: its fields and their MAC."""
    record = json.loads(head.body())
    record["mac"] = key.mac(head.body())
    return json.dumps(record, indent=2, sort_keys=True).encode()


def is_authentic(head: Head, mac: str, key: DataKey) -> bool:
    try:
        key.check_mac(head.body(), mac, "the vault head")
    except IntegrityError:
        return False
    return True


def read_index(snapshots: Path, head: Head) -> dict[str, int]:
    path = snapshots / f"{head.index}.idx"
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise IntegrityError("the object index named by the head is missing") from exc
    if hashlib.sha256(data).hexdigest() != head.index:
        raise IntegrityError("the object index is corrupt")
    index: dict[str, int] = json.loads(data)
    return index


class SnapshotError(Exception):
    """The snapshot is missing or unreadable (not tampering): rebuild it."""


def load_catalog(snapshots: Path, head_path: Path, key: DataKey) -> tuple[Catalog, Head]:
    """Open the catalog the head names, after checking the head's MAC.

    Raises ``IntegrityError`` when the head is not authentic (tampering or
    rollback by someone without the key) and ``SnapshotError`` when the
    snapshot is missing or unreadable, which a rebuild from manifests mends.
    """
    found = read_head(head_path)
    if found is None:
        raise SnapshotError("no head")
    head, mac = found
    key.check_mac(head.body(), mac, "the vault head", hint=HEAD_MAC_HINT)
    from vault.catalog import Catalog

    path = snapshots / f"{head.catalog}.age"
    try:
        blob = path.read_bytes()
    except FileNotFoundError as exc:
        raise SnapshotError("catalog snapshot missing") from exc
    if hashlib.sha256(blob).hexdigest() != head.catalog:
        raise SnapshotError("catalog snapshot corrupt")
    try:
        return Catalog.from_bytes(crypto.decrypt_bytes(blob, [key.identity])), head
    except IntegrityError as exc:
        raise SnapshotError("catalog snapshot unreadable") from exc


def save_catalog(
    snapshots: Path,
    head_path: Path,
    catalog: Catalog,
    index: dict[str, int],
    key: DataKey,
    audit_tip: tuple[int, str],
    previous_seq: int,
    signer: str | None = None,
) -> Head:
    make_private_dir(snapshots)
    blob = crypto.encrypt_bytes(catalog.to_bytes(), [key.identity.to_public()])
    catalog_id = hashlib.sha256(blob).hexdigest()
    atomic_write(snapshots / f"{catalog_id}.age", blob)
    index_bytes = json.dumps(index, sort_keys=True, separators=(",", ":")).encode()
    index_id = hashlib.sha256(index_bytes).hexdigest()
    atomic_write(snapshots / f"{index_id}.idx", index_bytes)
    head = Head(
        seq=previous_seq + 1,
        time=clock.stamp(),
        documents=catalog.count(),
        catalog=catalog_id,
        index=index_id,
        audit=audit_tip,
        signer=signer,
    )
    atomic_write(head_path, head_record(head, key))
    keep = {f"{catalog_id}.age", f"{index_id}.idx"}
    for old in snapshots.iterdir():
        if old.name not in keep and not old.name.startswith("."):
            remove_quietly(old)
    return head
