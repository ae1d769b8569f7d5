"""Sync to a local-folder remote with real rclone: layout, incremental, head last."""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from sync import rcd
from sync.backup import sync_remote
from sync.marker import MARKER
from sync.remotes import add_remote
from sync.state import load_state, state_path, stored_path
from tests.conftest import PASSPHRASE
from tests.sync.conftest import store_documents
from tests.sync.remote_folder import (
    files_in,
    missing_from,
    named_by_head,
    remote_log,
    same_as_vault,
)
from vault.errors import IntegrityError, UsageError
from vault.repository import Vault


def test_first_sync_mirrors_the_vault(local_remote: tuple[Vault, str, Path]) -> None:
    vault, name, folder = local_remote
    result = sync_remote(vault, name, str(folder))
    assert result.full and result.uploaded > 0 and result.documents == 3
    held = files_in(folder)
    for rel in ("head.json", "segments.json", "config.json", "keys/data.pub",
                "keys/emergency.pub", "keys/passphrase.age", "keys/emergency.age"):  # fmt: skip
        assert rel in held, rel
    assert "audit.log" not in held and "journal.log" not in held  # segments instead
    assert any(p.startswith("audit/") for p in held) and any(p.startswith("journal/") for p in held)
    named = named_by_head(folder)
    assert named is not None and not missing_from(folder)
    for entry in vault.journal_entries():
        assert f"manifests/{entry['manifest'][:2]}/{entry['manifest']}" in held
    assert same_as_vault(folder, vault.root) == []
    assert not any(p.startswith(("remotes/", "tmp/", "lock")) for p in held)


def test_second_sync_sends_nothing(local_remote: tuple[Vault, str, Path]) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    before = {p: (folder / p).stat().st_mtime_ns for p in files_in(folder)}
    again = sync_remote(vault, name, str(folder))
    assert again.up_to_date and again.uploaded == 0 and again.bytes == 0 and not again.full
    assert {p: (folder / p).stat().st_mtime_ns for p in files_in(folder)} == before
    state = load_state(vault.root, name, str(folder))
    assert state.last_sync is not None and state.last_sync["uploaded"] == 0


