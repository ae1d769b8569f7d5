"""``vault checkup`` on this machine, for real, and the report's policy checklist.

The disk check's answer is compared with what findmnt and lsblk say here,
read independently of the vault's own reading; a folder remote on the
vault's own filesystem, an rclone.conf other users can read and a stray
plaintext file in objects/ are each flagged; the committee report and
``vault status --json`` carry the checklist and nothing personal (no family
reference, no user name, no host name, no path).
"""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.conftest import CANARY, make_pdf
from vault.cli import cli

FAMILY = "F-7393"
ENCRYPTED_CONFIG = "# Encrypted rclone configuration File\n\nRCLONE_ENCRYPT_V0:\nxyz\n"


def run(runner: CliRunner, vault_dir: Path, *args: str) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def checkup(runner: CliRunner, vault_dir: Path) -> tuple[Result, dict[str, Any]]:
    result = run(runner, vault_dir, "checkup", "--json")
    return result, json.loads(result.stdout)


def by_name(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in found["checks"]}


@pytest.fixture(autouse=True)
def own_rclone_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """rclone's configuration is a file of this test's (none there, unless written)."""
    path = tmp_path / "rclone-config" / "rclone.conf"
    monkeypatch.setenv("RCLONE_CONFIG", str(path))
    return path


def _independent_disk_answer(folder: Path) -> str:
    """What findmnt and lsblk say of ``folder``'s disk, read here without the
    vault's code: "ok" when a crypt device lies on the way to every disk,
    "problem" when none does, "unknown" when the filesystem is on no listed disk."""
    mount = json.loads(
        subprocess.run(
            ["findmnt", "--json", "-T", str(folder), "-o", "SOURCE,FSTYPE,MAJ:MIN"],
            capture_output=True,
            check=True,
            text=True,
            timeout=30,
        ).stdout
    )["filesystems"][0]
    rows = json.loads(
        subprocess.run(
            ["lsblk", "--json", "--list", "-o", "NAME,KNAME,PATH,TYPE,PKNAME,MAJ:MIN"],
            capture_output=True,
            check=True,
            text=True,
            timeout=30,
        ).stdout
    )["blockdevices"]
    if mount["fstype"] in ("ecryptfs", "tmpfs"):
        return "ok"
    source = re.sub(r"\[.*\]$", "", mount["source"] or "")
    start = [r for r in rows if r["path"] == source or "/dev/" + r["kname"] == source]
    start = start or [r for r in rows if r["maj:min"] == mount["maj:min"]]
    if not start:
        return "unknown"
    crypted = []
    todo = [(start[0], False)]
    while todo:
        row, seen_crypt = todo.pop()
        seen_crypt = seen_crypt or row["type"] == "crypt"
        parents = [r for r in rows if r["kname"] == row["kname"] and r["pkname"]]
        if not parents:
            crypted.append(seen_crypt)
        for parent in parents:
            todo.extend((r, seen_crypt) for r in rows if r["kname"] == parent["pkname"])
    return "ok" if all(crypted) else "problem"


def test_disk_answer_is_what_findmnt_and_lsblk_say_here(runner: CliRunner, vault_dir: Path) -> None:
    result, found = checkup(runner, vault_dir)
    disk = by_name(found)["disk"]
    assert disk["state"] == _independent_disk_answer(vault_dir)
    assert disk["policy"].startswith("Laptops and desktops are encrypted")
    problems = [c for c in found["checks"] if c["state"] == "problem"]
    assert result.exit_code == (1 if problems else 0), result.output
    assert found["ok"] is (not problems)
    assert found["verdict"] in ("green", "amber", "red")
    for check in found["checks"]:
        assert check["state"] in ("ok", "warning", "problem", "unknown")
        assert check["policy"] and check["found"]
        if check["state"] in ("warning", "problem"):
            assert check["todo"] and check["ask"], check


