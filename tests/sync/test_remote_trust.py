"""Nothing that comes back from a remote is trusted for being there: a forged or
rolled-back head, forged files, a truncated snapshot, a remote that is the
vault itself, a remote that goes silent; and what the vault writes to a
folder remote is private. Real rclone, a local-folder remote, the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sync import rcd, rclone
from tests.conftest import PASSPHRASE
from tests.sync.conftest import store_documents
from tests.sync.remote_folder import (
    append_to_log,
    files_in,
    missing_from,
    named_by_head,
    remote_log,
)
from vault import crypto
from vault.cli import cli
from vault.keys import KeyPaths, read_recipient
from vault.repository import Vault


def run(runner: CliRunner, vault_dir: Path, *args: str) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def sync(runner: CliRunner, vault_dir: Path, *args: str) -> Result:
    result = run(runner, vault_dir, "sync", *args)
    assert result.exit_code == 0, result.output
    return result


def fold(vault_dir: Path, *, compact: bool = False) -> None:
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.fold_journal()
        if compact:  # the catalog as one new base: its files all change
            vault.save_catalog(compact=True)


def vault_files(root: Path) -> dict[str, bytes]:
    """Every file the vault's records live in (not its working folders)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] not in ("tmp", "remotes")
    }


@pytest.fixture
def synced(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A vault with three documents, folded, backed up to folder remote 'usb'."""
    store_documents(vault_dir, 3, tmp_path / "inbox")
    fold(vault_dir)
    folder = tmp_path / "usb"
    assert run(runner, vault_dir, "remote", "add", "usb", str(folder), "--create").exit_code == 0
    sync(runner, vault_dir)
    assert (folder / "head.json").read_bytes() == (vault_dir / "head.json").read_bytes()
    return vault_dir, folder


def forge_head(folder: Path) -> None:
    """Replace the remote's head with a forged one of the same size: an empty
    index put on the remote, an all-zero MAC (what anyone can write)."""
    genuine = (folder / "head.json").read_bytes()
    record = json.loads(genuine)
    empty = b"{}"
    index = hashlib.sha256(empty).hexdigest()
    (folder / "catalog" / f"{index}.idx").write_bytes(empty)
    forged = genuine.replace(record["index"].encode(), index.encode())
    forged = forged.replace(record["mac"].encode(), b"0" * len(record["mac"]))
    assert len(forged) == len(genuine) and forged != genuine
    (folder / "head.json").write_bytes(forged)


# --- item 3: a forged head ---------------------------------------------------------


def test_forged_head_fails_verify_and_the_next_sync_puts_ours_back(
    runner: CliRunner, synced: tuple[Path, Path]
) -> None:
    vault_dir, folder = synced
    forge_head(folder)
    assert not missing_from(folder)  # by its own head, the remote looks whole
    found = run(runner, vault_dir, "verify", "--remote", "usb", "--read-data")
    assert found.exit_code == 4, found.output
    assert "not the head this computer sent: head.json" in found.stdout
    assert "vault sync usb" in found.stderr
    status = json.loads(run(runner, vault_dir, "status", "--json").stdout)
    assert status["ok"] is False

    # Every object deleted as well: still caught, each one named.
    objects = [p for p in files_in(folder) if p.startswith(("objects/", "manifests/"))]
    for rel in objects:
        (folder / rel).unlink()
    found = run(runner, vault_dir, "verify", "--remote", "usb", "--json")
    assert found.exit_code == 4
    bad = {(b["id"], b["problem"]) for b in json.loads(found.stdout)["bad"]}
    assert ("head.json", "not the head this computer sent") in bad
    assert {rel.rsplit("/", 1)[1] for rel in objects} <= {i for i, p in bad if p == "missing"}

    again = sync(runner, vault_dir)  # plain sync: not --full
    assert "not as last left" in again.stderr and "head.json changed" in again.stderr
    assert (folder / "head.json").read_bytes() == (vault_dir / "head.json").read_bytes()
    assert not missing_from(folder)
    assert run(runner, vault_dir, "verify", "--remote", "usb", "--read-data").exit_code == 0


def test_a_sync_cut_off_before_its_record_is_no_forgery(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path
) -> None:
    """A sync killed after its files arrived but before it saved its record
    (the crash sweep finds this) leaves the remote holding what this computer
    has: not "changed". A file that is neither is still caught."""
    vault_dir, folder = synced
    record = vault_dir / "remotes"
    shutil.copytree(record, tmp_path / "record-before")
    store_documents(vault_dir, 1, tmp_path / "more")
    sync(runner, vault_dir)
    shutil.rmtree(record)
    shutil.copytree(tmp_path / "record-before", record)  # as if killed before saving it
    found = run(runner, vault_dir, "verify", "--remote", "usb", "--read-data")
    assert found.exit_code == 0, found.output

    append_to_log(folder, "journal", b'{"manifest": "forged"}\n')
    found = run(runner, vault_dir, "verify", "--remote", "usb")
    assert found.exit_code == 4 and "changed: segments.json" in found.stdout, found.output


def test_a_folder_remote_is_asked_for_sha256_alone(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local folder computes every hash asked for: once it has given SHA-256,
    MD5 is neither asked for nor recorded (the sync of a large vault would
    hash its audit log and journal twice)."""
    vault_dir, _ = synced
    asked: list[tuple[str, ...]] = []
    real_list = rcd.Daemon.list_files

    def list_files(self: rcd.Daemon, *args: Any, **kwargs: Any) -> Any:
        asked.append(tuple(kwargs.get("hashes", ())))
        return real_list(self, *args, **kwargs)

    monkeypatch.setattr(rcd.Daemon, "list_files", list_files)
    store_documents(vault_dir, 1, tmp_path / "more", size=64)
    sync(runner, vault_dir)
    sync(runner, vault_dir)
    assert asked == [("sha256",), ("sha256",)]
    files = json.loads((vault_dir / "remotes" / "usb.json").read_text())["files"]
    logs = [rel for rel in files if rel.startswith(("audit/", "journal/"))]
    assert logs and all("md5" not in files[rel] for rel in [*logs, "segments.json"])


@pytest.mark.parametrize(
    "victim", ["segments.json", "audit", "journal", "config.json", "keys/data.pub"]
)
def test_changed_replaceable_file_of_the_same_size_is_sent_again(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path, victim: str
) -> None:
    vault_dir, folder = synced
    store_documents(vault_dir, 1, tmp_path / "more", size=64)  # so the journal is not empty
    sync(runner, vault_dir)
    if victim in ("audit", "journal"):  # a segment of the log: named by its hash, and listed
        victim = next(p for p in sorted(files_in(folder)) if p.startswith(f"{victim}/"))
    data = bytearray((folder / victim).read_bytes())
    data[-2] ^= 0x01  # same size, one bit
    (folder / victim).write_bytes(bytes(data))
    found = run(runner, vault_dir, "verify", "--remote", "usb")
    assert found.exit_code == 4 and victim in found.stdout, found.output
    assert "vault sync usb" in found.stderr
    again = sync(runner, vault_dir)
    assert f"{victim} changed" in again.stderr
    if victim.startswith(("audit/", "journal/")):
        assert hashlib.sha256((folder / victim).read_bytes()).hexdigest() == victim[-64:]
    elif victim == "segments.json":  # as this computer last sent it
        files = json.loads((vault_dir / "remotes" / "usb.json").read_text())["files"]
        digest = hashlib.sha256((folder / victim).read_bytes()).hexdigest()
        assert files[victim]["sha256"] == digest
    else:
        assert (folder / victim).read_bytes() == (vault_dir / victim).read_bytes()
    assert remote_log(folder, "journal") == (vault_dir / "journal.log").read_bytes()
    assert run(runner, vault_dir, "verify", "--remote", "usb").exit_code == 0


def test_a_config_planted_on_our_remote_is_put_back_not_obeyed(
    runner: CliRunner, synced: tuple[Path, Path]
) -> None:
    """On a remote this computer backs up to, another vault's config.json is
    tampering to undo: it must not stop the backups."""
    vault_dir, folder = synced
    (folder / "config.json").write_text(json.dumps({"vault_id": "0123456789abcdef"}))
    again = sync(runner, vault_dir)
    assert "config.json" in again.stderr
    assert (folder / "config.json").read_bytes() == (vault_dir / "config.json").read_bytes()


def test_newer_head_with_a_valid_mac_passes_only_with_the_key(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later head than any this computer made or sent (a copy of the vault
    synced from elsewhere) is vouched for by its MAC, which needs the key."""
    vault_dir, folder = synced
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(vault_dir, elsewhere)
    store_documents(elsewhere, 1, tmp_path / "more", size=64)
    fold(elsewhere)
    for rel in files_in(elsewhere):
        if rel.startswith(("objects/", "manifests/", "catalog/")) or rel == "head.json":
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes((elsewhere / rel).read_bytes())
    sent = remote_log(folder, "audit") or b""  # with the audit log that holds its tip
    append_to_log(folder, "audit", (elsewhere / "audit.log").read_bytes()[len(sent) :])
    without = run(runner, vault_dir, "verify", "--remote", "usb")
    assert without.exit_code == 4 and "not the head this computer sent" in without.stdout
    monkeypatch.setenv("VAULT_PASSPHRASE", PASSPHRASE)
    found = run(runner, vault_dir, "verify", "--remote", "usb")
    assert found.exit_code == 0, found.output
    forge_head(folder)  # its seq is as new, but its MAC is not right
    assert run(runner, vault_dir, "verify", "--remote", "usb").exit_code == 4


# --- item 5: a rolled-back remote ----------------------------------------------------


def test_rolled_back_head_is_found_and_put_right_by_a_plain_sync(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, folder = synced
    fold(vault_dir, compact=True)
    sync(runner, vault_dir)
    old = {rel: (folder / rel).read_bytes() for rel in files_in(folder)}
    store_documents(vault_dir, 1, tmp_path / "more", size=64)
    fold(vault_dir, compact=True)
    sync(runner, vault_dir)
    current = (vault_dir / "head.json").read_bytes()
    assert current != old["head.json"]
    for rel, data in old.items():  # the older, genuine backup put back
        if rel == "head.json" or rel.startswith("catalog/"):
            (folder / rel).write_bytes(data)

    found = run(runner, vault_dir, "verify", "--remote", "usb")
    assert found.exit_code == 4 and "rolled back" in found.stdout
    assert "vault sync usb" in found.stderr

    # repair takes nothing from it: the stale snapshot never enters the vault.
    before = vault_files(vault_dir)
    repaired = run(runner, vault_dir, "repair", "usb")
    assert repaired.exit_code == 0, repaired.output
    assert "rolled back" in repaired.stdout and "vault sync usb" in repaired.stderr
    after = vault_files(vault_dir)
    assert {k: v for k, v in after.items() if k != "audit.log"} == {
        k: v for k, v in before.items() if k != "audit.log"
    }

    again = sync(runner, vault_dir)
    assert "not as last left" in again.stderr
    assert (folder / "head.json").read_bytes() == current
    stale = [rel for rel in old if rel.startswith("catalog/")]
    assert stale and not any((folder / rel).exists() for rel in stale)
    assert run(runner, vault_dir, "verify", "--remote", "usb", "--read-data").exit_code == 0


# --- item 4, repair: forged files never come in --------------------------------------


def test_repair_never_copies_in_files_forged_with_the_public_key(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, folder = synced
    recipient = read_recipient(KeyPaths(folder / "keys"))  # all an attacker needs
    blob = crypto.encrypt_bytes(b"%PDF-1.4 forged court order", [recipient])
    manifest = crypto.encrypt_bytes(
        json.dumps({"name": "court order.pdf", "family": "F-0042", "type": "court_order"}).encode(),
        [recipient],
    )
    forged = {}
    for store, data in (("objects", blob), ("manifests", manifest)):
        object_id = hashlib.sha256(data).hexdigest()
        rel = f"{store}/{object_id[:2]}/{object_id}"
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
        forged[store] = (object_id, rel, len(data))
    line = {
        "manifest": forged["manifests"][0],
        "size": forged["manifests"][2],
        "objects": {forged["objects"][0]: forged["objects"][2]},
        "signed": False,
    }
    segment = append_to_log(folder, "journal", json.dumps(line).encode() + b"\n")
    named = named_by_head(folder)
    assert named is not None and forged["objects"][1] in named  # the remote names them

    found = run(runner, vault_dir, "verify", "--remote", "usb")
    assert found.exit_code == 4 and "changed: segments.json" in found.stdout
    before = vault_files(vault_dir)
    repaired = run(runner, vault_dir, "repair", "usb")
    assert repaired.exit_code == 0, repaired.output
    for _, rel, _ in forged.values():
        assert not (vault_dir / rel).exists()
    after = vault_files(vault_dir)
    assert {k: v for k, v in after.items() if k != "audit.log"} == {
        k: v for k, v in before.items() if k != "audit.log"
    }

    sync(runner, vault_dir)  # our journal goes back; the forged files are removed
    assert remote_log(folder, "journal") == (vault_dir / "journal.log").read_bytes()
    assert not any((folder / rel).exists() for _, rel, _ in forged.values())
    assert not (folder / segment).exists()


def test_repair_still_restores_what_the_local_head_names(
    runner: CliRunner, synced: tuple[Path, Path]
) -> None:
    vault_dir, folder = synced
    stored = sorted(p for p in files_in(folder) if p.startswith(("objects/", "manifests/")))
    catalog = sorted(p for p in files_in(folder) if p.startswith("catalog/"))
    for rel in [stored[0], *catalog]:
        (vault_dir / rel).unlink()
    result = run(runner, vault_dir, "repair", "usb")
    assert result.exit_code == 0, result.output
    for rel in [stored[0], *catalog]:
        assert (vault_dir / rel).read_bytes() == (folder / rel).read_bytes()


# --- item 16: a truncated catalog snapshot -------------------------------------------


def test_truncated_remote_catalog_fails_the_quick_verify(
    runner: CliRunner, synced: tuple[Path, Path]
) -> None:
    vault_dir, folder = synced
    snapshot = next(
        p for p in sorted(files_in(folder)) if p.startswith("catalog/") and p.endswith(".age")
    )
    data = (folder / snapshot).read_bytes()
    (folder / snapshot).write_bytes(data[: len(data) // 2])
    found = run(runner, vault_dir, "verify", "--remote", "usb")  # sizes only, no download
    assert found.exit_code == 4
    assert f"wrong size: {snapshot}" in found.stdout


# --- item 9: private modes on a folder remote ----------------------------------------


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def modes(folder: Path) -> dict[str, str]:
    found = {".": oct(stat.S_IMODE(folder.stat().st_mode))}
    for path in folder.rglob("*"):
        found[path.relative_to(folder).as_posix()] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def test_folder_remote_is_written_private_whatever_the_umask(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, umask_022: None
) -> None:
    store_documents(vault_dir, 2, tmp_path / "inbox")
    folder = tmp_path / "usb"
    assert run(runner, vault_dir, "remote", "add", "usb", str(folder), "--create").exit_code == 0
    sync(runner, vault_dir)
    store_documents(vault_dir, 1, tmp_path / "more", size=64)
    fold(vault_dir)
    sync(runner, vault_dir)  # new folders, a replaced head, journal and log
    found = modes(folder)
    assert "keys/passphrase.age" in found and "head.json" in found
    wrong = {
        rel: mode
        for rel, mode in found.items()
        if mode != ("0o700" if (folder / rel).is_dir() else "0o600")
    }
    assert wrong == {}  # the folder itself ("."), made by 'remote add --create', too


def test_an_open_remote_folder_left_by_an_earlier_version_is_closed(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, umask_022: None
) -> None:
    store_documents(vault_dir, 1, tmp_path / "inbox")
    folder = tmp_path / "usb"
    folder.mkdir(mode=0o755)
    assert run(runner, vault_dir, "remote", "add", "usb", str(folder)).exit_code == 0
    sync(runner, vault_dir)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


# --- item 16: a remote that is the vault itself ---------------------------------------


def test_remote_that_is_the_vault_is_refused_however_spelt(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_documents(vault_dir, 1, tmp_path / "inbox")
    link = tmp_path / "backup-link"
    link.symlink_to(vault_dir)
    for path in (str(link), f":local:{vault_dir}", f":local:{link}/objects"):
        added = run(runner, vault_dir, "remote", "add", "self", path)
        assert added.exit_code == 2 and "overlaps the vault" in added.stderr, path
    before = vault_files(vault_dir)

    # Added before the link pointed at the vault (or config edited by hand).
    later = tmp_path / "later"
    assert run(runner, vault_dir, "remote", "add", "later", str(later), "--create").exit_code == 0
    later.rename(tmp_path / "later-marked")
    later.symlink_to(vault_dir)
    refused = run(runner, vault_dir, "sync", "later")
    assert refused.exit_code == 2 and "overlaps the vault" in refused.stderr

    # A named rclone remote of the local type: only rclone knows where it points.
    monkeypatch.setenv("RCLONE_CONFIG_MINE_TYPE", "local")
    assert run(runner, vault_dir, "remote", "add", "mine", f"mine:{vault_dir}").exit_code == 0
    refused = run(runner, vault_dir, "sync", "mine")
    assert refused.exit_code == 2 and "overlaps the vault" in refused.stderr
    after = vault_files(vault_dir)
    assert {k: v for k, v in after.items() if k != "config.json"} == {
        k: v for k, v in before.items() if k != "config.json"
    }


# --- item 16: a remote that goes silent mid-sync --------------------------------------


def test_the_stall_limit_is_tens_of_seconds() -> None:
    assert rcd.STALL_AFTER >= 5 and rcd.STALL_AFTER + rcd.PROBE_TIMEOUT <= 40


def test_a_slow_remote_that_still_answers_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No progress seen (as when rclone has counted a chunk it is still sending)
    is not enough to give up: the remote is asked, answers, and the copy goes on."""
    monkeypatch.setattr(rcd, "STALL_AFTER", 0.05)
    monkeypatch.setattr(rcd, "STALL_EVERY", 0.02)
    monkeypatch.setattr(rcd, "_progress", lambda stats: ())  # never seen to move
    asked: list[str] = []
    real_answers = rcd.Daemon._answers

    def answers(self: rcd.Daemon, root: str) -> bool:
        asked.append(root)
        return real_answers(self, root)

    monkeypatch.setattr(rcd.Daemon, "_answers", answers)
    monkeypatch.setattr(rclone, "DAEMON_FLAGS", [*rclone.DAEMON_FLAGS, "--bwlimit", "4M"])
    source, dest, work = tmp_path / "src", tmp_path / "dest", tmp_path / "work"
    work.mkdir()
    names = []
    for n in range(8):  # 4 MiB at 4 MiB/s: about a second
        (source / f"d{n}").mkdir(parents=True)
        (source / f"d{n}" / "f").write_bytes(os.urandom(512 * 1024))
        names.append(f"d{n}/f")
    with rcd.Daemon("copy") as daemon:
        sent = daemon.copy_files(source, str(dest), names, work, timeout=120)
    assert sent == len(names) and asked and set(asked) == {str(dest)}


def test_a_copy_that_only_failed_to_reach_the_remote_is_not_tried_again() -> None:
    unreachable = {
        "level": "error",
        "msg": "Failed to copy: dial tcp 127.0.0.1:9: connection refused",
    }
    other = {"level": "error", "msg": "Failed to copy: corrupted on transfer"}
    assert rcd._Job(False, "", {}, logs=[unreachable, unreachable]).hopeless()
    assert not rcd._Job(False, "", {}, logs=[unreachable, other]).hopeless()
    assert rcd._Job(False, "", {}, stalled=True).hopeless()
