"""The catalog: an in-memory SQLite database of documents with a search index.

It never exists in plaintext on disk. ``Catalog.from_bytes`` opens a decrypted
snapshot with ``sqlite3.Connection.deserialize``; ``to_bytes`` serialises it
for encryption. Everything in it can be rebuilt from the manifests, so a
snapshot of an older schema is not migrated: ``from_bytes`` raises
``OutdatedCatalogError`` and the caller rebuilds.

    documents   one row per document (the manifest without its text), with
                its title (``vault.title``) and its family reference in the
                canonical form (``vault.family``)
    duplicates  documents dropped as copies of one already stored, and which
    pages       the OCR or embedded text of each page, as stored
    page_keys, word_index, vocabulary, vocabulary_index: the search index,
                owned by ``vault.search``

A snapshot from before titles (no ``title`` column) or before the
``duplicates`` table is brought up to date when opened: each document gets a
title made from its text, and the manifests are not rewritten.

Deleted rows are overwritten (``PRAGMA secure_delete``) and the search index
is compacted before serialising after a removal or replacement, so a snapshot
carries no trace of a removed document's text.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from vault import family, search
from vault.errors import IntegrityError
from vault.manifest import Manifest
from vault.parts import split_ref
from vault.title import make_title, title_of

# 2: the search index of vault.search instead of sqlite-utils' pages_fts
SCHEMA_VERSION = 2

_DOCUMENT_COLUMNS = {
    "id": str, "manifest": str, "original": str, "searchable": str, "name": str,
    "media_type": str, "size": int, "pages": int, "received": str, "doc_type": str,
    "family": str, "fields": str, "retention": str, "fingerprint": str, "title": str,
}  # fmt: skip


class OutdatedCatalogError(IntegrityError):
    """The snapshot was made with an older schema: rebuild it from the manifests."""


class Catalog:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.conn.execute("PRAGMA secure_delete = ON")
        import sqlite_utils  # only once a catalog is opened: `vault status` never needs it

        self.db = sqlite_utils.Database(conn)
        self._removed = False  # text was removed since the index was last compacted
        conn.create_function("family_key", 1, family.display, deterministic=True)

    @classmethod
    def new(cls) -> Catalog:
        catalog = cls(sqlite3.connect(":memory:"))
        catalog._create()
        return catalog

    @classmethod
    def from_bytes(cls, data: bytes) -> Catalog:
        conn = sqlite3.connect(":memory:")
        try:
            conn.deserialize(data)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise IntegrityError("the catalog snapshot is not a readable database") from exc
        if 0 < version < SCHEMA_VERSION:
            raise OutdatedCatalogError(
                f"the catalog snapshot has schema version {version}, "
                f"this version of vault uses {SCHEMA_VERSION}",
                hint="it is rebuilt from the manifests",
            )
        if version != SCHEMA_VERSION:
            raise IntegrityError(
                f"the catalog snapshot has unknown schema version {version}",
                hint="was it written by a newer version of vault? Upgrade vault",
            )
        catalog = cls(conn)
        catalog._bring_up_to_date()
        return catalog

    def to_bytes(self) -> bytes:
        if self._removed:
            search.compact_index(self.conn)
            self._removed = False
        self.conn.commit()
        return bytes(self.conn.serialize())

    def _create(self) -> None:
        docs = self.db["documents"]
        docs.create(_DOCUMENT_COLUMNS, pk="id")  # type: ignore[union-attr]
        docs.create_index(["fingerprint"])  # type: ignore[union-attr]
        docs.create_index(["manifest"], unique=True)  # type: ignore[union-attr]
        pages = self.db["pages"]
        pages.create({"doc_id": str, "page": int, "text": str}, pk=("doc_id", "page"))  # type: ignore[union-attr]
        search.create_index(self.conn)
        self._create_duplicates()
        self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.conn.commit()

    def _create_duplicates(self) -> None:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS duplicates (id TEXT PRIMARY KEY, duplicate_of TEXT)"
        )

    def _bring_up_to_date(self) -> None:
        """Add what snapshots from before titles and the duplicates table lack."""
        columns = {row[1] for row in self.conn.execute("PRAGMA table_info(documents)")}
        if "title" not in columns:
            self.conn.execute("ALTER TABLE documents ADD COLUMN title TEXT")
            rows = self.conn.execute(
                "SELECT id, doc_type, fields, received FROM documents"
            ).fetchall()
            for doc_id, doc_type, fields, received in rows:
                title = make_title(
                    doc_type, self.pages(doc_id), json.loads(fields or "{}"), received
                )
                self.conn.execute("UPDATE documents SET title = ? WHERE id = ?", (title, doc_id))
        self._create_duplicates()

    # --- writing -----------------------------------------------------------

    def add(self, manifest: Manifest, manifest_id: str) -> None:
        record = {
            "id": manifest.doc_id,
            "manifest": manifest_id,
            "original": manifest.original,
            "searchable": manifest.searchable,
            "name": manifest.name,
            "media_type": manifest.media_type,
            "size": manifest.size,
            "pages": manifest.pages,
            "received": manifest.received,
            "doc_type": manifest.doc_type,
            "family": family.display(manifest.family),
            "fields": json.dumps(manifest.fields, sort_keys=True),
            "retention": manifest.retention,
            "fingerprint": manifest.fingerprint,
            "title": title_of(manifest),
        }
        if self.has(manifest.doc_id):
            self.conn.execute("DELETE FROM pages WHERE doc_id = ?", (manifest.doc_id,))
            search.unindex_document(self.conn, manifest.doc_id)
            self._removed = True
        columns = ", ".join(record)
        marks = ", ".join("?" * len(record))
        self.conn.execute(
            f"INSERT OR REPLACE INTO documents ({columns}) VALUES ({marks})",  # noqa: S608
            list(record.values()),
        )
        self.conn.executemany(
            "INSERT INTO pages (doc_id, page, text) VALUES (?, ?, ?)",
            [(manifest.doc_id, n, text) for n, text in enumerate(manifest.text, 1)],
        )
        search.index_document(self.conn, manifest.doc_id, manifest.text)

    def remove(self, doc_id: str) -> bool:
        """Remove a document and its text (``to_bytes`` then compacts the
        index, so the snapshot keeps no trace of it); False if it was not here."""
        if not self.has(doc_id):
            return False
        self.conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        self.conn.execute("DELETE FROM pages WHERE doc_id = ?", (doc_id,))
        self.conn.execute("DELETE FROM duplicates WHERE duplicate_of = ?", (doc_id,))
        search.unindex_document(self.conn, doc_id)
        self._removed = True
        return True

    def note_duplicate(self, doc_id: str, duplicate_of: str) -> None:
        """Remember that ``doc_id`` was dropped as a copy of ``duplicate_of``."""
        self.conn.execute(
            "INSERT OR REPLACE INTO duplicates (id, duplicate_of) VALUES (?, ?)",
            (doc_id, duplicate_of),
        )

    # --- reading -----------------------------------------------------------

    def duplicate_of(self, doc_id: str) -> str | None:
        """The document that ``doc_id`` was dropped as a copy of, if it was."""
        row = self.conn.execute(
            "SELECT duplicate_of FROM duplicates WHERE id = ?", (doc_id,)
        ).fetchone()
        return row[0] if row else None

    def ids(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT id FROM documents")]

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM documents").fetchone()[0])

    def has(self, doc_id: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone()
            is not None
        )

    def get(self, doc_id: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM documents WHERE id = ?", [doc_id]))
        return _decode(rows[0]) if rows else None

    def documents(self) -> Iterator[dict[str, Any]]:
        for row in self.db.query("SELECT * FROM documents ORDER BY received, id"):
            yield _decode(row)

    def pages(self, doc_id: str) -> list[str]:
        return [
            row["text"]
            for row in self.db.query(
                "SELECT text FROM pages WHERE doc_id = ? ORDER BY page", [doc_id]
            )
        ]

    def by_fingerprint(self, fingerprint: str) -> str | None:
        row = self.conn.execute(
            "SELECT id FROM documents WHERE fingerprint = ?", (fingerprint,)
        ).fetchone()
        return row[0] if row else None

    def manifest_ids(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT manifest FROM documents")}

    def object_ids(self) -> set[str]:
        """Every document object the catalog names (originals, searchable PDFs)."""
        ids: set[str] = set()
        for original, searchable in self.conn.execute("SELECT original, searchable FROM documents"):
            ids.update(split_ref(original))
            if searchable:
                ids.update(split_ref(searchable))
        return ids


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["fields"] = json.loads(row["fields"] or "{}")
    row["family"] = family.display(row["family"])
    return row
