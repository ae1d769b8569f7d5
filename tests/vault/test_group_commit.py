"""Documents stored in a group are recorded only at its commit, all together."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from tests.conftest import make_pdf
from vault import group_commit
from vault.repository import Vault


def _ingest_events(vault: Vault) -> int:
    return sum(entry.event == "ingest" for entry in vault.audit.entries())


def test_a_group_is_journaled_only_at_its_commit(vault_dir: Path, tmp_path: Path) -> None:
    vault = Vault.open(vault_dir)
    a, b = make_pdf(tmp_path / "a.pdf", "letter a"), make_pdf(tmp_path / "b.pdf", "letter b")
    with vault.lock, vault.storing() as group:
        first = vault.store_file(a, name="a.pdf", media_type="application/pdf")
        second = vault.store_file(b, name="b.pdf", media_type="application/pdf")
        assert len(group) == 2
        assert vault.journal_entries() == [] and _ingest_events(vault) == 0
        assert group.commit() == [first.doc_id, second.doc_id]
        assert len(vault.journal_entries()) == 2 and _ingest_events(vault) == 2
        assert len(group) == 0 and group.commit() == []  # nothing left pending
    assert vault.audit.verify() == []


def test_store_file_alone_is_a_group_of_one(vault_dir: Path, tmp_path: Path) -> None:
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.store_file(
            make_pdf(tmp_path / "a.pdf", "a"), name="a.pdf", media_type="application/pdf"
        )
        assert len(vault.journal_entries()) == 1 and _ingest_events(vault) == 1


def test_leaving_the_group_on_an_error_commits_what_was_stored(
    vault_dir: Path, tmp_path: Path
) -> None:
    vault = Vault.open(vault_dir)
    with vault.lock, pytest.raises(KeyboardInterrupt), vault.storing():
        vault.store_file(
            make_pdf(tmp_path / "a.pdf", "a"), name="a.pdf", media_type="application/pdf"
        )
        raise KeyboardInterrupt
    assert len(vault.journal_entries()) == 1


def test_a_commit_whose_journal_cannot_be_written_records_nothing(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(path: Path, entries: list[dict[str, object]]) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    vault = Vault.open(vault_dir)
    with vault.lock, vault.storing() as group:
        vault.store_file(
            make_pdf(tmp_path / "a.pdf", "a"), name="a.pdf", media_type="application/pdf"
        )
        with monkeypatch.context() as patch:
            patch.setattr(group_commit.journals, "append_all", full)
            with pytest.raises(OSError):
                group.commit()
        assert len(group) == 0  # the failed group is not committed later either
    assert vault.journal_entries() == [] and _ingest_events(vault) == 0


def test_without_syncfs_each_file_then_each_folder_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[Path] = []
    monkeypatch.setattr(group_commit, "_SYNCFS", [None])  # as on Windows, macOS, old Linux
    monkeypatch.setattr(group_commit, "fsync_file", synced.append)
    monkeypatch.setattr(group_commit, "fsync_dir", synced.append)
    pending = group_commit.PendingFiles()
    (tmp_path / "ab").mkdir()
    for name in ("ab/one", "ab/two", "three"):
        (tmp_path / name).write_bytes(b"x")
        pending.renamed(tmp_path / name)
    pending.made_folder(tmp_path / "ab")
    pending.make_durable()
    files = [tmp_path / "ab/one", tmp_path / "ab/two", tmp_path / "three"]
    assert synced[:3] == files  # the files first
    assert sorted(synced[3:]) == [tmp_path, tmp_path / "ab"]  # then each folder once
    assert pending.files == [] and pending.folders == set()


def test_syncfs_is_used_on_this_linux() -> None:
    """The tests run on Linux 5.8 or later: the batch path under test is syncfs."""
    assert group_commit._syncfs() is not None
