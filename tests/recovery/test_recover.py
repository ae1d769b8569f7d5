"""``vault recover``: a new computer, the backup, and the passphrase or the sealed key.

The vault's own folder is never used here (the computer was stolen): each
test recovers from a copy of the backup into a new folder, with the real
rclone (a local folder, or a loopback ``rclone serve s3``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recovery import fetch
from recovery.progress import Progress
from recovery.restore import STOP_AT, recover
from recovery.trust import Credentials
from sync.backup import sync_remote
from sync.snapshot import HEAD
from tests.conftest import CANARY, make_pdf
from tests.pty_session import Terminal
from tests.recovery.conftest import (
    Backup,
    as_json,
    exported,
    recover_with_key,
    run,
    run_key,
    store,
    tree,
)
from tests.sync.remote_folder import append_to_log, remote_log
from tests.sync.s3server import free_port
from vault import crypto
from vault.errors import RemoteError
from vault.head import Head, read_head
from vault.repository import Vault


def head_of(folder: Path) -> Head:
    found = read_head(folder / HEAD)
    assert found is not None
    return found[0]


def test_recover_with_the_passphrase_from_a_loopback_server(
    backup: Backup, s3_remote: tuple[str, Path], tmp_path: Path
) -> None:
    path, folder = s3_remote
    dest = tmp_path / "new-computer" / "vault"
    result = run(None, "recover", "--from", path, "--to", str(dest))
    assert result.exit_code == 0, result.output
    head = head_of(folder)
    assert f"{head.short} (number {head.seq}" in result.stdout
    assert "compare these with the last committee report" in result.stdout
    assert f"Restored {len(backup.listing)} documents" in result.stdout

    key = backup.key_file
    assert as_json(run_key(dest, key, "list", "--json")) == backup.listing
    assert as_json(run_key(dest, key, "search", CANARY, "--json")) == backup.found
    assert run(dest, "verify").exit_code == 0
    assert run(dest, "audit", "verify").exit_code == 0
    assert exported(dest, backup.emergency_secret, tmp_path / "out") == backup.originals
    configured = as_json(run(dest, "remote", "list", "--json"))
    assert {"name": "origin", "path": path} in configured  # (and the old computer's "usb")
    assert "other remotes are kept (usb)" in result.stderr

    # The next sync continues the backup (no fork, no full resend): the new head
    # (it names this computer's signing key), its catalog snapshot, the audit
    # log's new segment, and the segment list before and after the head (the
    # journal, folded in here, is emptied: its segment goes).
    before = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    synced = sync_remote(Vault.open(dest), "origin", path)
    assert not synced.full and not synced.notes
    assert synced.uploaded <= 5, synced
    after = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {p.split("/")[0] for p in after - before} <= {"catalog", "audit"}
    assert all(p.endswith(".age") for p in after - before if p.startswith("catalog/"))
    assert len(after - before) <= 2
    assert {p.split("/")[0] for p in before - after} <= {"journal", "catalog"}
    assert head_of(folder).seq == head.seq + 1


def sheet_image(secret: str, folder: Path) -> Path:
    """A photo of the emergency sheet, as a phone would give it: the PDF rendered to PNG."""
    from vault.emergency_sheet import write_emergency_sheet

    pdf = folder / "sheet.pdf"
    write_emergency_sheet(
        pdf, secret_key=secret, vault_id="0123456789abcdef", centre_name="Test Centre",
        created=datetime(2026, 5, 1, tzinfo=UTC),
    )  # fmt: skip
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(folder / "sheet")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return folder / "sheet.png"


@pytest.mark.parametrize("given", ["typed", "file", "image"])
def test_recover_with_the_emergency_key(
    backup: Backup, remote: Path, tmp_path: Path, given: str
) -> None:
    secret = backup.emergency_secret
    typed = None
    if given == "typed":  # as read off the sheet: in groups, lower case, at the prompt
        key, typed = "-", " ".join(secret[i : i + 8] for i in range(0, len(secret), 8)).lower()
    elif given == "file":
        key = str(backup.key_file)
    else:
        key = str(sheet_image(secret, tmp_path))
    dest = tmp_path / "vault"
    result = run(
        None, "recover", "--from", str(remote), "--to", str(dest),
        "--emergency-key", key, "--reason", "office burgled, minutes 2026-12-01",
        env={"VAULT_PASSPHRASE": ""}, input=None if typed is None else typed + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "vault passwd" in result.stderr and "emergency-sheet" in result.stderr
    uses = [e for e in Vault.open(dest).audit.entries() if e.event == "emergency-use"]
    assert uses[-1].detail["reason"] == "office burgled, minutes 2026-12-01"
    status = as_json(run(dest, "status", "--json"))
    assert "office burgled" in json.dumps(status["emergency_uses"])
    assert exported(dest, secret, tmp_path / "out") == backup.originals


def test_wrong_keys_write_nothing(backup: Backup, remote: Path, tmp_path: Path) -> None:
    dest = tmp_path / "vault"
    wrong = crypto.generate_identity()[0]
    result = run(
        None, "recover", "--from", str(remote), "--to", str(dest),
        "--emergency-key", "-", "--reason", "test", input=wrong + "\n",
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "wrong emergency key" in result.output
    result = run(
        None, "recover", "--from", str(remote), "--to", str(dest),
        env={"VAULT_PASSPHRASE": "Wrong Horse 42"},
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "wrong passphrase" in result.output
    assert not dest.exists()


def test_missing_catalog_snapshot_is_rebuilt_from_the_manifests(
    backup: Backup, remote: Path, tmp_path: Path
) -> None:
    (remote / "catalog" / f"{head_of(remote).catalog}.age").unlink()
    dest = tmp_path / "vault"
    result = recover_with_key(remote, dest, backup.key_file)
    assert result.exit_code == 0, result.output
    assert "rebuilt from the document manifests" in result.stdout
    assert as_json(run_key(dest, backup.key_file, "list", "--json")) == backup.listing
    assert run(dest, "audit", "verify").exit_code == 0


def test_missing_and_corrupt_objects_are_named_and_the_rest_restored(
    backup: Backup, remote: Path, tmp_path: Path
) -> None:
    by_name = backup.rows
    gone = by_name[f"{CANARY}-referral-0.pdf"]
    spoilt = by_name["recording.pdf"]  # in parts: spoil its second part
    gone_id = gone["original"]
    spoilt_id = spoilt["original"].split(",")[1]
    (remote / "objects" / gone_id[:2] / gone_id).unlink()
    part = remote / "objects" / spoilt_id[:2] / spoilt_id
    data = bytearray(part.read_bytes())
    data[100] ^= 1
    part.write_bytes(bytes(data))
    dest = tmp_path / "vault"
    result = recover_with_key(remote, dest, backup.key_file)
    assert result.exit_code == 4, result.output
    assert f"{gone['id']} {gone['name']}: missing file {gone_id}" in result.stderr
    assert f"{spoilt['id']} {spoilt['name']}: corrupt file {spoilt_id}" in result.stderr
    assert "2 files of the backup are missing or corrupt" in result.stderr
    checked = run(dest, "verify")  # still named in the index: verify reports them
    assert checked.exit_code == 4 and gone_id in checked.output and spoilt_id in checked.output
    vault = Vault.open(dest)
    with vault.lock:
        vault.unlock_with_emergency_key(backup.emergency_secret, "test")
        for row in backup.listing:
            if row["id"] in (gone["id"], spoilt["id"]):
                continue
            out = tmp_path / row["id"]
            vault.export(row["id"], out)
            assert out.read_bytes() == backup.originals[row["name"]]


def test_a_document_whose_manifest_the_backup_lacks_is_named_and_the_rest_restored(
    backup: Backup, remote: Path, tmp_path: Path
) -> None:
    """The catalog's deltas take a row's text from its manifest: the one the
    backup lacks leaves its document out (named), not the whole recovery."""
    gone = backup.rows[f"{CANARY}-referral-0.pdf"]
    manifest = str(gone["manifest"])
    (remote / "manifests" / manifest[:2] / manifest).unlink()
    dest = tmp_path / "vault"
    result = recover_with_key(remote, dest, backup.key_file)
    assert result.exit_code == 4, result.output
    assert f"{gone['id']} {gone['name']}: missing file {manifest}" in result.stderr
    listed = as_json(run_key(dest, backup.key_file, "list", "--json"))
    assert listed == [row for row in backup.listing if row["id"] != gone["id"]]


def _forge_head(remote: Path) -> None:
    """A head made by someone holding only the public key: a catalog of their own,
    encrypted to the vault's public key, and a MAC under a key they made up."""
    from vault.catalog import Catalog

    recipient = crypto.parse_recipient((remote / "keys" / "data.pub").read_text())
    blob = crypto.encrypt_bytes(Catalog.new().to_bytes(), [recipient])
    catalog_id = hashlib.sha256(blob).hexdigest()
    (remote / "catalog" / f"{catalog_id}.age").write_bytes(blob)
    index = b"{}"
    index_id = hashlib.sha256(index).hexdigest()
    (remote / "catalog" / f"{index_id}.idx").write_bytes(index)
    real = head_of(remote)
    forged = Head(real.seq + 1, real.time, 0, catalog_id, index_id, real.audit)
    record = json.loads(forged.body())
    record["mac"] = hmac.new(os.urandom(32), forged.body(), hashlib.sha256).hexdigest()
    (remote / HEAD).write_text(json.dumps(record))


