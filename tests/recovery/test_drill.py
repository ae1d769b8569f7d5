"""``vault drill``: a restore rehearsal that never touches the live vault."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from sync.remotes import add_remote
from tests.conftest import PASSPHRASE
from tests.pty_session import Terminal
from tests.recovery.conftest import Backup, as_json, run, run_key
from tests.sync.s3server import free_port
from vault.paths import default_state_dir
from vault.repository import Vault


def listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of the vault but the audit log, with its size and modification time."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and p.name != "audit.log"
    }


def work_folders() -> set[str]:
    """The private work folders in the temp folder, and the head copies kept for vaults."""
    anchors = default_state_dir() / "anchors"
    return {p.name for p in Path(tempfile.gettempdir()).glob("centre-vault-*")} | {
        p.name for p in (anchors.iterdir() if anchors.is_dir() else [])
    }


def add(root: Path, name: str, path: str) -> None:
    vault = Vault.open(root)
    with vault.lock:
        add_remote(vault, name, path, create=True)


def test_a_drill_passes_on_a_good_backup_and_leaves_the_vault_alone(backup: Backup) -> None:
    before, folders = listing(backup.vault), work_folders()
    result = run_key(backup.vault, backup.key_file, "drill", "usb", "--all")
    assert result.exit_code == 0, result.output
    assert "Drill of usb passed" in result.stdout
    assert f"{len(backup.listing)} decrypted and compared" in result.stdout
    assert listing(backup.vault) == before
    assert work_folders() <= folders
    status = as_json(run(backup.vault, "status", "--json"))
    assert status["remotes"][0]["last_drill"]["ok"] is True
    assert not any("restore drill" in w for w in status["warnings"])
    assert run(backup.vault, "audit", "verify").exit_code == 0
    report = backup.vault.parent / "report.html"
    assert run(backup.vault, "report", "--out", str(report)).exit_code == 0
    assert "usb: last restore drill" in report.read_text()


def test_a_drill_fails_naming_the_document_of_a_corrupt_object(
    backup: Backup, tmp_path: Path
) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(backup.folder, damaged)
    row = backup.rows[next(iter(backup.rows))]
    object_id = row["original"].split(",")[0]
    path = damaged / "objects" / object_id[:2] / object_id
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    add(backup.vault, "damaged", str(damaged))
    before, folders = listing(backup.vault), work_folders()
    result = run_key(backup.vault, backup.key_file, "drill", "damaged")
    assert result.exit_code == 4, result.output
    assert f"damaged: {row['id']} {row['name']}: corrupt in the backup" in result.stderr
    assert "Drill of damaged FAILED" in result.stdout
    assert listing(backup.vault) == before
    assert work_folders() <= folders
    status = as_json(run(backup.vault, "status", "--json"))
    drilled = {r["name"]: r for r in status["remotes"]}["damaged"]
    assert drilled["last_drill"]["ok"] is False
    assert any("No restore drill of damaged" in w for w in status["warnings"])


def test_a_drill_of_an_unreachable_remote_exits_5_and_is_recorded(
    backup: Backup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RCLONE_CONFIG_GONE_TYPE", "webdav")
    monkeypatch.setenv("RCLONE_CONFIG_GONE_URL", f"http://127.0.0.1:{free_port()}/")
    add(backup.vault, "gone", "gone:vault")
    result = run_key(backup.vault, backup.key_file, "drill", "gone")
    assert result.exit_code == 5, result.output
    last = [e for e in Vault.open(backup.vault).audit.entries() if e.event == "drill"][-1]
    assert last.detail["remote"] == "gone" and last.detail["ok"] is False


def test_a_typo_at_the_drills_prompt_gets_another_try(backup: Backup, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VAULT_PASSPHRASE"}
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "run")
    terminal = Terminal(["--vault", str(backup.vault), "drill", "usb"], env)
    terminal.expect("Passphrase:")
    terminal.send("Wrong Horse 1")
    assert "emergency" not in terminal.expect("try again (2 tries left)")
    terminal.expect("Passphrase:")
    terminal.send(PASSPHRASE)
    assert terminal.finish() == 0, terminal.seen
    assert "Drill of usb passed" in terminal.seen
