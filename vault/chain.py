"""The catalog as a backup holds it: a base and the deltas since, named by the head.

The catalog on this computer is a database (``vault.catalog_db``); what the
head names, and a sync sends, is a chain of write-once files in ``catalog/``,
the way restic keeps its index: a base holding every document, then one small
delta per save holding only what that save changed. A day of post adds one
delta of a few kilobytes, not a new copy of the whole catalog.

    base    <sha>.age   every document (its catalog row and page text), every
                        duplicate note, the encrypted part of every incident
                        (its notes and reason: ``vault.incidents``) and of every
                        expectation (family, sender, notes: ``vault.expected``)
            <sha>.idx   plain JSON {object id: size} of every object and manifest
                        the catalog names (what sync and verify need, no key)
    delta   <sha>.age   the documents added or changed (their catalog rows),
                        duplicate notes made or dropped, and incidents and
                        expectations recorded or changed, since the file before it
            <sha>.idx   plain JSON {"add": {object id: size}, "remove": [ids],
                        "texts": the number of rows whose text is in their manifest}

**A delta holds no page text** (format 2): each row names its manifest by
hash, and the manifest, which the remote holds anyway and a recovery brings
back before the catalog is opened, carries the text. Whoever applies a delta
takes each row's text from its manifest (``Texts``), checked against that
hash and the manifest's MAC. A row whose text is not its manifest's (none
is known; the check costs one manifest read per changed document) keeps its
text in the record. The base keeps every document's text, so a recovery
reads a manifest only for the documents changed since the base. Files of
format 1 (text in every record) are still read.

Each ``.age`` file is age-encrypted to the vault's public key and holds
zlib-compressed JSON lines: a header (``chain``: the format, ``kind``, the
vault id, the state number ``seq`` of the save that wrote it, ``prev``: the
``.age`` file before it in the chain, and for a delta its ``base``), one line
per record, and last a line with a MAC (under the key derived from the data
identity) over every line before it. Each file is named by the SHA-256 of its
bytes, and the head (itself MAC'd) lists the base and the deltas in order, so
a file that was altered, left out, put back from an older chain or moved to
another place is refused (``IntegrityError``, exit 4) before anything of it
is used.

**When a new base is written** instead of a delta: when the previous head's
files are not all here; when a document was removed (an erasure, so that no
file the head names still holds its text or row: the old base and deltas are
then deleted here at once and from a remote by the next sync's removals
step); when the deltas add up to more than ``COMPACT_SHARE`` of the base's
size, or hold more rows whose text is in a manifest than ``TEXTS_SHARE`` of
the documents (so that a recovery never reads more manifests than a rebuild
would); and when asked (``vault sync --compact``). A delta never records a removal.

**Merging.** So that the head's list, and the files a recovery reads, stay
short whatever the number of saves since the base, the newest ``MERGE``
(16) deltas are merged into one when they each cover the same number of
saves (16 single saves into one of 16, 16 of those into one of 256, …): at
most 15 deltas of each size, and each save's records are sent again once
per size they pass through. Deltas that hold more than ``MERGE_BYTES``
together are left as they are: a merge is sent whole by the next sync, and
no day's sync should carry months of records again (a day's post in two
saves of about 2.6 kB each: 16 saves merge into one of about 40 kB, and 16
of those, about 650 kB, are not merged). A merged delta holds the last
record of each document it covers; it takes the place of the ones it merges
in the chain (its ``prev`` is the file before the first of them, its ``seq``
the last one's).

A correction (``vault edit``) is a delta holding the document's new row: the
delta before it still holds the old one until it is merged or the next base
is written.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from vault import crypto
from vault.errors import IntegrityError, WrongKeyError
from vault.fsutil import commit_temp, private_temp_path, remove_quietly

if TYPE_CHECKING:
    from pyrage import x25519

    from vault.catalog import Catalog
    from vault.keys import DataKey

FORMAT = 2  # 2: delta rows without their text (taken from the manifests)
READS = (1, 2)
COMPACT_SHARE = 0.25  # deltas larger than this share of the base: a new base
# ... or holding more rows without their text than this share of the documents:
# a recovery then reads at most one manifest per document (a rebuild reads them
# all), and at 10,000 documents a new base of 14 MB comes every two and a half
# years of days like the benchmark's rather than every seven months.
TEXTS_SHARE = 1.0
MERGE = 16  # this many deltas of one size (saves covered) in a row are merged into one
MERGE_BYTES = 128 * 1024  # ... when they hold at most this much together (a sync sends it again)
_LINE_LIMIT = 64 * 1024 * 1024  # a record line longer than this is refused
_MAC = b'{"mac":'


class Keyed(Protocol):
    """What writes and reads a chain file: the key it is decrypted with and
    the key of its MAC (the data key's; an access level's for that level's
    catalog, ``vault.level_catalog``)."""

    @property
    def identity(self) -> x25519.Identity: ...

    @property
    def mac_key(self) -> bytes: ...


Sizes = Callable[[str], int]  # the size of an object or manifest file, by id
# The page text a manifest carries, by manifest id; None when it cannot be read here.
Texts = Callable[[str], "list[str] | None"]


@dataclass(frozen=True)
class Link:
    """One file of the chain: the SHA-256 of its ``.age`` and of its ``.idx``,
    and for a delta the number of saves it covers."""

    age: str
    idx: str
    saves: int = 1

    @property
    def names(self) -> tuple[str, str]:
        return f"{self.age}.age", f"{self.idx}.idx"


# --- writing ------------------------------------------------------------------


def write_base(
    folder: Path,
    catalog: Catalog,
    recipient: x25519.Recipient,
    key: DataKey,
    *,
    vault_id: str,
    seq: int,
    sizes: Sizes,
) -> Link:
    """Write a base holding every record of ``catalog``."""
    header = {"chain": FORMAT, "kind": "base", "vault": vault_id, "seq": seq, "prev": None}
    index = {object_id: sizes(object_id) for object_id in _named(catalog)}
    age = _write_records(folder, header, catalog.records(), recipient, key)
    return Link(age, _write_index(folder, index))


def write_delta(
    folder: Path,
    catalog: Catalog,
    changes: list[tuple[str, str, list[str]]],
    recipient: x25519.Recipient,
    key: DataKey,
    *,
    vault_id: str,
    seq: int,
    base: Link,
    prev: Link,
    sizes: Sizes,
    texts: Texts,
) -> Link:
    """Write a delta of ``changes`` (``Catalog.changes``: kind, id, objects before).

    A document's record holds its row and, only when its manifest (read
    through ``texts``) does not carry the same page text, the text."""
    records: list[dict[str, Any]] = []
    added: dict[str, int] = {}
    removed: set[str] = set()
    for kind, item, before in changes:
        if kind == "doc":
            record = catalog.record(item)
            if record is None:
                raise ValueError("a removal is written as a new base, never as a delta")
            if texts(str(record["doc"]["manifest"])) == record["text"]:
                del record["text"]
            records.append(record)
            after = set(catalog.objects_of(item))
            removed.update(set(before) - after)
            for object_id in sorted(after - set(before)):
                added[object_id] = sizes(object_id)
        elif kind == "incident":
            incident = catalog.incident(item)
            if incident is not None:  # never removed: always there
                records.append({"incident": incident})
        elif kind == "expectation":
            expected = catalog.expectation(item)
            if expected is not None:  # never removed: always there
                records.append({"expectation": expected})
        else:
            of = catalog.duplicate_of(item)
            records.append({"dup": [item, of]} if of is not None else {"undup": item})
    header = {
        "chain": FORMAT, "kind": "delta", "vault": vault_id, "seq": seq,
        "prev": prev.age, "base": base.age,
    }  # fmt: skip
    age = _write_records(folder, header, iter(records), recipient, key)
    index = {"add": added, "remove": sorted(removed - set(added)), "texts": _texts(records)}
    return Link(age, _write_index(folder, index))


def _texts(records: Iterable[dict[str, Any]]) -> int:
    """How many document records take their text from their manifest."""
    return sum(1 for record in records if "doc" in record and "text" not in record)


def merge_tail(
    folder: Path, links: list[Link], key: DataKey, recipient: x25519.Recipient, *, vault_id: str
) -> list[Link]:
    """``links`` with its newest deltas merged while ``MERGE`` of one size end it
    and hold at most ``MERGE_BYTES`` together."""
    while (
        len(links) > MERGE
        and len({link.saves for link in links[-MERGE:]}) == 1
        and _bytes_of(folder, links[-MERGE:]) <= MERGE_BYTES
    ):
        group, before = links[-MERGE:], links[-MERGE - 1]
        links = [*links[:-MERGE], _merge(folder, group, before, links[0], key, recipient, vault_id)]
    return links


def _bytes_of(folder: Path, links: list[Link]) -> int:
    return sum((folder / name).stat().st_size for link in links for name in link.names)


def _merge(
    folder: Path,
    group: list[Link],
    before: Link,
    base: Link,
    key: DataKey,
    recipient: x25519.Recipient,
    vault_id: str,
) -> Link:
    records: dict[tuple[str, str], dict[str, Any]] = {}
    last_seq = 0

    def keep(record: dict[str, Any]) -> None:
        if "doc" in record:
            records[("doc", str(record["doc"]["id"]))] = record
        elif "dup" in record:
            records[("dup", str(record["dup"][0]))] = record
        elif "undup" in record:
            records[("dup", str(record["undup"]))] = record
        elif "incident" in record and isinstance(record["incident"], dict):
            records[("incident", str(record["incident"].get("id")))] = record
        elif "expectation" in record and isinstance(record["expectation"], dict):
            records[("expectation", str(record["expectation"].get("id")))] = record
        else:
            raise IntegrityError("a catalog delta holds a record of an unknown kind")

    index: dict[str, int | None] = {}  # object id: size added, or None: removed
    for link in group:
        header = read_records(folder / f"{link.age}.age", link.age, key, keep)
        last_seq = int(header["seq"])
        found = json.loads(_checked(folder / f"{link.idx}.idx", link.idx, "object index"))
        for object_id, size in found["add"].items():
            index[object_id] = int(size)
        for object_id in found["remove"]:
            index[object_id] = None
    header = {
        "chain": FORMAT, "kind": "delta", "vault": vault_id, "seq": last_seq,
        "prev": before.age, "base": base.age,
    }  # fmt: skip
    age = _write_records(folder, header, iter(records.values()), recipient, key)
    merged = {
        "add": {i: size for i, size in index.items() if size is not None},
        "remove": sorted(i for i, size in index.items() if size is None),
        "texts": _texts(records.values()),
    }
    return Link(age, _write_index(folder, merged), sum(link.saves for link in group))


def _named(catalog: Catalog) -> list[str]:
    return sorted(catalog.object_ids() | catalog.manifest_ids())


def _write_index(folder: Path, index: dict[str, Any]) -> str:
    data = json.dumps(index, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(data).hexdigest()
    tmp = private_temp_path(folder)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        commit_temp(tmp, folder / f"{digest}.idx")
    finally:
        remove_quietly(tmp)
    return digest


class _Lines(io.RawIOBase):
    """The compressed plaintext of a chain file, made as age reads it."""

    def __init__(self, header: dict[str, Any], records: Iterator[dict[str, Any]], key: Keyed):
        self._lines = self._all(header, records, key)
        self._compress = zlib.compressobj(6)
        self._buffer = b""
        self._done = False

    @staticmethod
    def _all(
        header: dict[str, Any], records: Iterator[dict[str, Any]], key: Keyed
    ) -> Iterator[bytes]:
        mac = hmac.new(key.mac_key, digestmod=hashlib.sha256)
        line = _line(header)
        mac.update(line)
        yield line
        for record in records:
            line = _line(record)
            mac.update(line)
            yield line
        yield _line({"mac": mac.hexdigest()})

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._buffer and not self._done:
            chunk = b"".join(_take(self._lines, 256))
            if chunk:
                self._buffer = self._compress.compress(chunk)
            else:
                self._buffer = self._compress.flush()
                self._done = True
        size = min(len(buffer), len(self._buffer))
        buffer[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def _take(lines: Iterator[bytes], count: int) -> Iterator[bytes]:
    for _, line in zip(range(count), lines, strict=False):
        yield line


def _line(item: dict[str, Any]) -> bytes:
    text = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode() + b"\n"


class _Hashing(io.RawIOBase):
    def __init__(self, f: Any) -> None:
        self._f = f
        self.sha = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.sha.update(data)
        self._f.write(data)
        return len(data)


def _write_records(
    folder: Path,
    header: dict[str, Any],
    records: Iterator[dict[str, Any]],
    recipient: x25519.Recipient,
    key: Keyed,
    *,
    also: Sequence[x25519.Recipient] = (),
) -> str:
    """Write a chain file to ``recipient`` (and ``also``); its SHA-256."""
    tmp = private_temp_path(folder)
    try:
        with open(tmp, "wb") as f:
            out = _Hashing(f)
            crypto.encrypt_stream(
                io.BufferedReader(_Lines(header, records, key), 1024 * 1024),
                out,  # type: ignore[arg-type]
                [recipient, *also],
            )
        digest = out.sha.hexdigest()
        commit_temp(tmp, folder / f"{digest}.age")
    finally:
        remove_quietly(tmp)
    return digest


# --- reading ------------------------------------------------------------------


def read_index(folder: Path, links: Iterable[Link]) -> dict[str, int]:
    """{object id: size} of everything the chain names (no key needed)."""
    index: dict[str, int] = {}
    for n, link in enumerate(links):
        data = _checked(folder / f"{link.idx}.idx", link.idx, "object index")
        try:
            found = json.loads(data)
            if n == 0:
                index = {str(k): int(v) for k, v in found.items()}
                continue
            index.update({str(k): int(v) for k, v in found["add"].items()})
            for object_id in found["remove"]:
                index.pop(str(object_id), None)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IntegrityError("an object index of the catalog is malformed") from exc
    return index


def _checked(path: Path, digest: str, what: str) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise MissingChainFile(f"the {what} named by the head is missing") from exc
    if hashlib.sha256(data).hexdigest() != digest:
        raise IntegrityError(f"catalog/{path.name} does not match the head (corrupt or replaced)")
    return data


class MissingChainFile(IntegrityError):
    """A file the head names is not there (not tampering: fetch or rebuild)."""


class MissingManifestError(IntegrityError):
    """The manifest a delta's row takes its text from is not there: the
    catalog is not rebuilt without it (the document would silently leave the
    catalog, and with the next sync the backup); fetch it, or rebuild on purpose."""


def check_present(folder: Path, links: Iterable[Link]) -> bool:
    return all((folder / name).is_file() for link in links for name in link.names)


def _check_hash(path: Path, digest: str) -> None:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            sha.update(chunk)
    if sha.hexdigest() != digest:
        raise IntegrityError(f"catalog/{digest}.age does not match the head (corrupt or replaced)")


class _Reader(io.RawIOBase):
    """Takes the decrypted bytes of a chain file and hands out whole records."""

    def __init__(self, key: Keyed, apply: Callable[[dict[str, Any]], None]) -> None:
        self._decompress = zlib.decompressobj()
        self._mac = hmac.new(key.mac_key, digestmod=hashlib.sha256)
        self._key = key
        self._apply = apply
        self._pending = b""
        self.header: dict[str, Any] | None = None
        self.authentic = False
        self.error: Exception | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.error is None:
            try:
                self._take(self._decompress.decompress(bytes(data)))
            except (IntegrityError, ValueError, zlib.error) as exc:
                self.error = exc
        return len(data)

    def _take(self, data: bytes) -> None:
        self._pending += data
        if len(self._pending) > _LINE_LIMIT:
            raise IntegrityError("a catalog record is too long")
        *lines, self._pending = self._pending.split(b"\n")
        for raw in lines:
            line = raw + b"\n"
            if self.authentic:
                raise IntegrityError("a catalog file goes on after its MAC")
            if line.startswith(_MAC):
                mac = json.loads(line).get("mac")
                if not isinstance(mac, str) or not hmac.compare_digest(mac, self._mac.hexdigest()):
                    raise IntegrityError("a catalog file's MAC does not match")
                self.authentic = True
                continue
            self._mac.update(line)
            item = json.loads(line)
            if not isinstance(item, dict):
                raise IntegrityError("a catalog record is malformed")
            if self.header is None:
                self.header = item
            else:
                self._apply(item)

    def finish(self) -> None:
        if self.error is None:
            try:
                self._take(self._decompress.flush())
                if self._pending:
                    raise IntegrityError("a catalog file ends inside a record")
            except (IntegrityError, ValueError, zlib.error) as exc:
                self.error = exc
        if self.error is not None:
            if isinstance(self.error, IntegrityError):
                raise self.error
            raise IntegrityError(f"a catalog file is malformed ({self.error})")
        if not self.authentic:
            raise IntegrityError("a catalog file has no MAC (it was cut short or forged)")


def read_records(
    path: Path,
    digest: str,
    key: Keyed,
    apply: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """Decrypt chain file ``path``, check it, and hand each record to ``apply``.

    Records reach ``apply`` before the MAC at the end is checked: apply them
    inside a transaction and commit only once this returns. Returns the header.
    """
    _check_hash(path, digest)  # before a byte is decrypted or decompressed
    reader = _Reader(key, apply)
    with open(path, "rb") as f:
        try:
            crypto.decrypt_stream(f, reader, [key.identity])
        except (IntegrityError, WrongKeyError) as exc:  # the key opened the head: not the key
            raise IntegrityError(
                f"catalog/{digest}.age cannot be decrypted ({exc.message})"
            ) from None
    reader.finish()
    assert reader.header is not None
    return reader.header


class Applies(Protocol):
    """What records are applied to: a ``Catalog``, or what recovery gathers."""

    def apply(self, record: dict[str, Any]) -> None: ...


class _WithText:
    """Hands records on, a delta's row with its manifest's page text.

    A row whose manifest is not here is handed on without text and noted:
    a later record of the document (an edit removes the manifest an earlier
    row names) takes its place; one still noted at the end (``finish``) is a
    document the catalog would hold without its text."""

    def __init__(self, catalog: Applies, texts: Texts) -> None:
        self._catalog = catalog
        self._texts = texts
        self._missing: dict[str, str] = {}  # document id: its manifest, not here

    def apply(self, record: dict[str, Any]) -> None:
        row = record.get("doc")
        if row is not None:
            self._missing.pop(str(row.get("id")) if isinstance(row, dict) else "", None)
            if "text" not in record:
                manifest = row.get("manifest") if isinstance(row, dict) else None
                if not isinstance(manifest, str):
                    raise IntegrityError("a catalog record is malformed")
                doc_id = str(row.get("id"))
                text = self._texts(manifest)
                if text is None:
                    self._missing[doc_id] = manifest
                record = {**record, "text": text or []}
        elif "gone" in record:
            self._missing.pop(str(record["gone"]), None)
        self._catalog.apply(record)

    def finish(self) -> None:
        for doc_id, manifest in sorted(self._missing.items()):
            raise MissingManifestError(
                f"the manifest {manifest[:12]} of document {doc_id} is missing "
                "(the catalog takes the document's page text from it)",
                hint="'vault verify' names what is missing and 'vault repair NAME' brings it "
                "back from a backup; 'vault rebuild-catalog' rebuilds the catalog without "
                "that document",
            )


def apply_chain(
    folder: Path,
    links: list[Link],
    catalog: Applies,
    key: DataKey,
    *,
    vault_id: str | None,
    last_seq: int,
    texts: Texts | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Apply the base and the deltas ``links`` names to ``catalog``, in order,
    checking each file's hash, MAC, place in the chain and state number.
    Returns the vault id the chain carries: ``vault_id``, or with None, the
    base's (every delta must carry the same).
    With ``texts``, a delta's row gets its manifest's text (``MissingManifestError``
    when a document's last row names one not here); without, records are
    applied as they are.
    Nothing is committed: the caller commits once this returns."""
    with_text = _WithText(catalog, texts) if texts is not None else None
    if with_text is not None:
        catalog = with_text
    prev: str | None = None
    seq = 0
    for n, link in enumerate(links):
        if not (folder / f"{link.age}.age").is_file():
            raise MissingChainFile("a catalog file named by the head is missing")
        header = read_records(folder / f"{link.age}.age", link.age, key, catalog.apply)
        kind = "base" if n == 0 else "delta"
        if vault_id is None and n == 0 and isinstance(header.get("vault"), str):
            vault_id = header["vault"]
        if (
            header.get("chain") not in READS
            or header.get("kind") != kind
            or header.get("vault") != vault_id
            or header.get("prev") != prev
            or (n > 0 and header.get("base") != links[0].age)
            or not isinstance(header.get("seq"), int)
            or not seq < header["seq"] <= last_seq
        ):
            raise IntegrityError(
                f"catalog file {link.age[:12]} is out of its place in the chain "
                "(a file left out, reordered or put back from an older backup)"
            )
        prev, seq = link.age, header["seq"]
        if progress:
            progress(n + 1, len(links))
    if with_text is not None:
        with_text.finish()
    return vault_id or ""


def texts_of(folder: Path, links: Iterable[Link]) -> int:
    """Rows whose text is in their manifest, in the deltas of ``links`` present
    here (what a recovery reads manifests for). 0 for the base and format 1."""
    count = 0
    for link in list(links)[1:]:
        found = json.loads(_checked(folder / f"{link.idx}.idx", link.idx, "object index"))
        count += int(found.get("texts", 0)) if isinstance(found, dict) else 0
    return count


def size_of(folder: Path, links: Iterable[Link]) -> tuple[int, int]:
    """(bytes of the base, bytes of the deltas) of ``.age`` files present here."""
    sizes = [os.stat(folder / f"{link.age}.age").st_size for link in links]
    return (sizes[0], sum(sizes[1:])) if sizes else (0, 0)
