"""A snapshot taken since the last sync is the whole snapshot, or is not taken."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sync import rcd
from sync.backup import sync_remote
from sync.snapshot import Snapshot, take_snapshot
from sync.state import load_state, save_state
from tests.conftest import PASSPHRASE
from tests.sync.conftest import store_documents
from vault.errors import RemoteError
from vault.repository import Vault


def both(vault: Vault, name: str, path: str) -> tuple[Snapshot, Snapshot, bool]:
    """The whole snapshot, the one since the last sync, and whether that was used."""
    state = load_state(vault.root, name, path)
    whole = take_snapshot(vault, state.stored)
    since = take_snapshot(vault, state.stored, sent=state.since())
    used = state.since() is not None and any(size == -1 for size in since.stored.values())
    return whole, since, used


def assert_same(whole: Snapshot, since: Snapshot) -> None:
    assert set(since.stored) == set(whole.stored)
    assert since.missing == whole.missing
    assert since.journaled == whole.journaled and since.documents == whole.documents
    assert since.head == whole.head
    assert since.files == whole.files
    for rel in since.files:
        assert since.digest(rel) == whole.digest(rel)


def fail_journal(monkeypatch: pytest.MonkeyPatch, *, run_meanwhile: bool) -> None:
    """Make the copy of the segment list that names the new journal fail
    (after ``meanwhile``, if asked); the segments themselves arrive."""

    def copy_file(self: Any, root: Any, source: str, *args: Any, meanwhile: Any = None,
                  **kw: Any) -> None:  # fmt: skip
        assert source.startswith("segments.json")
        if run_meanwhile and meanwhile is not None:
            meanwhile()
        raise RemoteError("sync failed: on purpose")

    monkeypatch.setattr(rcd.Daemon, "copy_file", copy_file)


def test_after_new_documents_only_the_new_lines_are_read(
    local_remote: tuple[Vault, str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    store_documents(vault.root, 2, tmp_path / "more")
    whole, since, used = both(vault, name, str(folder))
    assert used
    assert_same(whole, since)
    # and a sync with it sends just the new files (and a segment of each log, their list)
    assert sync_remote(vault, name, str(folder)).uploaded == 7


def test_after_a_fold_or_a_rewritten_journal_the_whole_snapshot(
    local_remote: tuple[Vault, str, Path], tmp_path: Path
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.fold_journal()
    whole, since, used = both(vault, name, str(folder))
    assert not used
    assert_same(whole, since)
    sync_remote(vault, name, str(folder))
    journal = vault.root / "journal.log"
    store_documents(vault.root, 1, tmp_path / "more")
    sync_remote(vault, name, str(folder))
    journal.write_bytes(b" " + journal.read_bytes())  # what was sent is changed
    whole, since, used = both(vault, name, str(folder))
    assert not used
    assert_same(whole, since)


def test_a_journal_sent_with_a_torn_last_line_is_read_whole(
    local_remote: tuple[Vault, str, Path], tmp_path: Path
) -> None:
    vault, name, folder = local_remote
    journal = vault.root / "journal.log"
    with open(journal, "ab") as f:
        f.write(b'{"manifest": "torn')  # a crash mid-append
    sync_remote(vault, name, str(folder))
    store_documents(vault.root, 1, tmp_path / "more")
    whole, since, used = both(vault, name, str(folder))
    assert not used
    assert_same(whole, since)


def test_a_failed_or_other_save_forgets_the_last_sync(
    local_remote: tuple[Vault, str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    assert load_state(vault.root, name, str(folder)).since() is not None
    state = load_state(vault.root, name, str(folder))
    save_state(vault.root, name, state)  # as a repair does
    assert load_state(vault.root, name, str(folder)).since() is None

    sync_remote(vault, name, str(folder))
    store_documents(vault.root, 1, tmp_path / "more")

    fail_journal(monkeypatch, run_meanwhile=False)
    with pytest.raises(RemoteError):
        sync_remote(vault, name, str(folder))
    state = load_state(vault.root, name, str(folder))
    assert state.since() is None
    monkeypatch.undo()
    result = sync_remote(vault, name, str(folder))
    # the audit log's new segment (with this sync's entry) and the list; the journal's
    # segment arrived before the list failed, and the failed sync's audit segment goes
    assert result.uploaded == 2 and result.deleted == 1
    whole, since, used = both(vault, name, str(folder))
    assert used
    assert_same(whole, since)


def test_erased_files_are_still_removed_after_syncs_since(
    local_remote: tuple[Vault, str, Path], tmp_path: Path
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    store_documents(vault.root, 1, tmp_path / "more")
    sync_remote(vault, name, str(folder))  # since the last one
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.fold_journal()  # unsigned manifests are replaced: old ones dropped
    result = sync_remote(vault, name, str(folder))
    assert result.deleted > 0


def test_a_journal_that_does_not_arrive_is_not_recorded(
    local_remote: tuple[Vault, str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The state is written while rclone sends the journal; it must not count
    # until the journal arrived.
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    before = load_state(vault.root, name, str(folder))
    store_documents(vault.root, 1, tmp_path / "more")

    fail_journal(monkeypatch, run_meanwhile=True)
    with pytest.raises(RemoteError):
        sync_remote(vault, name, str(folder))
    after = load_state(vault.root, name, str(folder))
    assert after.files["segments.json"] == before.files["segments.json"]
    assert after.logs == before.logs
    assert after.last_sync == before.last_sync and after.daily == before.daily
    assert after.since() is None
    assert len(after.stored) == len(before.stored) + 2  # the object and manifest did arrive
    assert sorted(p.name for p in (vault.root / "remotes").iterdir()) == [
        f"{name}.json", f"{name}.lock", f"{name}.stored",
    ]  # fmt: skip
    monkeypatch.undo()
    assert sync_remote(vault, name, str(folder)).uploaded == 2  # audit segment and list
