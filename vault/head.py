"""The head: what state of the catalog is the vault's, and the files that hold it.

``head.json`` names, by hash, the chain of catalog files of ``vault.chain``
(a base, ``catalog``/``index``, then the deltas since, in order), and each
access level's own catalog file (``vault.level_catalog``), with the
document count, a sequence number, the audit log's tip, the public half of
this computer's signing key (``signing.py``), and a MAC over all of it under
the key derived from the data identity. It is replaced last and atomically,
so the previous head stays valid until every file it names is durable.

Format 1 heads (earlier versions) name one catalog snapshot, a serialised
SQLite image (``catalog/<sha>.age``), and one object index (``<sha>.idx``):
they are still read; the first save writes a base in the new form.

The catalog itself lives on this computer in an encrypted database
(``vault.catalog_db``). ``open_catalog`` opens it and checks it is not older
than the head: its ``meta`` table records the state number of its last save,
and a database whose number is lower than the head's was put back from an
older copy (refused, exit 4; ``vault rebuild-catalog`` makes it again). A
higher number is a save cut short between the database and the head: the
changes the head does not cover are still in the database's ``changes``
table, and the next save writes them out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault import chain, clock, crypto, level_catalog
from vault.chain import Link
from vault.errors import IntegrityError
from vault.fsutil import atomic_write, make_private_dir, remove_quietly
from vault.keys import DataKey
from vault.level_catalog import LevelFile

if TYPE_CHECKING:  # the catalog (SQLite, search) loads only when a snapshot is opened
    from vault.catalog import Catalog
    from vault.levels import LevelKey

FORMAT = 2
FORMATS = (1, 2)
TEXTS_FLOOR = 400  # a small vault's deltas may hold this many rows whose text is in manifests
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
    # (age sha, idx sha, saves it covers) of each delta, in order
    deltas: tuple[tuple[str, str, int], ...] = ()
    format: int = FORMAT
    # each access level's own catalog file (``vault.level_catalog``)
    levels: tuple[LevelFile, ...] = ()

    def body(self) -> bytes:
        record = {**asdict(self), "audit": list(self.audit)}
        record["deltas"] = [list(link) for link in self.deltas]
        if self.signer is None:
            del record["signer"]  # a head written before signing keys keeps its MAC
        if self.format == 1:
            del record["deltas"]
        del record["levels"]
        if self.levels:  # (a head of a vault without levels keeps its MAC)
            record["levels"] = {
                entry.level: {
                    "catalog": entry.catalog,
                    "documents": entry.documents,
                    "key": entry.key,
                }
                for entry in self.levels
            }
        return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()

    def level(self, name: str) -> LevelFile | None:
        return next((entry for entry in self.levels if entry.level == name), None)

    @property
    def links(self) -> list[Link]:
        """The chain of catalog files: the base, then the deltas (format 2)."""
        return [Link(self.catalog, self.index), *(Link(a, i, n) for a, i, n in self.deltas)]

    def catalog_files(self) -> list[str]:
        """The names of every file in ``catalog/`` this head needs."""
        found = [name for link in self.links for name in link.names]
        return found + [entry.name for entry in self.levels]

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
        if record.get("format") not in FORMATS or not isinstance(mac, str):
            raise damaged
        if record["format"] == 1 and "deltas" in record:
            raise damaged
        audit = record["audit"]
        record["audit"] = (int(audit[0]), str(audit[1]))
        record["deltas"] = tuple((str(a), str(i), int(n)) for a, i, n in record.get("deltas", ()))
        record["levels"] = tuple(
            LevelFile(str(name), str(e["catalog"]), int(e["documents"]), str(e["key"]))
            for name, e in sorted(record.get("levels", {}).items())
        )
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
    """{object id: size} of every object and manifest the head's catalog names."""
    if head.format != 1:
        return chain.read_index(snapshots, head.links)
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
    """The catalog files are missing or unreadable (not tampering): rebuild it."""