def test_text_output_lists_each_check_and_exits_by_problems(
    runner: CliRunner, vault_dir: Path
) -> None:
    result = run(runner, vault_dir, "checkup")
    assert "Policy checklist, taken" in result.output
    for title in ("Disk encryption", "Swap", "Security updates", "Where the backups are", "Power"):
        assert title in result.output
    if result.exit_code == 1:
        assert "vault: error: the checkup found" in result.output
    else:
        assert result.exit_code == 0


def test_folder_remote_on_the_same_filesystem_is_no_backup(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    added = run(runner, vault_dir, "remote", "add", "same", str(tmp_path / "bk"), "--create")
    assert added.exit_code == 0
    assert os.stat(tmp_path / "bk").st_dev == os.stat(vault_dir).st_dev
    result, found = checkup(runner, vault_dir)
    place = by_name(found)["backup-place"]
    assert place["state"] == "problem"
    assert "Remote same: a folder on this computer, on the same disk as the vault" in place["found"]
    assert "no backup" in place["found"]
    assert result.exit_code == 1


def test_no_remote_at_all_is_a_problem(runner: CliRunner, vault_dir: Path) -> None:
    result, found = checkup(runner, vault_dir)
    assert by_name(found)["backup-place"]["state"] == "problem"
    assert result.exit_code == 1
    assert found["verdict"] == "red"


def test_rclone_config_readable_by_others_is_flagged(
    runner: CliRunner, vault_dir: Path, own_rclone_config: Path
) -> None:
    own_rclone_config.parent.mkdir()
    own_rclone_config.write_text("[offsite]\ntype = s3\nprovider = AWS\naccess_key_id = AKIA\n")
    own_rclone_config.chmod(0o644)
    _, found = checkup(runner, vault_dir)
    credentials = by_name(found)["cloud-credentials"]
    assert credentials["state"] == "warning"
    assert "other users of this computer can read it" in credentials["found"]
    assert "not encrypted" in credentials["found"]
    assert "chmod 600" in credentials["todo"]
    assert str(own_rclone_config) not in json.dumps(found)  # not under home: never shown
    own_rclone_config.chmod(0o600)
    own_rclone_config.write_text(ENCRYPTED_CONFIG)
    _, found = checkup(runner, vault_dir)
    assert by_name(found)["cloud-credentials"]["state"] == "ok"


def test_rclone_config_under_home_is_shown_from_the_tilde(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    config = home / ".config" / "rclone" / "rclone.conf"
    config.parent.mkdir(parents=True)
    config.write_text("[offsite]\ntype = b2\naccount = 123\n")
    config.chmod(0o640)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("RCLONE_CONFIG", str(config))
    _, found = checkup(runner, vault_dir)
    credentials = by_name(found)["cloud-credentials"]
    assert "'chmod 600 ~/.config/rclone/rclone.conf'" in credentials["todo"]
    assert str(home) not in json.dumps(found)


def test_stray_plaintext_in_objects_is_a_problem(runner: CliRunner, vault_dir: Path) -> None:
    _, found = checkup(runner, vault_dir)
    assert by_name(found)["vault-folder"]["state"] == "ok"
    stray = vault_dir / "objects" / "ab" / ("ab" + "0" * 62)
    stray.parent.mkdir(mode=0o700, exist_ok=True)
    stray.write_text(f"{CANARY} a letter about a child\n")
    stray.chmod(0o600)
    result, found = checkup(runner, vault_dir)
    folder = by_name(found)["vault-folder"]
    assert folder["state"] == "problem"
    assert "1 file(s) in objects/ are not age files" in folder["found"]
    assert folder["details"]["stray"] == 1
    assert result.exit_code == 1
    assert CANARY not in result.output and stray.name not in result.output


def test_a_file_others_can_read_is_a_problem(runner: CliRunner, vault_dir: Path) -> None:
    (vault_dir / "audit.log").chmod(0o644)
    result, found = checkup(runner, vault_dir)
    folder = by_name(found)["vault-folder"]
    assert folder["state"] == "problem" and folder["details"]["open_files"] == 1
    assert "chmod -R go-rwx" in folder["todo"]
    assert result.exit_code == 1


def test_apt_answer_is_kept_until_apt_changes(
    runner: CliRunner, vault_dir: Path, private_state_home: Path
) -> None:
    if not Path("/var/lib/dpkg/status").exists():
        pytest.skip("not a Debian system")  # the tests' machine is Debian: never skipped there
    _, found = checkup(runner, vault_dir)
    updates = by_name(found)["security-updates"]
    kept = json.loads((private_state_home / "centre-vault" / "checkup-apt.json").read_text())
    assert re.search(r"^\d+ upgraded", kept["simulate"], re.M)
    assert len(kept["first_seen"]) == updates["details"]["pending"]
    assert (private_state_home / "centre-vault" / "checkup-apt.json").stat().st_mode & 0o077 == 0


def _ingest_with_family(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / f"{CANARY}.pdf", f"{CANARY} referral")
    result = run(runner, vault_dir, "ingest", str(pdf), "--family", FAMILY, "--quiet")
    assert result.exit_code == 0, result.output


def test_report_and_status_carry_the_checklist_and_nothing_personal(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, own_rclone_config: Path
) -> None:
    _ingest_with_family(runner, vault_dir, tmp_path)
    backup = tmp_path / getpass.getuser() / "usb"  # a path that names the user
    backup.parent.mkdir()
    assert run(runner, vault_dir, "remote", "add", "usb", str(backup), "--create").exit_code == 0
    own_rclone_config.parent.mkdir()
    own_rclone_config.write_text("[offsite]\ntype = b2\n")
    own_rclone_config.chmod(0o644)
    pdf, page = tmp_path / "report.pdf", tmp_path / "report.html"
    assert run(runner, vault_dir, "report", "--out", str(pdf)).exit_code == 0
    assert run(runner, vault_dir, "report", "--out", str(page)).exit_code == 0
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    html_text = re.sub(r"<[^>]+>", " ", page.read_text())
    status = run(runner, vault_dir, "status", "--json")
    data = json.loads(status.stdout)
    checklist = json.dumps(data["policy_checklist"])
    for name, words in (("pdf", text), ("html", html_text), ("status", checklist)):
        flat = " ".join(words.split())
        assert FAMILY not in flat, name
        assert CANARY not in flat, name
        assert not re.search(rf"\b{re.escape(getpass.getuser())}\b", flat), name
        assert socket.gethostname() not in flat, name
        assert str(tmp_path) not in flat and str(Path.home()) not in flat, name
    for words in (" ".join(text.split()), " ".join(html_text.split())):
        assert re.search(r"\b(Green|Amber|Red): ", words)
        assert "Policy checklist (taken" in words
        assert "Laptops and desktops are encrypted" in words
        assert "Security updates are installed within 7 days of their release" in words
        assert "Data sticks are encrypted and recorded" in words
        assert "uninterruptible power supply (UPS) is considered" in words
        assert "Cloud account keys: WARNING" in words
        assert "'vault " not in words and "run '" not in words  # asks people, no commands
    assert data["verdict"] in ("green", "amber", "red")
    assert {c["name"] for c in data["policy_checklist"]["checks"]} >= {
        "disk", "swap", "security-updates", "tools", "backup-place", "backups-current",
        "cloud-credentials", "keys", "vault-folder", "power",
    }  # fmt: skip
    assert data["policy_checklist"]["taken"]


def test_status_text_gives_the_verdict_in_one_line(runner: CliRunner, vault_dir: Path) -> None:
    result = run(runner, vault_dir, "status")
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if "Policy checklist" in line]
    assert len(lines) == 1
    assert re.match(r"Policy checklist: (green|amber|red).*'vault checkup'", lines[0])
