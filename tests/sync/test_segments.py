"""The audit log and the journal on a remote as write-once segments: a sync sends
only what was added; the journal changes after the head; verify, recover and an
interrupted sync with the new layout and with the whole files of an older one.
Real rclone, a local-folder remote."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sync import rcd, segments
from sync.backup import sync_remote
from sync.state import load_state, state_path
from tests.conftest import PASSPHRASE
from tests.sync.conftest import store_documents
from tests.sync.remote_folder import files_in, missing_from, remote_log, same_as_vault
from vault.audit import AuditLog
from vault.cli import cli
from vault.errors import RemoteError
from vault.repository import Vault


def grow_audit(root: Path, count: int, event: str = "show") -> int:
    """Add ``count`` chained entries to the vault's audit log at once; their bytes."""
    seq, prev = AuditLog(root / "audit.log").tip()
    lines = []
    for n in range(count):
        seq += 1
        body = {
            "seq": seq, "time": "2026-01-01T00:00:00+00:00", "event": event,
            "ids": [hashlib.sha256(str(n).encode()).hexdigest()], "detail": {}, "prev": prev,
        }  # fmt: skip
        prev = hashlib.sha256(_canonical(body)).hexdigest()
        lines.append(json.dumps({**body, "hash": prev}, sort_keys=True, separators=(",", ":")))
    data = "".join(line + "\n" for line in lines).encode()
    with open(root / "audit.log", "ab") as f:
        f.write(data)
    return len(data)


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def fold(vault: Vault) -> None:
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.fold_journal()


def written(folder: Path, before: dict[str, int]) -> dict[str, int]:
    """The files of the remote that are new or rewritten since ``before`` (path -> size)."""
    now = {p: (folder / p).stat().st_mtime_ns for p in files_in(folder)}
    return {p: (folder / p).stat().st_size for p, t in now.items() if before.get(p) != t}


def times(folder: Path) -> dict[str, int]:
    return {p: (folder / p).stat().st_mtime_ns for p in files_in(folder)}


def the_list(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / "segments.json").read_bytes()))


def cli_run(vault_dir: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["--vault", str(vault_dir), *args])
    assert "Traceback" not in result.output, result.output
    return result


# --- what a sync sends -----------------------------------------------------------------


def test_a_sync_after_new_audit_entries_sends_only_a_segment_of_them(
    local_remote: tuple[Vault, str, Path],
) -> None:
    vault, name, folder = local_remote
    grow_audit(vault.root, 2000)  # a long log: about 500 kB
    sync_remote(vault, name, str(folder))
    log_size = vault.layout.audit.stat().st_size
    assert log_size > 400_000
    before = times(folder)
    added = grow_audit(vault.root, 20)
    result = sync_remote(vault, name, str(folder))

    new = written(folder, before)
    audit = {p: size for p, size in new.items() if p.startswith("audit/")}
    assert set(new) == {*audit, "segments.json"}, new  # nothing else was sent
    assert len(audit) == 1
    # the 20 entries and this sync's own (about 300 bytes)
    assert added < sum(audit.values()) < added + 600
    assert result.bytes == sum(new.values()) < 20_000 < log_size // 20
    assert remote_log(folder, "audit") == vault.layout.audit.read_bytes()[: result_audit(folder)]
    assert not missing_from(folder) and same_as_vault(folder, vault.root) == []


def result_audit(folder: Path) -> int:
    return int(the_list(folder)["audit"]["size"])


