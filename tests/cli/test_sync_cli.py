"""The sync commands through the CLI: exit codes, one-line errors, JSON, no passphrase."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import CANARY
from tests.sync.conftest import store_documents
from tests.sync.remote_folder import files_in, missing_from
from tests.sync.s3server import free_port
from vault.cli import cli


def run(runner: CliRunner, vault_dir: Path, *args: str) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture
def with_remote(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    store_documents(vault_dir, 2, tmp_path / "inbox")
    folder = tmp_path / "usb"
    result = run(runner, vault_dir, "remote", "add", "usb", str(folder), "--create")
    assert result.exit_code == 0, result.output
    return vault_dir, folder


def test_remote_add_list_remove(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    assert run(runner, vault_dir, "remote", "add", "usb", str(tmp_path / "b")).exit_code == 0
    assert run(runner, vault_dir, "remote", "add", "usb", str(tmp_path / "c")).exit_code == 2
    listed = run(runner, vault_dir, "remote", "list", "--json")
    assert json.loads(listed.stdout) == [{"name": "usb", "path": str(tmp_path / "b")}]
    assert run(runner, vault_dir, "remote", "remove", "usb").exit_code == 0
    assert json.loads(run(runner, vault_dir, "remote", "list", "--json").stdout) == []
    assert run(runner, vault_dir, "remote", "remove", "usb").exit_code == 1
    bad = run(runner, vault_dir, "remote", "add", "x", ":s3,secret_access_key=abc:bucket")
    assert bad.exit_code == 2 and "abc" not in bad.output


def test_sync_twice_without_passphrase(runner: CliRunner, with_remote: tuple[Path, Path]) -> None:
    vault_dir, folder = with_remote
    first = run(runner, vault_dir, "sync")
    assert first.exit_code == 0, first.output
    assert re.search(r"usb: sent \d+ files", first.stdout)
    assert not missing_from(folder) and "head.json" in files_in(folder)
    second = run(runner, vault_dir, "sync", "usb")
    assert second.exit_code == 0 and "usb: already up to date" in second.stdout


def test_sync_with_no_remote_is_a_usage_error(runner: CliRunner, vault_dir: Path) -> None:
    result = run(runner, vault_dir, "sync")
    assert result.exit_code == 2 and "vault remote add" in result.output


def test_unreachable_remote_exit_5_one_line_quickly(
    runner: CliRunner, vault_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "S3cr3t-" + "q" * 24
    for key, value in {
        "TYPE": "s3", "PROVIDER": "Rclone", "ENDPOINT": f"http://127.0.0.1:{free_port()}",
        "ACCESS_KEY_ID": "AKDEAD", "SECRET_ACCESS_KEY": secret, "FORCE_PATH_STYLE": "true",
    }.items():  # fmt: skip
        monkeypatch.setenv(f"RCLONE_CONFIG_DEAD_{key}", value)
    assert run(runner, vault_dir, "remote", "add", "dead", "dead:bucket/vault").exit_code == 0
    started = time.monotonic()
    result = run(runner, vault_dir, "sync", "dead")
    assert time.monotonic() - started < 30
    assert result.exit_code == 5
    errors = [line for line in result.stderr.splitlines() if line.startswith("vault: error:")]
    assert len(errors) == 1 and "cannot reach the remote" in errors[0]
    assert len(result.stderr.splitlines()) <= 2  # the error and a hint, no rclone log
    assert secret not in result.output and '{"time"' not in result.output
    verify = run(runner, vault_dir, "verify", "--remote", "dead")
    assert verify.exit_code == 5


def test_verify_remote_and_repair(runner: CliRunner, with_remote: tuple[Path, Path]) -> None:
    vault_dir, folder = with_remote
    assert run(runner, vault_dir, "sync").exit_code == 0
    ok = run(runner, vault_dir, "verify", "--remote", "usb", "--read-data-subset", "50%", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["ok"] is True and json.loads(ok.stdout)["read"] > 0
    victim = next(p for p in sorted(files_in(folder)) if p.startswith("manifests/"))
    (folder / victim).unlink()
    bad = run(runner, vault_dir, "verify", "--remote", "usb")
    assert bad.exit_code == 4
    assert f"missing: {victim.rsplit('/', 1)[1]}" in bad.stdout
    fixed = run(runner, vault_dir, "repair", "usb")
    assert fixed.exit_code == 0, fixed.output
    assert run(runner, vault_dir, "verify", "--remote", "usb", "--read-data").exit_code == 0


def test_verify_options_need_a_remote(runner: CliRunner, vault_dir: Path) -> None:
    assert run(runner, vault_dir, "verify", "--read-data").exit_code == 2
    assert run(runner, vault_dir, "verify", "--remote", "x", "--read-data-subset", "0%").exit_code
    assert run(runner, vault_dir, "verify", "--remote", "nope").exit_code == 1


def test_status_and_report_without_passphrase(
    runner: CliRunner, with_remote: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, _ = with_remote
    before = run(runner, vault_dir, "status", "--json")
    assert before.exit_code == 0
    data = json.loads(before.stdout)
    assert data["documents"] == 2 and data["ok"] is False
    assert data["remotes"][0]["waiting_files"] > 0
    assert run(runner, vault_dir, "sync").exit_code == 0
    assert run(runner, vault_dir, "verify").exit_code == 0
    after = json.loads(run(runner, vault_dir, "status", "--json").stdout)
    assert after["warnings"] == [  # no drill yet: tested in tests/recovery/test_drill.py
        "No restore drill of usb has passed in the last 92 days: run 'vault drill usb'."
    ]
    assert after["remotes"][0]["waiting_files"] == 0  # the log's check entries wait, unsent
    text = run(runner, vault_dir, "status")
    assert text.exit_code == 0 and "The vault holds 2 documents" in text.stdout
    assert CANARY not in text.output
    out = tmp_path / "committee.html"
    made = run(runner, vault_dir, "report", "--out", str(out))
    assert made.exit_code == 0 and CANARY not in out.read_text()
    assert run(runner, vault_dir, "report", "--out", str(tmp_path / "r.txt")).exit_code == 2
