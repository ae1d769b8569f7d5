"""The cost of folding the journal grows with the entries and the catalog's
size added together, not multiplied: the sets of ids the whole catalog names
are made a fixed number of times per fold, never once per entry. And what a
fold writes to the catalog database stays small: each index a new document
writes to costs a page at a random place, and its copy in the rollback journal."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.generate import documents
from vault import catalog_db
from vault.catalog import Catalog
from vault.repository import Vault

WHOLE_CATALOG = ("manifest_ids", "object_ids", "ids", "documents")


def _store(vault: Vault, folder: Path, first: int, count: int) -> None:
    for n in range(first, first + count):
        path = folder / f"letter-{n}.txt"
        path.write_text(f"letter number {n}")
        vault.store_file(path, name=path.name, media_type="text/plain", text=[f"letter {n}"])


def _whole_catalog_reads(
    vault: Vault, folder: Path, entries: int, first: int, monkeypatch: pytest.MonkeyPatch
) -> Counter[str]:
    """Fold ``entries`` new journal entries; count the whole-catalog reads."""
    _store(vault, folder, first, entries)
    calls: Counter[str] = Counter()
    with monkeypatch.context() as patch:
        for name in WHOLE_CATALOG:
            patch.setattr(Catalog, name, _counted(getattr(Catalog, name), name, calls))
        result = vault.fold_journal()
    assert len(result.added) == entries
    return calls


def _counted(method: Any, name: str, calls: Counter[str]) -> Any:
    def counted(self: Catalog, *args: Any) -> Any:
        calls[name] += 1
        return method(self, *args)

    return counted


def test_a_fold_reads_the_whole_catalog_the_same_number_of_times_for_1_or_40_entries(
    unlocked_vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(unlocked_vault, tmp_path, 0, 60)
    unlocked_vault.fold_journal()
    assert unlocked_vault.catalog.count() == 60

    one = _whole_catalog_reads(unlocked_vault, tmp_path, 1, 100, monkeypatch)
    forty = _whole_catalog_reads(unlocked_vault, tmp_path, 40, 200, monkeypatch)

    assert unlocked_vault.catalog.count() == 101
    assert forty == one
    assert sum(one.values()) <= 2 * len(WHOLE_CATALOG)


def test_a_fold_replayed_after_a_crash_recognises_every_entry_of_a_large_journal(
    unlocked_vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crash-replay guarantee with the set made once: a journal not yet
    emptied when the fold stopped is folded again without a duplicate."""
    _store(unlocked_vault, tmp_path, 0, 30)
    journal = (unlocked_vault.root / "journal.log").read_bytes()
    unlocked_vault.fold_journal()
    (unlocked_vault.root / "journal.log").write_bytes(journal)  # as if the fold crashed

    again = unlocked_vault.fold_journal()

    assert again.added == [] and again.duplicates == [] and again.set_aside == []
    assert unlocked_vault.catalog.count() == 30
    assert unlocked_vault.journal_entries() == []


FOLDED = 500  # documents in the catalog before the folds measured
# Three folds of 10: 2,397,168 bytes with the manifest index and a search
# index segment per document; 1,790,392 with neither.
FOLD_BYTES = 1_900_000


def _written() -> int:
    """Bytes this process has handed to write calls (``wchar``). Not
    ``write_bytes``: that counts every page-cache folio a write dirties,
    whole, and a folio may be 2 MiB where 4 KiB is written (README, "What a
    fold writes")."""
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("wchar:"))


def _id(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()  # fixed: the same pages every run


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="Linux's /proc/self/io")
def test_three_folds_of_ten_documents_write_under_a_bound_to_the_catalog_database(
    tmp_path: Path,
) -> None:
    """SQLite writes the same pages for the same statements, so the bytes are
    the same at every run: the bound is between today's catalog and the one
    before (an index on the manifest column, which no query used, and the
    search index written out once per document)."""
    catalog = Catalog.opened(catalog_db.open_database(tmp_path / "catalog.db", b"k" * 32))
    generated = list(documents(FOLDED + 30))

    def add(first: int, count: int) -> None:
        for doc in generated[first : first + count]:
            manifest = doc.manifest(original=_id("o", doc.index), fingerprint=_id("f", doc.index))
            catalog.add(manifest, _id("m", doc.index))

    add(0, FOLDED)
    catalog.mark_saved(1)
    catalog.forget_saved(1, base=True)
    before = _written()
    for fold in range(3):  # as a fold saves: the changes recorded, then forgotten
        add(FOLDED + 10 * fold, 10)
        catalog.mark_saved(2 + fold)
        catalog.forget_saved(2 + fold, base=False)
    written = _written() - before

    assert catalog.count() == FOLDED + 30
    assert written < FOLD_BYTES, f"{written:,} bytes"


def test_a_save_of_ten_documents_adds_one_segment_to_each_search_index() -> None:
    """FTS5 writes the rows it holds back as a new segment at every savepoint,
    and a statement that may change several rows opens one: indexing must use
    none, or each document is a segment of its own to write and merge."""
    catalog = Catalog.new()
    for doc in documents(10):
        catalog.add(doc.manifest(original=_id("o", doc.index)), _id("m", doc.index))
    catalog.conn.commit()

    for table in ("word_index", "vocabulary_index"):
        (segments,) = catalog.conn.execute(
            f"SELECT count(DISTINCT segid) FROM {table}_idx"
        ).fetchone()
        assert segments == 1, table