def test_state_files_are_private_and_hold_ids_only(local_remote: tuple[Vault, str, Path]) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    for path in (state_path(vault.root, name), stored_path(vault.root, name)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        assert "CANARY" not in text and ".pdf" not in text
    record = json.loads(state_path(vault.root, name).read_text())
    assert record["format"] == 2 and "stored" not in record
    header, *paths = stored_path(vault.root, name).read_text().splitlines()
    assert json.loads(header)["path"] == str(folder)
    assert paths and all(p.startswith(("objects/", "manifests/", "catalog/")) for p in paths)


def test_new_documents_send_only_new_files(
    local_remote: tuple[Vault, str, Path], tmp_path: Path
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    store_documents(vault.root, 2, tmp_path / "more")
    result = sync_remote(vault, name, str(folder))
    # 2 documents: 2 objects + 2 manifests, a segment each of the audit log and
    # the journal, and the list that names the segments.
    assert result.uploaded == 7 and not result.full
    assert result.documents == 5 and not missing_from(folder)


def test_fold_moves_the_head_and_removes_dropped_files_after_it(
    local_remote: tuple[Vault, str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    old_head = json.loads((folder / "head.json").read_bytes())
    unsigned = {e["manifest"] for e in vault.journal_entries()}
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.fold_journal()
    calls: list[tuple[str, list[str]]] = []
    real_copy, real_delete = rcd.Daemon.copy_file, rcd.Daemon.delete_files

    def copy_file(self: rcd.Daemon, root: Path, source: str, dest_root: str, dest: str,
                  **kw: Any) -> None:  # fmt: skip
        calls.append(("copy", [dest]))
        real_copy(self, root, source, dest_root, dest, **kw)

    def delete_files(self: rcd.Daemon, root: str, paths: list[str], work: Path, **kw: Any) -> int:
        # The new head is already in place when anything is removed.
        assert json.loads((folder / "head.json").read_bytes()) != old_head
        assert not missing_from(folder)
        calls.append(("delete", list(paths)))
        return real_delete(self, root, paths, work, **kw)

    monkeypatch.setattr(rcd.Daemon, "copy_file", copy_file)
    monkeypatch.setattr(rcd.Daemon, "delete_files", delete_files)
    result = sync_remote(vault, name, str(folder))
    assert result.deleted >= len(unsigned)
    order = [kind for kind, _ in calls]
    # the list naming the new audit segment, the head, the list naming the new journal, removals
    assert order == ["copy", "copy", "copy", "delete"]
    assert [dest for _, (dest, *_) in calls[:3]] == ["segments.json", "head.json", "segments.json"]
    held = files_in(folder)
    assert not any(m in p for p in held for m in unsigned)
    assert "head.json.new" not in held
    assert not missing_from(folder) and same_as_vault(folder, vault.root) == []


def test_full_sync_resends_what_was_removed_by_hand(local_remote: tuple[Vault, str, Path]) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    victim = next(p for p in sorted(files_in(folder)) if p.startswith("objects/"))
    (folder / victim).unlink()
    assert sync_remote(vault, name, str(folder)).up_to_date  # the state still trusts it
    result = sync_remote(vault, name, str(folder), full=True)
    # --full re-sends the small replaceable files (it cannot compare their bytes)
    # and, of the write-once files, only the one that was missing.
    replaceable = [p for p in files_in(folder) if not p.startswith(("objects/", "manifests/"))]
    replaceable = [p for p in replaceable if not p.startswith("catalog/")]
    assert result.uploaded == 1 + len(replaceable) and (folder / victim).exists()


def test_emptied_remote_is_noticed_and_filled_again(local_remote: tuple[Vault, str, Path]) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    for child in folder.iterdir():  # all but the marker: the disk is still plugged in
        if child.name != MARKER:
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    result = sync_remote(vault, name, str(folder))
    assert result.full and result.notes
    assert not missing_from(folder) and "head.json" in files_in(folder)


def test_two_remotes_at_once(local_remote: tuple[Vault, str, Path], tmp_path: Path) -> None:
    vault, name, folder = local_remote
    other = tmp_path / "second"
    with vault.lock:
        add_remote(vault, "second", str(other), create=True)
    sync_remote(vault, name, str(folder))
    sync_remote(vault, "second", str(other))
    # the same files, but for the audit log's segment (the second has its own sync entry)
    assert {p for p in files_in(folder) if not p.startswith("audit/")} == {
        p for p in files_in(other) if not p.startswith("audit/")
    }


def test_remote_of_another_vault_is_refused(
    local_remote: tuple[Vault, str, Path], tmp_path: Path
) -> None:
    vault, name, folder = local_remote
    (folder / "config.json").write_text(json.dumps({"vault_id": "0123456789abcdef"}))
    with pytest.raises(UsageError, match="another vault"):
        sync_remote(vault, name, str(folder))


def test_missing_local_object_sends_nothing(local_remote: tuple[Vault, str, Path]) -> None:
    vault, name, folder = local_remote
    entry = vault.journal_entries()[0]
    object_id = next(iter(entry["objects"]))
    vault.objects.path(object_id).unlink()
    with pytest.raises(IntegrityError, match="missing or damaged here"):
        sync_remote(vault, name, str(folder))
    assert not folder.exists() or "head.json" not in files_in(folder)


def test_remote_path_is_never_run_by_a_shell(stored_vault: Path, tmp_path: Path) -> None:
    evil = tmp_path / "backup $(touch PWNED) `touch PWNED2`"
    vault = Vault.open(stored_vault)
    with vault.lock:
        add_remote(vault, "odd", str(evil), create=True)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        sync_remote(vault, "odd", str(evil))
    finally:
        os.chdir(cwd)
    assert (evil / "head.json").exists()
    assert not list(tmp_path.rglob("PWNED*"))


def test_with_sync_audit_events_a_second_sync_still_sends_nothing(
    local_remote: tuple[Vault, str, Path],
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    events = [e for e in vault.audit.entries() if e.event == "sync"]
    assert len(events) == 1 and events[0].detail == {"remote": name}
    # The entry was written before the upload, so the remote's audit log has it;
    # the sync's read-back, recorded after, waits for the next sync that sends something.
    sent = remote_log(folder, "audit")
    assert sent is not None
    assert b'"event":"sync"' in sent and vault.layout.audit.read_bytes().startswith(sent)
    assert sync_remote(vault, name, str(folder)).up_to_date
    assert len([e for e in vault.audit.entries() if e.event == "sync"]) == 1
    assert remote_log(folder, "audit") == sent


def test_a_new_head_finds_its_audit_tip_already_on_the_remote(
    local_remote: tuple[Vault, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The head records the audit log's tip: the remote's audit log must hold it
    # before the head arrives (without a new head, the log goes with the journal).
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.fold_journal()
    real_copy = rcd.Daemon.copy_file
    checked: list[bool] = []

    def copy_file(self: rcd.Daemon, root: Path, source: str, dest_root: str, dest: str,
                  **kw: Any) -> None:  # fmt: skip
        if dest == "head.json":
            new_head = json.loads((root / source).read_bytes())
            seq, digest = new_head["audit"]
            held = [json.loads(line) for line in (remote_log(folder, "audit") or b"").splitlines()]
            checked.append(any(e["seq"] == seq and e["hash"] == digest for e in held))
        real_copy(self, root, source, dest_root, dest, **kw)

    monkeypatch.setattr(rcd.Daemon, "copy_file", copy_file)
    sync_remote(vault, name, str(folder))
    assert checked == [True]


def test_the_remote_always_has_a_head_while_it_is_replaced(
    local_remote: tuple[Vault, str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Watched as it happens: the old head stays readable until the new one
    is in its place (rclone's moveto would delete it first)."""
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    real_copy = rcd.Daemon.copy_file
    seen: list[bytes | None] = []

    def watch(head: Path, started: threading.Event, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                seen.append(head.read_bytes())
            except FileNotFoundError:
                seen.append(None)
            started.set()

    def copy_file(self: rcd.Daemon, root: Path, source: str, dest_root: str, dest: str,
                  **kw: Any) -> None:  # fmt: skip
        if dest != "head.json":
            return real_copy(self, root, source, dest_root, dest, **kw)
        started, stop = threading.Event(), threading.Event()
        watcher = threading.Thread(target=watch, args=(folder / "head.json", started, stop))
        watcher.start()
        started.wait()
        try:
            real_copy(self, root, source, dest_root, dest, **kw)
        finally:
            stop.set()
            watcher.join()

    monkeypatch.setattr(rcd.Daemon, "copy_file", copy_file)
    for n in range(3):
        store_documents(vault.root, 1, tmp_path / f"post-{n}")
        with vault.lock:
            vault.unlock(PASSPHRASE)
            vault.fold_journal()
        old = (folder / "head.json").read_bytes()
        sync_remote(vault, name, str(folder))
        new = (folder / "head.json").read_bytes()
        assert new != old and len(seen) >= 2
        assert None not in seen, "the remote had no head for a moment"
        assert set(seen) <= {old, new}  # never a partly written head
        seen.clear()
