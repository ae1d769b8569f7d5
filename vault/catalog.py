"""The catalog: a SQLite database of documents with a search index.

It never exists in plaintext on disk. On this computer it is the encrypted
database ``local/catalog.db`` (``vault.catalog_db``); what a remote holds is
the chain of age files ``vault.chain`` writes from it (every document as a
record, then the records changed since). ``Catalog.new`` makes one in
memory (a rebuild, a test). ``Catalog.from_bytes`` opens a decrypted
snapshot of the single-file form earlier versions saved (head format 1), to
copy it into the database once; one of an older schema raises
``OutdatedCatalogError`` and the caller rebuilds from the manifests.

    documents   one row per document (the manifest without its text), with
                its title (``vault.title``) and its family reference in the
                canonical form (``vault.family``)
                and, for an e-mail, the ids of its attachments (a JSON list);
                the access levels it is granted to besides ``full`` (``levels``,
                a JSON list, ``vault.levels``)
    attached    each attachment's e-mail (attachment, email): the way back,
                made from the e-mails' rows whenever one is put or removed, so
                that whatever fills the catalog (a fold, a rebuild from the
                manifests, a chain applied) fills it too
    duplicates  documents dropped as copies of one already stored, and which
    incidents   the encrypted part of each data breach recorded (``vault.incidents``):
                its notes and the reason it was judged not reportable (the plain
                part, kind and times, is in the audit log)
    expectations the encrypted part of each document expected by post
                (``vault.expected``): its family, sender and notes, and whether
                it is still awaited (a hint for the fold; the plain part, type,
                due day and state, is in the audit log)
    pages       the OCR or embedded text of each page, as stored
    page_keys, word_index, vocabulary, vocabulary_index: the search index,
                owned by ``vault.search``
    meta        the state number of the last save (``seq``), whether a
                document was removed since the last base (``removed``)
    changes     each document (``doc``), duplicate note (``dup``), incident
                (``incident``) or expectation (``expectation``) changed
                since the last chain file, with the objects it named before
                (``before``) and the save that wrote it (``seq``, until the
                head naming that save is written: see ``vault.head``)

A document split from a batch scan names the batch's own object in
``batch`` (JSON: ``vault.manifest.batch_ref``); several documents may name
the same one, and it is kept while any does.

A snapshot from before titles (no ``title`` column), before ``batch`` or
``levels``, before
e-mails (no ``attachments`` column, no ``attached`` table), or before the
``duplicates``, ``incidents`` or ``expectations`` table is brought up to date when opened: each
document gets a title made from its text, and the manifests are not rewritten.

Deleted rows are overwritten (``PRAGMA secure_delete``) and, after a
removal, the search index is compacted and the database's log emptied at the
next save (``compact``), so no trace of a removed document's text is left.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from vault import best_pages, family, search
from vault.errors import IntegrityError
from vault.manifest import Manifest, batch_ref
from vault.parts import split_ref
from vault.title import make_title, title_of

# 2: the search index of vault.search instead of sqlite-utils' pages_fts
# 3: no index on the manifest column (nothing looks a document up by it, and
#    each new document wrote a leaf of it at a random place: see README,
#    "What a fold writes")
SCHEMA_VERSION = 3

_DOCUMENT_COLUMNS = {
    "id": str, "manifest": str, "original": str, "searchable": str, "name": str,
    "media_type": str, "size": int, "pages": int, "received": str, "doc_type": str,
    "family": str, "fields": str, "retention": str, "fingerprint": str, "title": str,
    "attachments": str,
    "batch": str,
    "levels": str,
}  # fmt: skip


class OutdatedCatalogError(IntegrityError):
    """The snapshot was made with an older schema: rebuild it from the manifests."""


class Catalog:
    def __init__(self, conn: Any) -> None:
        self._conn = conn  # sqlite3 (in memory) or catalog_db.Connection (on disk)
        self._unflushed = False  # see ``conn``
        self._conn.execute("PRAGMA secure_delete = ON")
        conn.create_function("family_key", 1, family.display, deterministic=True)

    @property
    def conn(self) -> Any:
        """The database, to be read beyond this class (``vault.search``).

        FTS5 keeps what is indexed in a transaction in memory and writes it
        out as one new segment of the search index at the commit, or at any
        savepoint; until then its totals on disk (which ``vault.relevance``
        reads) are those of before. So the documents a save puts are written
        out once, here, when the database is read after them without a
        commit, not once per document (each a segment to write and merge)."""
        if self._unflushed:
            self._conn.execute("SAVEPOINT index_written")
            self._conn.execute("RELEASE index_written")
            self._unflushed = False
        return self._conn

    @classmethod
    def new(cls) -> Catalog:
        """An empty catalog in memory."""
        return cls.opened(sqlite3.connect(":memory:"))

    @classmethod
    def opened(cls, conn: Any) -> Catalog:
        """The catalog in database ``conn``, made there when it is empty."""
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise IntegrityError("the catalog is not a readable database") from exc
        catalog = cls(conn)
        if version == 0:
            catalog._create()
            return catalog
        _check_version(version)
        catalog._bring_up_to_date()
        return catalog

    @classmethod
    def from_bytes(cls, data: bytes) -> Catalog:
        """A catalog snapshot of head format 1, opened in memory."""
        conn = sqlite3.connect(":memory:")
        try:
            conn.deserialize(data)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise IntegrityError("the catalog snapshot is not a readable database") from exc
        _check_version(version)
        catalog = cls(conn)
        catalog._bring_up_to_date()
        return catalog

    def to_bytes(self) -> bytes:
        """The catalog as one SQLite image (a catalog in memory only)."""
        self.compact()
        self._conn.commit()
        return bytes(self._conn.serialize())

    def _create(self) -> None:
        columns = ", ".join(
            f"{name} {'INTEGER' if kind is int else 'TEXT'}"
            + (" PRIMARY KEY" if name == "id" else "")
            for name, kind in _DOCUMENT_COLUMNS.items()
        )
        self._conn.execute(f"CREATE TABLE documents ({columns})")
        self._conn.execute("CREATE INDEX idx_documents_fingerprint ON documents (fingerprint)")
        self._create_filter_indexes()
        self._conn.execute(
            "CREATE TABLE pages (doc_id TEXT, page INTEGER, text TEXT, PRIMARY KEY (doc_id, page))"
        )
        search.create_index(self._conn)
        self._create_attached()
        self._create_duplicates()
        self._create_incidents()
        self._create_expectations()
        self._create_bookkeeping()
        self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._conn.commit()

    def _create_attached(self) -> None:
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS attached"
            " (attachment TEXT, email TEXT, PRIMARY KEY (attachment, email))"
        )
        self._conn.execute("CREATE INDEX IF NOT EXISTS idx_attached_email ON attached (email)")

    def _has_table(self, name: str) -> bool:
        return (
            self._conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).fetchone()
            is not None
        )

    def _create_duplicates(self) -> None:
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS duplicates (id TEXT PRIMARY KEY, duplicate_of TEXT)"
        )

    def _create_incidents(self) -> None:
        # notes: a JSON list of {"time", "text"}; partial: 1 when the row was
        # made for an incident whose earlier notes this catalog never held
        # (it was rebuilt from the manifests, which do not carry them)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS incidents"
            " (id TEXT PRIMARY KEY, notes TEXT, reason TEXT, partial INTEGER)"
        )

    def _create_expectations(self) -> None:
        # notes: a JSON list of {"time", "kind", "text"}; open: 1 while awaited
        # (the audit log says for sure); partial: as for incidents
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS expectations"
            " (id TEXT PRIMARY KEY, family TEXT, sender TEXT, notes TEXT, open INTEGER,"
            " partial INTEGER)"
        )

    def _has_batch_column(self) -> bool:
        if not hasattr(self, "_batch_column"):
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(documents)")}
            self._batch_column = "batch" in columns
        return self._batch_column

    def _has_levels_column(self) -> bool:
        if not hasattr(self, "_levels_column"):
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(documents)")}
            self._levels_column = "levels" in columns
        return self._levels_column

    def _objects_sql(self) -> str:
        return "manifest, original, searchable" + (", batch" if self._has_batch_column() else "")

    def _has_incidents(self) -> bool:
        return (
            self._conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'incidents'"
            ).fetchone()
            is not None
        )

    def _create_bookkeeping(self) -> None:
        self._conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS changes (kind TEXT, id TEXT, before TEXT, seq INTEGER,"
            " PRIMARY KEY (kind, id))"
        )

    def _create_filter_indexes(self) -> None:
        """What a list or search narrowed by type or dates reads instead of every row."""
        self._conn.execute(
            "CREATE INDEX IF NOT EXISTS idx_documents_type_received"
            " ON documents (doc_type, received)"
        )
        self._conn.execute(
            "CREATE INDEX IF NOT EXISTS idx_documents_received ON documents (received)"
        )

    def _bring_up_to_date(self) -> None:
        """Add what snapshots from before titles and the duplicates table lack."""
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(documents)")}
        if "title" not in columns:
            self._conn.execute("ALTER TABLE documents ADD COLUMN title TEXT")
            rows = self._conn.execute(
                "SELECT id, doc_type, fields, received FROM documents"
            ).fetchall()
            for doc_id, doc_type, fields, received in rows:
                title = make_title(
                    doc_type, self.pages(doc_id), json.loads(fields or "{}"), received
                )
                self._conn.execute("UPDATE documents SET title = ? WHERE id = ?", (title, doc_id))
        if "batch" not in columns:
            with contextlib.suppress(OSError):  # a database that cannot be written: read as it is
                self._conn.execute("ALTER TABLE documents ADD COLUMN batch TEXT")
        if "levels" not in columns:
            with contextlib.suppress(OSError):  # a database that cannot be written: read as it is
                self._conn.execute("ALTER TABLE documents ADD COLUMN levels TEXT")
        self._create_duplicates()
        self._create_bookkeeping()
        if "attachments" not in columns or not self._has_table("attached"):
            with contextlib.suppress(OSError):  # a database that cannot be written: read as it is
                if "attachments" not in columns:
                    self._conn.execute("ALTER TABLE documents ADD COLUMN attachments TEXT")
                self._create_attached()
        if not self._has_incidents():
            with contextlib.suppress(OSError):  # a database that cannot be written: read as it is
                self._create_incidents()
        if not self._has_table("expectations"):
            with contextlib.suppress(OSError):  # a database that cannot be written: read as it is
                self._create_expectations()
        if not self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'idx_documents_received'"
        ).fetchone():
            with contextlib.suppress(OSError):  # a database that cannot be written: read as it is
                self._create_filter_indexes()
        if not self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'best_made'"
        ).fetchone():
            with contextlib.suppress(OSError):
                best_pages.create(self._conn)

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
            "attachments": json.dumps(manifest.attachments) if manifest.attachments else None,
            "batch": None if manifest.batch is None else json.dumps(manifest.batch, sort_keys=True),
            "levels": json.dumps(sorted(manifest.levels)) if manifest.levels else None,
        }
        self.put(record, manifest.text)

    def put(self, record: dict[str, Any], text: list[str]) -> None:
        """Add or replace one document: its ``documents`` row and page text."""
        doc_id = record["id"]
        self._note_change("doc", doc_id)
        if self.has(doc_id):
            self._conn.execute("DELETE FROM pages WHERE doc_id = ?", (doc_id,))
            search.unindex_document(self._conn, doc_id)
        row = {name: record.get(name) for name in _DOCUMENT_COLUMNS}
        if not self._has_batch_column():
            del row["batch"]
        if not self._has_levels_column():
            del row["levels"]
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        self._conn.execute(
            f"INSERT OR REPLACE INTO documents ({columns}) VALUES ({marks})",  # noqa: S608
            list(row.values()),
        )
        self._conn.executemany(
            "INSERT INTO pages (doc_id, page, text) VALUES (?, ?, ?)",
            [(doc_id, n, page) for n, page in enumerate(text, 1)],
        )
        search.index_document(self._conn, doc_id, text)
        self._conn.execute("DELETE FROM attached WHERE email = ?", (doc_id,))
        self._conn.executemany(
            "INSERT OR IGNORE INTO attached (attachment, email) VALUES (?, ?)",
            [(attachment, doc_id) for attachment in _ids(row["attachments"])],
        )
        self._unflushed = True

    def rewritten(self, manifest: Manifest, manifest_id: str) -> None:
        """A document whose files were written again (``vault.access``: its
        manifest, objects and levels change; its details and text do not):
        its row updated, its text and search index left as they are."""
        doc_id = manifest.doc_id
        row = self.get(doc_id)
        if row is None or row["title"] != title_of(manifest) or row["size"] != manifest.size:
            self.add(manifest, manifest_id)  # not the document it was: put whole
            return
        self._note_change("doc", doc_id)
        columns = {
            "manifest": manifest_id,
            "original": manifest.original,
            "searchable": manifest.searchable,
        }
        if self._has_levels_column():
            columns["levels"] = json.dumps(sorted(manifest.levels)) if manifest.levels else None
        sets = ", ".join(f"{name} = ?" for name in columns)
        self._conn.execute(
            f"UPDATE documents SET {sets} WHERE id = ?",  # noqa: S608
            [*columns.values(), doc_id],
        )

    def remove(self, doc_id: str) -> bool:
        """Remove a document and its text (the next save compacts the index
        and writes a new base, so nothing keeps a trace of it); False if it
        was not here."""
        if not self.has(doc_id):
            return False
        self._note_change("doc", doc_id)
        for (copy,) in self._conn.execute(
            "SELECT id FROM duplicates WHERE duplicate_of = ?", (doc_id,)
        ).fetchall():
            self._note_change("dup", copy)
        self._conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        self._conn.execute("DELETE FROM pages WHERE doc_id = ?", (doc_id,))
        self._conn.execute("DELETE FROM duplicates WHERE duplicate_of = ?", (doc_id,))
        self._conn.execute("DELETE FROM attached WHERE email = ?", (doc_id,))
        search.unindex_document(self._conn, doc_id)
        self._unflushed = True
        self.set_meta("removed", "1")
        return True

    def note_duplicate(self, doc_id: str, duplicate_of: str) -> None:
        """Remember that ``doc_id`` was dropped as a copy of ``duplicate_of``."""
        self._note_change("dup", doc_id)
        self._conn.execute(
            "INSERT OR REPLACE INTO duplicates (id, duplicate_of) VALUES (?, ?)",
            (doc_id, duplicate_of),
        )

    def put_incident(self, incident: dict[str, Any]) -> None:
        """Add or replace the encrypted part of an incident: ``id``, ``notes``
        (a list of {"time", "text"}), ``reason`` and ``partial`` (``vault.incidents``)."""
        item = str(incident["id"])
        notes = incident.get("notes") or []
        if not isinstance(notes, list) or not all(
            isinstance(n, dict) and isinstance(n.get("text"), str) for n in notes
        ):
            raise IntegrityError("a catalog record of an incident is malformed")
        reason = incident.get("reason")
        self._note_change("incident", item)
        self._conn.execute(
            "INSERT OR REPLACE INTO incidents (id, notes, reason, partial) VALUES (?, ?, ?, ?)",
            (
                item,
                json.dumps(notes, ensure_ascii=False),
                None if reason is None else str(reason),
                1 if incident.get("partial") else 0,
            ),
        )

    def put_expectation(self, expectation: dict[str, Any]) -> None:
        """Add or replace the encrypted part of an expectation: ``id``,
        ``family``, ``sender``, ``notes`` (a list of {"time", "kind", "text"}),
        ``open`` and ``partial`` (``vault.expected``)."""
        item = expectation.get("id")
        notes = expectation.get("notes") or []
        family_ref, sender = expectation.get("family"), expectation.get("sender")
        if (
            not isinstance(item, str)
            or not isinstance(notes, list)
            or not all(isinstance(n, dict) and isinstance(n.get("text"), str) for n in notes)
            or not isinstance(family_ref, str | None)
            or not isinstance(sender, str | None)
        ):
            raise IntegrityError("a catalog record of expected post is malformed")
        self._note_change("expectation", item)
        self._conn.execute(
            "INSERT OR REPLACE INTO expectations (id, family, sender, notes, open, partial)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                item,
                family_ref,
                sender,
                json.dumps(notes, ensure_ascii=False),
                1 if expectation.get("open") else 0,
                1 if expectation.get("partial") else 0,
            ),
        )

    def compact(self) -> bool:
        """After a removal: compact the search index (True if there was one
        since the last base)."""
        if self.meta("removed") != "1":
            return False
        search.compact_index(self._conn)
        return True

    # --- what changed since the last chain file (``vault.chain``) ----------------

    def _note_change(self, kind: str, item: str) -> None:
        before = None
        if kind == "doc":
            row = self._conn.execute(
                f"SELECT {self._objects_sql()} FROM documents WHERE id = ?",  # noqa: S608
                (item,),
            ).fetchone()
            before = json.dumps(sorted(_objects_of(*row))) if row else None
        self._conn.execute(
            "INSERT INTO changes (kind, id, before, seq) VALUES (?, ?, ?, NULL) "
            "ON CONFLICT (kind, id) DO UPDATE SET seq = NULL",
            (kind, item, before),
        )

    def changes(self, after_seq: int) -> list[tuple[str, str, list[str]]]:
        """(kind, id, objects it named before) of what no saved head covers yet."""
        rows = self._conn.execute(
            "SELECT kind, id, before FROM changes WHERE seq IS NULL OR seq > ? ORDER BY kind, id",
            (after_seq,),
        ).fetchall()
        return [(kind, item, json.loads(before) if before else []) for kind, item, before in rows]

    def mark_saved(self, seq: int) -> None:
        """Record (and commit) that save ``seq`` wrote every pending change
        (and the best pages of frequent words, when due: ``vault.best_pages``)."""
        best_pages.refresh(self.conn)
        self._conn.execute("UPDATE changes SET seq = ? WHERE seq IS NULL", (seq,))
        self.set_meta("seq", str(seq))
        self._conn.commit()
        self._unflushed = False

    def forget_saved(self, seq: int, *, base: bool) -> None:
        """The head naming save ``seq`` is written: its changes are done with
        (and after a new base, the removals that called for it)."""
        self._conn.execute("DELETE FROM changes WHERE seq <= ?", (seq,))
        if base:
            self.set_meta("removed", None)
        self._conn.commit()
        self._unflushed = False

    def settle(self, seq: int) -> None:
        """Filled from the chain of save ``seq``: nothing is pending."""
        best_pages.refresh(self.conn)
        self._conn.execute("DELETE FROM changes")
        self.set_meta("removed", None)
        self.set_meta("seq", str(seq))
        self._conn.commit()
        self._unflushed = False

    def meta(self, name: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_meta(self, name: str, value: str | None) -> None:
        if value is None:
            self._conn.execute("DELETE FROM meta WHERE name = ?", (name,))
        else:
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value)
            )

    @property
    def saved_seq(self) -> int:
        """The state number of the last save of this database (0: never saved)."""
        value = self.meta("seq")
        return int(value) if value and value.isdigit() else 0

    # --- records: what the chain files carry --------------------------------------

    def record(self, doc_id: str) -> dict[str, Any] | None:
        """Document ``doc_id`` as a chain record: its row and its page text."""
        rows = list(self._rows("SELECT * FROM documents WHERE id = ?", (doc_id,)))
        return {"doc": rows[0], "text": self.pages(doc_id)} if rows else None

    def records(self) -> Iterator[dict[str, Any]]:
        """Every document, duplicate note and incident, as chain records."""
        for (doc_id,) in self._conn.execute("SELECT id FROM documents ORDER BY id").fetchall():
            found = self.record(doc_id)
            if found is not None:
                yield found
        for doc_id, duplicate_of in self._conn.execute(
            "SELECT id, duplicate_of FROM duplicates ORDER BY id"
        ).fetchall():
            yield {"dup": [doc_id, duplicate_of]}
        for found in self.incidents():
            yield {"incident": found}
        for expected in self.expectations():
            yield {"expectation": expected}

    def apply(self, record: dict[str, Any]) -> None:
        """Apply one chain record (``vault.chain``): a document put or gone, a
        duplicate note made or dropped, an incident's or an expectation's
        encrypted part."""
        if "doc" in record:
            row = record["doc"]
            if not isinstance(row, dict) or not isinstance(row.get("id"), str):
                raise IntegrityError("a catalog record is malformed")
            self.put(row, [str(page) for page in record.get("text", [])])
        elif "gone" in record:
            self.remove(str(record["gone"]))
        elif "dup" in record:
            doc_id, duplicate_of = record["dup"]
            self.note_duplicate(str(doc_id), str(duplicate_of))
        elif "undup" in record:
            self._note_change("dup", str(record["undup"]))
            self._conn.execute("DELETE FROM duplicates WHERE id = ?", (str(record["undup"]),))
        elif "incident" in record:
            incident = record["incident"]
            if not isinstance(incident, dict) or not isinstance(incident.get("id"), str):
                raise IntegrityError("a catalog record is malformed")
            self.put_incident(incident)
        elif "expectation" in record:
            expected = record["expectation"]
            if not isinstance(expected, dict):
                raise IntegrityError("a catalog record is malformed")
            self.put_expectation(expected)
        else:
            raise IntegrityError("a catalog record is of an unknown kind")

    def objects_of(self, doc_id: str) -> list[str]:
        """The manifest and objects document ``doc_id`` names (none if absent)."""
        row = self._conn.execute(
            f"SELECT {self._objects_sql()} FROM documents WHERE id = ?",  # noqa: S608
            (doc_id,),
        ).fetchone()
        return sorted(_objects_of(*row)) if row else []

    # --- reading -----------------------------------------------------------

    def duplicate_of(self, doc_id: str) -> str | None:
        """The document that ``doc_id`` was dropped as a copy of, if it was."""
        row = self._conn.execute(
            "SELECT duplicate_of FROM duplicates WHERE id = ?", (doc_id,)
        ).fetchone()
        return row[0] if row else None

    def attachments_of(self, doc_id: str) -> list[str]:
        """The ids of e-mail ``doc_id``'s attachments, as stored (one may be
        a duplicate dropped at a fold: ``duplicate_of`` names the one kept)."""
        row = self.get(doc_id)
        return list(row["attachments"]) if row else []

    def emails_of(self, doc_id: str) -> list[str]:
        """The e-mails document ``doc_id`` is attached to (also under an id
        dropped as a duplicate of it), oldest first."""
        if not self._has_table("attached"):
            return []
        rows = self._conn.execute(
            "SELECT DISTINCT a.email FROM attached a JOIN documents d ON d.id = a.email"
            " WHERE a.attachment = ? OR a.attachment IN"
            " (SELECT id FROM duplicates WHERE duplicate_of = ?)"
            " ORDER BY d.received, d.id",
            (doc_id, doc_id),
        ).fetchall()
        return [row[0] for row in rows]

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        """The encrypted part of incident ``incident_id`` (None: this catalog
        has none: made before it, or rebuilt from the manifests)."""
        if not self._has_incidents():
            return None
        row = self._conn.execute(
            "SELECT id, notes, reason, partial FROM incidents WHERE id = ?", (incident_id,)
        ).fetchone()
        return _incident(row) if row else None

    def incidents(self) -> list[dict[str, Any]]:
        """The encrypted part of every incident, by id."""
        if not self._has_incidents():
            return []
        rows = self._conn.execute(
            "SELECT id, notes, reason, partial FROM incidents ORDER BY id"
        ).fetchall()
        return [_incident(row) for row in rows]

    def expectation(self, expectation_id: str) -> dict[str, Any] | None:
        """The encrypted part of expectation ``expectation_id`` (None: this
        catalog has none: made before it, or rebuilt from the manifests)."""
        if not self._has_table("expectations"):
            return None
        row = self._conn.execute(
            "SELECT id, family, sender, notes, open, partial FROM expectations WHERE id = ?",
            (expectation_id,),
        ).fetchone()
        return _expectation(row) if row else None

    def expectations(self) -> list[dict[str, Any]]:
        """The encrypted part of every expectation, by id."""
        if not self._has_table("expectations"):
            return []
        rows = self._conn.execute(
            "SELECT id, family, sender, notes, open, partial FROM expectations ORDER BY id"
        ).fetchall()
        return [_expectation(row) for row in rows]

    def has_open_expectations(self) -> bool:
        """Whether any expectation is marked as still awaited (a hint)."""
        if not self._has_table("expectations"):
            return False
        return (
            self._conn.execute("SELECT 1 FROM expectations WHERE open = 1").fetchone() is not None
        )

    def latest(self, doc_type: str, family_ref: str, limit: int) -> list[tuple[str, str]]:
        """(id, received) of the newest ``limit`` documents of a type and family."""
        rows = self._conn.execute(
            "SELECT id, received FROM documents WHERE doc_type = ? AND family = ?"
            " ORDER BY received DESC, id LIMIT ?",
            (doc_type, family_ref, limit),
        ).fetchall()
        return [(str(doc_id), str(received)) for doc_id, received in rows]

    def ids(self) -> list[str]:
        return [row[0] for row in self._conn.execute("SELECT id FROM documents")]

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM documents").fetchone()[0])

    def has(self, doc_id: str) -> bool:
        return (
            self._conn.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone()
            is not None
        )

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[dict[str, Any]]:
        cursor = self._conn.execute(sql, params)
        names = [column[0] for column in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    def get(self, doc_id: str) -> dict[str, Any] | None:
        rows = list(self._rows("SELECT * FROM documents WHERE id = ?", (doc_id,)))
        return _decode(rows[0]) if rows else None

    def documents(self) -> Iterator[dict[str, Any]]:
        for row in self._rows("SELECT * FROM documents ORDER BY received, id"):
            yield _decode(row)

    def pages(self, doc_id: str) -> list[str]:
        return [
            row[0]
            for row in self._conn.execute(
                "SELECT text FROM pages WHERE doc_id = ? ORDER BY page", (doc_id,)
            )
        ]

    def at_level(self, level: str) -> list[str]:
        """The ids of the documents granted to access level ``level``, in order."""
        if not self._has_levels_column():
            return []
        rows = self._conn.execute(
            "SELECT id, levels FROM documents WHERE levels LIKE ? ORDER BY id",
            (f'%"{level}"%',),
        ).fetchall()
        return [doc_id for doc_id, levels in rows if level in _ids(levels)]

    def level_counts(self) -> dict[str, int]:
        """How many documents each access level (but ``full``) is granted."""
        counts: dict[str, int] = {}
        if not self._has_levels_column():
            return counts
        for (levels,) in self._conn.execute(
            "SELECT levels FROM documents WHERE levels IS NOT NULL"
        ).fetchall():
            for level in _ids(levels):
                counts[level] = counts.get(level, 0) + 1
        return counts

    def by_fingerprint(self, fingerprint: str) -> str | None:
        row = self._conn.execute(
            "SELECT id FROM documents WHERE fingerprint = ?", (fingerprint,)
        ).fetchone()
        return row[0] if row else None

    def manifest_ids(self) -> set[str]:
        rows = self._conn.execute("SELECT manifest FROM documents").fetchall()
        return {row[0] for row in rows}

    def object_ids(self) -> set[str]:
        """Every document object the catalog names (originals, searchable PDFs,
        the batch scans documents were split from)."""
        ids: set[str] = set()
        rows = self._conn.execute(f"SELECT {self._objects_sql()} FROM documents").fetchall()  # noqa: S608
        for row in rows:
            ids.update(_objects_of(*row))
        ids.difference_update(r[0] for r in rows)  # the manifests: ``manifest_ids``
        return ids


def _check_version(version: int) -> None:
    if 0 < version < SCHEMA_VERSION:
        raise OutdatedCatalogError(
            f"the catalog has schema version {version}, this version of vault uses "
            f"{SCHEMA_VERSION}",
            hint="it is rebuilt from the manifests",
        )
    if version != SCHEMA_VERSION:
        raise IntegrityError(
            f"the catalog has unknown schema version {version}",
            hint="was it written by a newer version of vault? Upgrade vault",
        )


def _objects_of(
    manifest: str, original: str, searchable: str | None, batch: str | None = None
) -> set[str]:
    found = {manifest, *split_ref(original)}
    if searchable:
        found.update(split_ref(searchable))
    ref = batch_of(batch)
    if ref:
        found.update(split_ref(ref))
    return found


def batch_of(value: Any) -> str | None:
    """The batch object reference of a row's ``batch`` (JSON text or decoded)."""
    if not value:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return batch_ref(value)


def _incident(row: tuple[Any, ...]) -> dict[str, Any]:
    item, notes, reason, partial = row
    notes = json.loads(notes or "[]")
    return {"id": item, "notes": notes, "reason": reason, "partial": bool(partial)}


def _expectation(row: tuple[Any, ...]) -> dict[str, Any]:
    item, family_ref, sender, notes, is_open, partial = row
    return {
        "id": item, "family": family_ref, "sender": sender, "notes": json.loads(notes or "[]"),
        "open": bool(is_open), "partial": bool(partial),
    }  # fmt: skip


def _ids(value: Any) -> list[str]:
    """An ``attachments`` column's ids (none for a malformed one)."""
    try:
        found = json.loads(value) if isinstance(value, str) and value else []
    except ValueError:
        return []
    return [item for item in found if isinstance(item, str)] if isinstance(found, list) else []


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["fields"] = json.loads(row["fields"] or "{}")
    row["attachments"] = _ids(row.get("attachments"))
    row["levels"] = _ids(row.get("levels"))
    try:
        row["batch"] = json.loads(row["batch"]) if row.get("batch") else None
    except ValueError:
        row["batch"] = None
    row["family"] = family.display(row["family"])
    return row