def test_a_forged_head_is_refused_and_nothing_written(
    backup: Backup, remote: Path, tmp_path: Path
) -> None:
    _forge_head(remote)
    dest = tmp_path / "vault"
    result = recover_with_key(remote, dest, backup.key_file)
    assert result.exit_code == 4, result.output
    assert "head.json on the remote failed its authenticity check" in result.stderr
    assert not dest.exists()


def _recover_quietly(remote: Path, dest: Path, secret: str) -> None:
    recover(str(remote), dest, lambda: Credentials(emergency_key=secret, reason="test"))


def _add_and_sync(dest: Path, remote: Path, inbox: Path, secret: str, *, fold: bool) -> str:
    """Store one more document in the vault at ``dest`` (without the key), fold it in
    if asked, sync to ``remote``; return its file name."""
    inbox.mkdir()
    src = make_pdf(inbox / "late-referral.pdf", f"{CANARY} late referral")
    vault = Vault.open(dest)
    with vault.lock:
        store(vault, src, f"{CANARY} late referral")
        if fold:
            vault.unlock_with_emergency_key(secret, "test")
            vault.fold_journal()
    sync_remote(Vault.open(dest), "usb", str(remote))
    return src.name


def test_documents_in_the_remote_journal_are_recovered(
    backup: Backup, remote: Path, tmp_path: Path
) -> None:
    secret = backup.emergency_secret
    first = tmp_path / "first"
    _recover_quietly(remote, first, secret)
    added = _add_and_sync(first, remote, tmp_path / "inbox", secret, fold=False)
    assert remote_log(remote, "journal")  # stored, not yet folded
    dest = tmp_path / "vault"
    # Killed once the journal was folded in, just before config.json: run again.
    assert _recover_in_a_process(remote, dest, backup.key_file, "config") == -9
    result = recover_with_key(remote, dest, backup.key_file)
    assert result.exit_code == 0, result.output
    names = [row["name"] for row in as_json(run_key(dest, backup.key_file, "list", "--json"))]
    assert sorted(names) == sorted([*backup.originals, added])
    assert run(dest, "verify").exit_code == 0