def checked_head(head_path: Path, key: DataKey) -> Head:
    """The head, after checking its MAC (``SnapshotError`` when there is none)."""
    found = read_head(head_path)
    if found is None:
        raise SnapshotError("no head")
    head, mac = found
    key.check_mac(head.body(), mac, "the vault head", hint=HEAD_MAC_HINT)
    return head


def open_database(
    local: Path, key: DataKey, head: Head, *, read_only: bool, immutable: bool = False
) -> Catalog | None:
    """This computer's catalog database, checked against ``head``; None when
    there is none, or it is damaged (it is made again from the head's files).

    Raises ``IntegrityError`` when it is older than the head (put back).
    """
    from vault import catalog_db
    from vault.catalog import Catalog

    path = catalog_db.current(local)
    if path is None or not path.is_file():
        return None
    if (read_only or immutable) and catalog_db.interrupted(path):
        return None  # a save cut short that only a writer can roll back: not read as it is
    try:
        conn = catalog_db.open_database(
            path, key.catalog_key, read_only=read_only, immutable=immutable
        )
    except catalog_db.DamagedDatabase:
        return None
    try:
        catalog = Catalog.opened(conn)
        saved = catalog.saved_seq
    except IntegrityError:  # a damaged page, an unknown schema: made again
        conn.close()
        return None
    if saved == 0:
        return None  # made but never filled (a fill cut short)
    if saved < head.seq:
        raise IntegrityError(
            f"the catalog on this computer (local/{path.name}) is older than the vault's "
            f"head (state {saved}, the head is at {head.seq}): it was put back "
            "from an older copy",
            hint="'vault rebuild-catalog' makes it again from the manifests",
        )
    return catalog


def load_catalog(
    snapshots: Path, local: Path, head_path: Path, key: DataKey, vault_id: str, texts: chain.Texts
) -> tuple[Catalog, Head]:
    """The catalog the authentic head names, to read only: this computer's
    database opened read-only, else one made in memory from the head's files
    (and the manifests, through ``texts``)."""
    head = checked_head(head_path, key)
    catalog = open_database(local, key, head, read_only=True)
    if catalog is None:
        from vault.catalog import Catalog

        catalog = Catalog.new()
        fill(catalog, snapshots, head, key, vault_id, texts)
    return catalog, head


