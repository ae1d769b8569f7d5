"""The cost of folding the journal grows with the entries and the catalog's
size added together, not multiplied: the sets of ids the whole catalog names
are made a fixed number of times per fold, never once per entry."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

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