def test_an_older_genuine_head_is_refused_with_expect_state(
    backup: Backup, remote: Path, tmp_path: Path
) -> None:
    secret = backup.emergency_secret
    old = tmp_path / "old-remote"
    shutil.copytree(remote, old)
    first = tmp_path / "first"
    _recover_quietly(remote, first, secret)
    _add_and_sync(first, remote, tmp_path / "inbox", secret, fold=True)
    current = head_of(remote)
    assert current.seq > head_of(old).seq
    for rel in (HEAD, *(f"catalog/{p.name}" for p in (old / "catalog").iterdir())):
        shutil.copy(old / rel, remote / rel)  # rolled back by someone with the old files
    dest = tmp_path / "vault"
    result = recover_with_key(remote, dest, backup.key_file, "--expect-state", current.short)
    assert result.exit_code == 4, result.output
    assert f"not {current.short}" in result.stderr
    assert not dest.exists()


def _recover_in_a_process(remote: Path, dest: Path, key: Path, stop_at: str) -> int:
    env = dict(os.environ, **{STOP_AT: stop_at})
    env.pop("VAULT_PASSPHRASE", None)
    done = subprocess.run(
        [sys.executable, "-m", "vault", "recover", "--from", str(remote), "--to", str(dest),
         "--emergency-key", str(key), "--reason", "test", "--quiet"],
        env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    return done.returncode


def _verified(dest: Path) -> set[str]:
    """Objects and manifests whose hash is right, in place or in the staging folder."""
    found = set()
    for root in (dest, dest / "tmp" / "recover"):
        for store_dir in ("objects", "manifests"):
            for p in (root / store_dir).rglob("*"):
                if p.is_file() and hashlib.sha256(p.read_bytes()).hexdigest() == p.name:
                    found.add(p.relative_to(root).as_posix())
    return found


def test_a_killed_recovery_resumes_without_downloading_twice(
    backup: Backup, remote: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "vault"
    for point in ("verified", "checked:3", "downloaded", "objects", "config"):
        before = _verified(dest) if dest.exists() else set()
        returncode = _recover_in_a_process(remote, dest, backup.key_file, point)
        assert returncode == -9, point  # SIGKILL at that point
        assert not (dest / "config.json").exists()
        if point == "verified":
            assert not dest.exists()  # nothing written before the key and head are checked
        assert before <= (_verified(dest) if dest.exists() else set())  # nothing lost
    before = _verified(dest)
    assert before  # files verified by the killed runs
    result = recover(
        str(remote),
        dest,
        lambda: Credentials(emergency_key=backup.emergency_secret, reason="test"),
    )
    assert not set(result.downloaded) & before  # nothing verified is downloaded again
    assert result.kept >= len(before)
    clean = tmp_path / "clean"
    _recover_quietly(remote, clean, backup.emergency_secret)
    # What was restored is byte-identical: objects, manifests, keys, the index and the
    # journal. (Each run then saves a new head naming this computer's new signing key,
    # with a freshly encrypted catalog snapshot, and logs its own audit entries.)
    leave_out = ("audit.log", "remotes/", "lock", "head.json", "anchor.json", "local/")

    def restored(root: Path) -> dict[str, bytes]:
        found = tree(root, leave_out=leave_out)
        return {
            k: v for k, v in found.items() if not (k.startswith("catalog/") and k.endswith(".age"))
        }

    assert restored(dest) == restored(clean)
    assert any(k.startswith("objects/") for k in restored(dest)) and "keys/data.pub" in restored(
        dest
    )
    assert run(dest, "verify").exit_code == 0


def test_an_unreachable_remote_fails_fast_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RCLONE_CONFIG_GONE_TYPE", "webdav")
    monkeypatch.setenv("RCLONE_CONFIG_GONE_URL", f"http://127.0.0.1:{free_port()}/")
    dest = tmp_path / "vault"
    started = time.monotonic()
    result = run(None, "recover", "--from", "gone:vault", "--to", str(dest))
    assert result.exit_code == 5, result.output
    assert time.monotonic() - started < 10
    assert not dest.exists()


def test_an_rclone_remote_not_set_up_here_says_how(tmp_path: Path) -> None:
    dest = tmp_path / "vault"
    result = run(None, "recover", "--from", "nosuchremote:vault", "--to", str(dest))
    assert result.exit_code == 5, result.output
    assert "rclone config" in result.stderr
    assert not dest.exists()


def test_progress_counts_bytes_and_documents(backup: Backup, remote: Path, tmp_path: Path) -> None:
    seen: list[Progress] = []
    recover(
        str(remote),
        tmp_path / "vault",
        lambda: Credentials(emergency_key=backup.emergency_secret, reason="test"),
        on_progress=seen.append,
    )
    first, last = seen[0], seen[-1]
    assert first.bytes_done == 0 and first.documents_done == 0
    assert last.bytes_done == last.bytes_total > 0
    assert last.documents_done == last.documents_total == len(backup.listing)


def test_a_catalog_that_does_not_match_the_head_is_refused_unless_rebuilt(
    backup: Backup, remote: Path, tmp_path: Path
) -> None:
    snapshot = remote / "catalog" / f"{head_of(remote).catalog}.age"
    snapshot.write_bytes(snapshot.read_bytes()[:-1] + b"x")
    dest = tmp_path / "vault"
    args = ["recover", "--from", str(remote), "--to", str(dest),
            "--emergency-key", str(backup.key_file), "--reason", "test"]  # fmt: skip
    refused = run(None, *args)
    assert refused.exit_code == 4, refused.output
    assert f"on the remote: catalog/{snapshot.name} does not match the head" in refused.stderr
    assert not dest.exists()
    rebuilt = run(None, *args, "--rebuild-catalog")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert as_json(run_key(dest, backup.key_file, "list", "--json")) == backup.listing


@pytest.mark.parametrize("few", [100, 0], ids=["asked-file-by-file", "listed"])
def test_only_what_the_head_and_journal_name_is_brought_in(
    backup: Backup, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    monkeypatch.setattr(fetch, "_FEW", few)  # both ways rclone is told which files to copy
    stray = os.urandom(300)
    stray_id = hashlib.sha256(stray).hexdigest()
    (remote / "objects" / stray_id[:2]).mkdir(exist_ok=True)
    (remote / "objects" / stray_id[:2] / stray_id).write_bytes(stray)  # named by nothing
    (remote / "notes.txt").write_text("not the vault's")
    line = json.dumps({"manifest": "../../x", "size": 1, "objects": {}}) + "\n"
    append_to_log(remote, "journal", line.encode())  # a line naming a path, not an id
    dest = tmp_path / "vault"
    _recover_quietly(remote, dest, backup.emergency_secret)
    assert not (dest / "objects" / stray_id[:2] / stray_id).exists()
    assert not (dest / "notes.txt").exists()
    assert "../../x" not in (dest / "journal.log").read_text()
    assert run(dest, "verify").exit_code == 0


def test_a_journal_entry_not_signed_by_the_heads_signing_key_is_left_out(
    backup: Backup, remote: Path, tmp_path: Path
) -> None:
    """Someone with only the public key adds a document to the backup's journal."""
    recipient = crypto.parse_recipient((remote / "keys" / "data.pub").read_text())
    original = crypto.encrypt_bytes(b"%PDF-1.4 forged", [recipient])
    manifest = crypto.encrypt_bytes(
        json.dumps({
            "format": 1, "doc_id": "D-F0RGED", "original": hashlib.sha256(original).hexdigest(),
            "name": "forged.pdf", "media_type": "application/pdf", "size": 15,
            "received": "2026-12-01T00:00:00+00:00",
        }).encode(),
        [recipient],
    )  # fmt: skip
    ids = {}
    for folder, blob in (("objects", original), ("manifests", manifest)):
        object_id = hashlib.sha256(blob).hexdigest()
        (remote / folder / object_id[:2]).mkdir(exist_ok=True)
        (remote / folder / object_id[:2] / object_id).write_bytes(blob)
        ids[folder] = object_id
    entry = {"manifest": ids["manifests"], "size": len(manifest),
             "objects": {ids["objects"]: len(original)}, "signed": False,
             "sig": "ed25519:" + "A" * 86 + "=="}  # fmt: skip
    append_to_log(remote, "journal", json.dumps(entry, sort_keys=True).encode() + b"\n")
    dest = tmp_path / "vault"
    result = recover_with_key(remote, dest, backup.key_file)
    assert result.exit_code == 4, result.output
    assert f"journal entry {ids['manifests'][:12]}: not signed" in result.stderr
    names = [row["name"] for row in as_json(run_key(dest, backup.key_file, "list", "--json"))]
    assert sorted(names) == sorted(backup.originals)  # the rest, and not the forgery
    assert not (dest / "objects" / ids["objects"][:2] / ids["objects"]).exists()
    assert run(dest, "verify").exit_code == 0


def test_a_progress_bar_on_a_terminal(backup: Backup, remote: Path, tmp_path: Path) -> None:
    from tests.integration.agecmd import run_with_passphrase

    dest = tmp_path / "vault"
    argv = [sys.executable, "-m", "vault", "recover", "--from", str(remote), "--to", str(dest),
            "--emergency-key", str(backup.key_file), "--reason", "test"]  # fmt: skip
    returncode, output, _ = run_with_passphrase(argv, "unused", timeout=120)
    assert returncode == 0, output
    assert "recover: 0 B/" in output and f"0/{len(backup.listing)} documents" in output
    assert f"{len(backup.listing)}/{len(backup.listing)} documents" in output


def test_a_recovery_cut_off_part_way_resumes(
    backup: Backup, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The USB disk is pulled out part-way (exit 5); the next run fetches only the rest."""
    monkeypatch.setenv("RCLONE_BWLIMIT", "100k")  # slow enough to be cut off part-way
    away = tmp_path / "unplugged"

    def unplug(progress: Progress) -> None:
        if progress.files_done and remote.exists():
            remote.rename(away)

    dest = tmp_path / "vault"
    ask = lambda: Credentials(emergency_key=backup.emergency_secret, reason="test")  # noqa: E731
    with pytest.raises(RemoteError):
        recover(str(remote), dest, ask, on_progress=unplug)
    checked_before = _verified(dest)
    assert checked_before and not (dest / "config.json").exists()
    monkeypatch.delenv("RCLONE_BWLIMIT")
    away.rename(remote)  # plugged in again
    result = recover(str(remote), dest, ask)
    assert not set(result.downloaded) & checked_before
    assert result.kept >= len(checked_before) and result.ok
    assert run(dest, "verify").exit_code == 0


def test_three_wrong_passphrases_at_the_prompt_then_the_envelope(
    backup: Backup, remote: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VAULT_PASSPHRASE"}
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "run")  # no agent of another test
    dest = tmp_path / "new-computer" / "vault"
    terminal = Terminal(["recover", "--from", str(remote), "--to", str(dest)], env)
    for n in range(3):
        terminal.expect("Passphrase:")
        terminal.send(f"Wrong Horse {n}")
        if n < 2:
            before = terminal.expect("try again")
            assert "emergency" not in before
    assert terminal.finish() == 3
    last = terminal.seen.split("Passphrase:")[-1]
    assert "wrong passphrase (3 tries)" in last and "emergency" in last
    assert not dest.exists() or not any(dest.iterdir())