def fill(
    catalog: Catalog,
    snapshots: Path,
    head: Head,
    key: DataKey,
    vault_id: str,
    texts: chain.Texts,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Fill an empty catalog from the files ``head`` names, and commit; a
    delta's rows take their text from their manifests (``texts``: by id, None
    when missing; it raises ``IntegrityError`` for one that fails its checks).

    Raises ``SnapshotError`` when they are missing or unreadable and
    ``IntegrityError`` when one is not what the head says (tampering);
    ``chain.MissingManifestError`` when a delta's row has no manifest here
    (not a rebuild: that would leave the document out of the catalog).
    """
    if head.format == 1:
        legacy = _legacy_snapshot(snapshots, head, key)
        for record in legacy.records():
            catalog.apply(record)
    else:
        try:
            chain.apply_chain(
                snapshots, head.links, catalog, key,
                vault_id=vault_id, last_seq=head.seq, texts=texts, progress=progress,
            )  # fmt: skip
        except chain.MissingChainFile as exc:
            raise SnapshotError(str(exc)) from exc
        except IntegrityError as exc:
            if exc.hint is None:
                exc.hint = HEAD_MAC_HINT
            raise
    catalog.settle(head.seq)


def _legacy_snapshot(snapshots: Path, head: Head, key: DataKey) -> Catalog:
    from vault.catalog import Catalog

    path = snapshots / f"{head.catalog}.age"
    try:
        blob = path.read_bytes()
    except FileNotFoundError as exc:
        raise SnapshotError("catalog snapshot missing") from exc
    if hashlib.sha256(blob).hexdigest() != head.catalog:
        raise SnapshotError("catalog snapshot corrupt")
    try:
        return Catalog.from_bytes(crypto.decrypt_bytes(blob, [key.identity]))
    except IntegrityError as exc:
        raise SnapshotError("catalog snapshot unreadable") from exc


@dataclass(frozen=True)
class SaveContext:
    """What a save needs besides the catalog."""

    snapshots: Path  # catalog/
    head_path: Path
    key: DataKey
    vault_id: str
    audit_tip: tuple[int, str]
    signer: str | None
    sizes: chain.Sizes
    texts: chain.Texts  # a manifest's page text (None when it cannot be read)
    # each access level's key (``vault.level_catalog``): its catalog is saved too
    levels: Mapping[str, LevelKey] = field(default_factory=dict)


def save_catalog(
    ctx: SaveContext,
    catalog: Catalog,
    previous: Head | None,
    previous_seq: int,
    *,
    compact: bool = False,
    before_head: Callable[[], None] | None = None,
) -> Head:
    """Write what changed as a delta (or a new base: see ``vault.chain``), then the head.

    Order: the chain file, the database's record of the save (committed),
    ``before_head`` (a database made again becomes the current one), the
    head, and only then are the database's done changes and the files no
    head names any more removed.
    """
    make_private_dir(ctx.snapshots)
    seq = previous_seq + 1
    recipient = ctx.key.identity.to_public()
    removed = catalog.compact()
    links = previous.links if previous is not None and previous.format != 1 else []
    base = (
        compact
        or removed
        or not links
        or not chain.check_present(ctx.snapshots, links)
        or _deltas_too_big(ctx.snapshots, links, catalog.count())
    )
    if not base:
        changes = catalog.changes(previous.seq if previous is not None else 0)
        if changes:
            link = chain.write_delta(
                ctx.snapshots, catalog, changes, recipient, ctx.key,
                vault_id=ctx.vault_id, seq=seq, base=links[0], prev=links[-1], sizes=ctx.sizes,
                texts=ctx.texts,
            )  # fmt: skip
            try:
                links = chain.merge_tail(
                    ctx.snapshots, [*links, link], ctx.key, recipient, vault_id=ctx.vault_id
                )
            except IntegrityError:  # a delta here is damaged: the database makes a new base
                base = True
    if base:
        link = chain.write_base(
            ctx.snapshots, catalog, recipient, ctx.key,
            vault_id=ctx.vault_id, seq=seq, sizes=ctx.sizes,
        )  # fmt: skip
        links = [link]
    level_files = level_catalog.save_levels(
        ctx.snapshots, catalog, ctx.levels, recipient,
        previous.levels if previous is not None else None,
        previous.seq if previous is not None else 0,
        vault_id=ctx.vault_id, seq=seq,
    )  # fmt: skip
    catalog.mark_saved(seq)
    if before_head is not None:
        before_head()
    head = Head(
        seq=seq,
        time=clock.stamp(),
        documents=catalog.count(),
        catalog=links[0].age,
        index=links[0].idx,
        audit=ctx.audit_tip,
        signer=ctx.signer,
        deltas=tuple((link.age, link.idx, link.saves) for link in links[1:]),
        levels=level_files,
    )
    atomic_write(ctx.head_path, head_record(head, ctx.key))
    catalog.forget_saved(seq, base=base)
    keep = set(head.catalog_files())
    for old in ctx.snapshots.iterdir():
        if old.name not in keep and not old.name.startswith("."):
            remove_quietly(old)
    return head


def _deltas_too_big(snapshots: Path, links: list[Link], documents: int) -> bool:
    """The deltas are over ``COMPACT_SHARE`` of the base's bytes, or hold more
    rows whose text a recovery takes from their manifests than ``TEXTS_SHARE``
    of the documents (the next save writes a new base)."""
    base, deltas = chain.size_of(snapshots, links)
    if deltas > chain.COMPACT_SHARE * max(base, 64 * 1024):
        return True
    try:
        texts = chain.texts_of(snapshots, links)
    except (IntegrityError, ValueError, TypeError):  # a damaged index: a new base mends it
        return True
    return texts > chain.TEXTS_SHARE * max(documents, TEXTS_FLOOR)
