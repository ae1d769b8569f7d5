"""The catalog: an in-memory SQLite database of documents with an FTS5 index.

It never exists in plaintext on disk. ``Catalog.from_bytes`` opens a decrypted
snapshot with ``sqlite3.Connection.deserialize``; ``to_bytes`` serialises it
for encryption. Everything in it can be rebuilt from the manifests.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import sqlite_utils

from vault.errors import IntegrityError
from vault.manifest import Manifest

SCHEMA_VERSION = 1

_DOCUMENT_COLUMNS = {
    "id": str, "manifest": str, "original": str, "searchable": str, "name": str,
    "media_type": str, "size": int, "pages": int, "received": str, "doc_type": str,
    "family": str, "fields": str, "retention": str, "fingerprint": str,
}  # fmt: skip


class Catalog:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.db = sqlite_utils.Database(conn)

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
        if version != SCHEMA_VERSION:
            raise IntegrityError(f"the catalog snapshot has unknown schema version {version}")
        return cls(conn)

    def to_bytes(self) -> bytes:
        self.conn.commit()
        return bytes(self.conn.serialize())

    def _create(self) -> None:
        docs = self.db["documents"]
        docs.create(_DOCUMENT_COLUMNS, pk="id")  # type: ignore[union-attr]
        docs.create_index(["fingerprint"])  # type: ignore[union-attr]
        docs.create_index(["manifest"], unique=True)  # type: ignore[union-attr]
        pages = self.db["pages"]
        pages.create({"doc_id": str, "page": int, "text": str}, pk=("doc_id", "page"))  # type: ignore[union-attr]
        pages.enable_fts(["text"], create_triggers=True)  # type: ignore[union-attr]
        self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.conn.commit()

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
            "family": manifest.family,
            "fields": json.dumps(manifest.fields, sort_keys=True),
            "retention": manifest.retention,
            "fingerprint": manifest.fingerprint,
        }
        self.db["documents"].insert(record, replace=True)  # type: ignore[union-attr]
        self.conn.execute("DELETE FROM pages WHERE doc_id = ?", (manifest.doc_id,))
        self.db["pages"].insert_all(  # type: ignore[union-attr]
            {"doc_id": manifest.doc_id, "page": n, "text": text}
            for n, text in enumerate(manifest.text, 1)
        )

    # --- reading -----------------------------------------------------------

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
            ids.add(original)
            if searchable:
                ids.add(searchable)
        return ids


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["fields"] = json.loads(row["fields"] or "{}")
    return row