def test_segments_are_merged_so_the_list_stays_short(
    local_remote: tuple[Vault, str, Path],
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    for _ in range(segments.FAN_IN + 1):
        grow_audit(vault.root, 3)
        sync_remote(vault, name, str(folder))
    listed = the_list(folder)["audit"]["segments"]
    # a base, then 8 segments of one sync each merged into one of level 1, then one
    assert [level for _, _, level in listed] == [segments.BASE, 1, 0]
    held = sorted(p.removeprefix("audit/") for p in files_in(folder) if p.startswith("audit/"))
    assert held == sorted(sha for sha, _, _ in listed)  # the merged ones were removed
    assert remote_log(folder, "audit") == vault.layout.audit.read_bytes()[: result_audit(folder)]
    assert cli_run(vault.root, "verify", "--remote", name).exit_code == 0


def test_the_merge_rule() -> None:
    """Pure logic: a list holds a base and at most 7 segments per level."""
    data = b"base\n"
    log = segments.next_log(None, data)
    assert [s.level for s in log.segments] == [segments.BASE]
    for day in range(1, 200):
        data += f"day {day}\n".encode()
        log = segments.next_log(log, data)
        joined = b""
        offset = 0
        for piece in log.segments:
            joined += data[offset : offset + piece.size]
            assert hashlib.sha256(data[offset : offset + piece.size]).hexdigest() == piece.sha256
            offset += piece.size
        assert joined == data and log.size == len(data)
        levels = [s.level for s in log.segments]
        assert levels[1:] == sorted(levels[1:], reverse=True)  # a base, then falling
        assert all(levels.count(level) < segments.FAN_IN for level in set(levels) - {-1})
    assert len(log.segments) <= 1 + 7 * 3  # 199 syncs: levels 0, 1 and 2
    big = segments.next_log(None, b"base\n")
    grown = b"base\n"
    for _ in range(segments.FAN_IN):  # 8 segments too big to merge: they stay
        grown += b"x" * (segments.MERGE_LIMIT // 4) + b"\n"
        big = segments.next_log(big, grown)
    assert [s.level for s in big.segments] == [segments.BASE] + [0] * segments.FAN_IN
    rewritten = segments.next_log(log, b"something else\n")
    assert [s.level for s in rewritten.segments] == [segments.BASE]
    assert segments.next_log(log, b"").segments == ()


# --- the journal changes after the head --------------------------------------------------


def test_the_journal_switches_after_the_head_when_a_fold_empties_it(
    local_remote: tuple[Vault, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    journal_before = remote_log(folder, "journal")
    assert journal_before and journal_before == (vault.root / "journal.log").read_bytes()
    old_segments = {p for p in files_in(folder) if p.startswith("journal/")}
    old_head = (folder / "head.json").read_bytes()
    fold(vault)
    seen: list[tuple[str, bytes | None, bytes | None]] = []
    real_copy, real_delete = rcd.Daemon.copy_file, rcd.Daemon.delete_files

    def copy_file(self: rcd.Daemon, root: Path, source: str, dest_root: str, dest: str,
                  **kw: Any) -> None:  # fmt: skip
        real_copy(self, root, source, dest_root, dest, **kw)
        assert not missing_from(folder)  # consistent after every step
        seen.append((dest, (folder / "head.json").read_bytes(), remote_log(folder, "journal")))

    def delete_files(self: rcd.Daemon, root: str, paths: list[str], work: Path, **kw: Any) -> int:
        assert remote_log(folder, "journal") == b""  # the new list is in place first
        assert old_segments <= set(paths)
        return real_delete(self, root, paths, work, **kw)

    monkeypatch.setattr(rcd.Daemon, "copy_file", copy_file)
    monkeypatch.setattr(rcd.Daemon, "delete_files", delete_files)
    sync_remote(vault, name, str(folder))
    assert [dest for dest, _, _ in seen] == ["segments.json", "head.json", "segments.json"]
    # before the head: the old journal still named; after it: the emptied one
    assert seen[0][1] == old_head and seen[0][2] == journal_before
    assert seen[1][1] != old_head and seen[1][2] == journal_before
    assert seen[2][2] == b""
    assert the_list(folder)["journal"] == {
        "size": 0, "sha256": hashlib.sha256(b"").hexdigest(), "segments": [],
    }  # fmt: skip
    assert not any(p.startswith("journal/") for p in files_in(folder))
    assert same_as_vault(folder, vault.root) == []


def test_new_documents_go_in_one_list_before_the_head(
    local_remote: tuple[Vault, str, Path], tmp_path: Path
) -> None:
    """A journal that only grew: its new segment in the list sent with the audit log's."""
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    first = the_list(folder)["journal"]["segments"]
    before = times(folder)
    store_documents(vault.root, 2, tmp_path / "more")
    sync_remote(vault, name, str(folder))
    new = written(folder, before)
    assert sorted(p.split("/")[0] for p in new) == [
        "audit", "journal", "manifests", "manifests", "objects", "objects", "segments.json",
    ]  # fmt: skip
    listed = the_list(folder)["journal"]["segments"]
    assert listed[:1] == first and len(listed) == 2 and listed[1][2] == 0
    assert remote_log(folder, "journal") == (vault.root / "journal.log").read_bytes()


# --- verify --remote --------------------------------------------------------------------


@pytest.fixture
def two_audit_segments(local_remote: tuple[Vault, str, Path]) -> tuple[Vault, str, Path]:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    fold(vault)  # the head's audit tip is in the next segment
    grow_audit(vault.root, 5)
    sync_remote(vault, name, str(folder))
    assert len(the_list(folder)["audit"]["segments"]) == 2
    assert cli_run(vault.root, "verify", "--remote", name).exit_code == 0
    return vault, name, folder


def rewrite_list(folder: Path, segments_of_audit: list[list[Any]]) -> None:
    """Put a list on the remote naming these audit segments, its totals made right."""
    record = the_list(folder)
    data = b"".join((folder / "audit" / sha).read_bytes() for sha, _, _ in segments_of_audit)
    record["audit"] = {
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "segments": segments_of_audit,
    }
    (folder / "segments.json").write_bytes(json.dumps(record).encode())


@pytest.mark.parametrize(
    ("damage", "record"),
    [
        *((kind, "kept") for kind in ("missing", "reordered", "altered", "misnamed", "cut short")),
        ("reordered", "lost"),  # judged by the chain and the head's anchor alone
        ("cut short", "lost"),
    ],
)
def test_verify_refuses_a_damaged_audit_segment(
    two_audit_segments: tuple[Vault, str, Path], damage: str, record: str
) -> None:
    """Exit 4 with the segment named, whether or not this computer still has
    its record of what it sent (without it, only the chain and names judge)."""
    vault, name, folder = two_audit_segments
    listed = the_list(folder)["audit"]["segments"]
    first, second = (f"audit/{sha}" for sha, _, _ in listed)
    if damage == "missing":
        (folder / second).unlink()
        expected = f"missing: {second}"
    elif damage == "reordered":
        rewrite_list(folder, [listed[1], listed[0]])
        expected = "audit chain broken at entry"
    elif damage == "altered":
        data = bytearray((folder / first).read_bytes())
        data[10] ^= 0x01
        (folder / first).write_bytes(bytes(data))
        expected = f"corrupt: {first}"
    elif damage == "misnamed":  # a segment under a name that is not its hash
        fake = hashlib.sha256(b"another").hexdigest()
        (folder / second).rename(folder / "audit" / fake)
        rewrite_list_names(folder, listed[1][0], fake)
        expected = f"corrupt: audit/{fake}"
    else:  # the last segment dropped: the head's audit anchor is gone with it
        (folder / second).unlink()
        rewrite_list(folder, [listed[0]])
        expected = "audit log cut short"
    if record == "lost":
        state_path(vault.root, name).unlink()
    found = cli_run(vault.root, "verify", "--remote", name)
    assert found.exit_code == 4, found.output
    assert expected in found.stdout, found.stdout


def rewrite_list_names(folder: Path, old: str, new: str) -> None:
    listed = folder / "segments.json"
    listed.write_bytes(listed.read_bytes().replace(old.encode(), new.encode()))


def test_a_forged_or_removed_segment_is_noticed_by_the_next_sync(
    two_audit_segments: tuple[Vault, str, Path],
) -> None:
    vault, name, folder = two_audit_segments
    victim = next(p for p in sorted(files_in(folder)) if p.startswith("audit/"))
    (folder / victim).unlink()
    again = sync_remote(vault, name, str(folder))
    assert again.full and f"{victim} missing" in again.notes[0]
    assert hashlib.sha256((folder / victim).read_bytes()).hexdigest() == victim[-64:]
    assert cli_run(vault.root, "verify", "--remote", name).exit_code == 0


# --- an interrupted sync ------------------------------------------------------------------


def test_a_failed_segment_upload_leaves_the_remote_as_it_was(
    local_remote: tuple[Vault, str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rclone is killed as the new segments are to be sent: nothing the remote
    names has changed, and the next sync finishes."""
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    listed_before = (folder / "segments.json").read_bytes()
    head_before = (folder / "head.json").read_bytes()
    store_documents(vault.root, 1, tmp_path / "more")
    fold(vault)
    real_put = rcd.Daemon.put_file

    def put_file(self: rcd.Daemon, *args: Any, **kw: Any) -> None:
        if self._proc is not None:
            self._proc.kill()  # rclone dies as it is asked to send a segment
        real_put(self, *args, **kw)

    monkeypatch.setattr(rcd.Daemon, "put_file", put_file)
    with pytest.raises(RemoteError):
        sync_remote(vault, name, str(folder))
    monkeypatch.undo()
    assert (folder / "segments.json").read_bytes() == listed_before
    assert (folder / "head.json").read_bytes() == head_before
    assert not missing_from(folder)
    assert cli_run(vault.root, "verify", "--remote", name).exit_code == 0
    sync_remote(vault, name, str(folder))
    assert same_as_vault(folder, vault.root) == [] and not missing_from(folder)
    assert cli_run(vault.root, "verify", "--remote", name).exit_code == 0


def test_a_sync_cut_off_after_the_head_leaves_the_remote_consistent(
    local_remote: tuple[Vault, str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cut off once the new head is there, before the list naming the emptied
    journal: the old journal is still named (nothing lost), the audit log holds
    the new head's tip, and the next sync finishes the switch."""
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    journal_before = remote_log(folder, "journal")
    store_documents(vault.root, 1, tmp_path / "more")
    sync_remote(vault, name, str(folder))
    fold(vault)
    real_copy = rcd.Daemon.copy_file
    heads: list[str] = []

    def copy_file(self: rcd.Daemon, root: Path, source: str, dest_root: str, dest: str,
                  **kw: Any) -> None:  # fmt: skip
        if dest == "segments.json" and heads:
            raise RemoteError("sync failed: on purpose")
        heads.extend([dest] if dest == "head.json" else [])
        real_copy(self, root, source, dest_root, dest, **kw)

    monkeypatch.setattr(rcd.Daemon, "copy_file", copy_file)
    with pytest.raises(RemoteError):
        sync_remote(vault, name, str(folder))
    monkeypatch.undo()
    assert (folder / "head.json").read_bytes() == vault.layout.head.read_bytes()
    assert remote_log(folder, "journal") not in (None, b"", journal_before)
    assert not missing_from(folder)
    anchor = json.loads(vault.layout.head.read_bytes())["audit"]
    remote_audit = AuditLog(tmp_path / "remote-audit.log")
    (tmp_path / "remote-audit.log").write_bytes(remote_log(folder, "audit") or b"")
    assert remote_audit.verify((int(anchor[0]), str(anchor[1]))) == []
    assert cli_run(vault.root, "verify", "--remote", name).exit_code == 0
    sync_remote(vault, name, str(folder))
    assert remote_log(folder, "journal") == b""
    assert not any(p.startswith("journal/") for p in files_in(folder))
    assert cli_run(vault.root, "verify", "--remote", name).exit_code == 0


# --- a remote an earlier version wrote: whole audit.log and journal.log --------------------


def to_old_layout(vault_root: Path, name: str, folder: Path) -> None:
    """Make the remote, and this computer's record of it, what an earlier version
    left: whole ``audit.log`` and ``journal.log`` at the top, no segments."""
    for kind in ("audit", "journal"):
        (folder / f"{kind}.log").write_bytes(remote_log(folder, kind) or b"")
        shutil.rmtree(folder / kind, ignore_errors=True)
    (folder / "segments.json").unlink()
    record = json.loads(state_path(vault_root, name).read_bytes())
    files = {
        rel: sent
        for rel, sent in record["files"].items()
        if rel != "segments.json" and not rel.startswith(("audit/", "journal/"))
    }
    for rel in ("audit.log", "journal.log"):
        data = (folder / rel).read_bytes()
        files[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    record["files"] = files
    record.pop("logs", None)
    state_path(vault_root, name).write_bytes(json.dumps(record).encode())


def test_the_first_sync_moves_an_old_remote_to_segments(
    local_remote: tuple[Vault, str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    to_old_layout(vault.root, name, folder)
    assert cli_run(vault.root, "verify", "--remote", name).exit_code == 0  # still understood
    store_documents(vault.root, 1, tmp_path / "more")
    fold(vault)  # the journal is emptied: it must stay whole until the head moved
    real_copy, real_delete = rcd.Daemon.copy_file, rcd.Daemon.delete_files
    steps: list[str] = []

    def copy_file(self: rcd.Daemon, root: Path, source: str, dest_root: str, dest: str,
                  **kw: Any) -> None:  # fmt: skip
        real_copy(self, root, source, dest_root, dest, **kw)
        steps.append(dest)
        assert not missing_from(folder)
        if dest == "segments.json" and "head.json" not in steps:
            assert "journal" not in the_list(folder)  # journal.log still in force

    def delete_files(self: rcd.Daemon, root: str, paths: list[str], work: Path, **kw: Any) -> int:
        assert {"audit.log", "journal.log"} <= set(paths)
        assert set(the_list(folder)) == {"format", "audit", "journal"}  # the new ones in place
        steps.append("delete")
        return real_delete(self, root, paths, work, **kw)

    monkeypatch.setattr(rcd.Daemon, "copy_file", copy_file)
    monkeypatch.setattr(rcd.Daemon, "delete_files", delete_files)
    result = sync_remote(vault, name, str(folder))
    monkeypatch.undo()
    assert steps == ["segments.json", "head.json", "segments.json", "delete"]
    assert not result.full
    held = files_in(folder)
    assert "audit.log" not in held and "journal.log" not in held
    assert same_as_vault(folder, vault.root) == [] and not missing_from(folder)
    state = load_state(vault.root, name, str(folder))
    assert "audit.log" not in state.files and set(state.logs) == {"audit", "journal"}
    assert cli_run(vault.root, "verify", "--remote", name).exit_code == 0
    assert sync_remote(vault, name, str(folder)).up_to_date


def test_recover_from_a_new_and_from_an_old_remote(
    local_remote: tuple[Vault, str, Path], tmp_path: Path
) -> None:
    """The journal's documents and the audit log come back from either layout;
    the recovered vault's first sync moves an old remote to segments."""
    vault, name, folder = local_remote
    fold(vault)
    store_documents(vault.root, 2, tmp_path / "more", size=64)  # journaled, not folded
    sync_remote(vault, name, str(folder))
    sent_audit = remote_log(folder, "audit")
    assert sent_audit and remote_log(folder, "journal")
    old = tmp_path / "old-remote"
    shutil.copytree(folder, old)
    for kind in ("audit", "journal"):  # the layout of an earlier version
        (old / f"{kind}.log").write_bytes(remote_log(old, kind) or b"")
        shutil.rmtree(old / kind)
    (old / "segments.json").unlink()

    for source, dest in ((folder, tmp_path / "from-new"), (old, tmp_path / "from-old")):
        done = CliRunner().invoke(
            cli,
            ["recover", "--from", str(source), "--to", str(dest)],
            env={"VAULT_PASSPHRASE": PASSPHRASE},
        )
        assert done.exit_code == 0, done.output
        assert "Restored 5 documents" in done.output, (done.output, done.stderr)
        assert (dest / "audit.log").read_bytes().startswith(sent_audit)
        assert cli_run(dest, "audit", "verify").exit_code == 0
        args = ["--vault", str(dest), "list", "--json"]
        shown = CliRunner().invoke(cli, args, env={"VAULT_PASSPHRASE": PASSPHRASE})
        listing = json.loads(shown.stdout)
        assert len(listing) == 5
    recovered = Vault.open(tmp_path / "from-old")
    state = load_state(recovered.root, "origin", str(old))
    assert "audit.log" in state.files and not state.logs  # recorded as the remote holds it
    synced = sync_remote(recovered, "origin", str(old))
    assert not synced.full
    held = files_in(old)
    assert "audit.log" not in held and "journal.log" not in held and "segments.json" in held
    assert same_as_vault(old, recovered.root) == [] and not missing_from(old)
    assert cli_run(recovered.root, "verify", "--remote", "origin").exit_code == 0


def test_the_read_back_draws_from_the_log_segments_too(
    local_remote: tuple[Vault, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each sync's read-back (``sample.py``) may pick a segment: its size is known
    from the list although no such file is in the vault folder."""
    from sync import sample

    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    drawn: list[dict[str, int | None]] = []
    real_choose = sample.choose

    def choose(paths: Any, size_of: Any, *args: Any, **kw: Any) -> dict[str, int]:
        drawn.append({rel: size_of(rel) for rel in paths if rel.startswith(("audit/", "journal/"))})
        return real_choose(paths, size_of, *args, **kw)

    monkeypatch.setattr(sample, "choose", choose)
    sync_remote(vault, name, str(folder))
    listed = {
        f"{kind}/{sha}": size
        for kind in ("audit", "journal")
        for sha, size, _ in the_list(folder)[kind]["segments"]
    }
    assert drawn == [listed] and listed


def test_a_segment_left_by_a_killed_sync_is_removed_by_the_next(
    local_remote: tuple[Vault, str, Path],
) -> None:
    """Killed after a segment arrived and before the record of it was saved: the
    remote holds a segment no list names; the next sync removes it."""
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    stray = b"an entry sent by a sync that was killed\n"
    left = folder / "audit" / hashlib.sha256(stray).hexdigest()
    left.write_bytes(stray)
    result = sync_remote(vault, name, str(folder))
    assert not result.full and not left.exists()
    assert same_as_vault(folder, vault.root) == []
    assert sync_remote(vault, name, str(folder)).up_to_date


def test_recover_refuses_a_damaged_journal_segment(
    local_remote: tuple[Vault, str, Path], tmp_path: Path
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    victim = next(p for p in sorted(files_in(folder)) if p.startswith("journal/"))
    data = bytearray((folder / victim).read_bytes())
    data[5] ^= 0x01
    (folder / victim).write_bytes(bytes(data))
    dest = tmp_path / "restored"
    done = CliRunner().invoke(
        cli,
        ["recover", "--from", str(folder), "--to", str(dest)],
        env={"VAULT_PASSPHRASE": PASSPHRASE},
    )
    assert done.exit_code == 4, done.output
    assert f"{victim} on the remote" in done.output and "corrupt" in done.output
    assert not (dest / "config.json").exists()


def test_recover_with_a_damaged_audit_segment_restores_the_documents_and_says_so(
    local_remote: tuple[Vault, str, Path], tmp_path: Path
) -> None:
    """The documents matter more than the log of who looked at them: a damaged
    audit segment does not stop a recovery, but it is named, exit 4, and recorded."""
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    grow_audit(vault.root, 40)
    sync_remote(vault, name, str(folder))
    victim = sorted(p for p in files_in(folder) if p.startswith("audit/"))[-1]
    data = bytearray((folder / victim).read_bytes())
    data[5] ^= 0x01
    (folder / victim).write_bytes(bytes(data))
    dest = tmp_path / "restored"
    env = {"VAULT_PASSPHRASE": PASSPHRASE}
    done = CliRunner().invoke(cli, ["recover", "--from", str(folder), "--to", str(dest)], env=env)
    assert done.exit_code == 4, done.output
    assert "audit log is damaged" in done.output and victim in done.output
    assert (dest / "config.json").exists()
    listed = CliRunner().invoke(cli, ["--vault", str(dest), "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.stdout)) == 3
    entries = [json.loads(line) for line in (dest / "audit.log").read_text().splitlines()]
    recovered = [e for e in entries if e["event"] == "recover"]
    assert recovered and recovered[-1]["detail"]["audit_damaged"] == 1
    assert CliRunner().invoke(cli, ["--vault", str(dest), "sync"], env=env).exit_code == 0


def test_recover_notices_an_audit_log_cut_short_on_the_backup(
    local_remote: tuple[Vault, str, Path], tmp_path: Path
) -> None:
    """Nothing on the remote needs a key to rewrite the segment list: one that
    names a shorter, unbroken log (an attacker hiding who looked at what) is
    caught by the head's audit tip, as `vault verify --remote` catches it."""
    vault, name, folder = local_remote
    grow_audit(vault.root, 5)
    fold(vault)  # a new head, whose audit tip is past those entries
    sync_remote(vault, name, str(folder))
    lines = vault.layout.audit.read_bytes().splitlines(keepends=True)
    tip = vault.head()
    assert tip is not None and tip.audit[0] > 2
    short = b"".join(lines[: tip.audit[0] - 2])  # an unbroken chain, two entries short
    digest = hashlib.sha256(short).hexdigest()
    (folder / "audit" / digest).write_bytes(short)
    listed = the_list(folder)
    listed["audit"] = {"size": len(short), "sha256": digest, "segments": [[digest, len(short), -1]]}
    (folder / "segments.json").write_text(json.dumps(listed))
    dest = tmp_path / "restored"
    env = {"VAULT_PASSPHRASE": PASSPHRASE}
    done = CliRunner().invoke(cli, ["recover", "--from", str(folder), "--to", str(dest)], env=env)
    assert done.exit_code == 4, done.output
    assert "audit log is damaged" in done.output and "cut short" in done.output
    assert (dest / "config.json").exists()
    entries = [json.loads(line) for line in (dest / "audit.log").read_text().splitlines()]
    assert entries[-1]["event"] == "recover" and entries[-1]["detail"]["audit_damaged"] == 1
