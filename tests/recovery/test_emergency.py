"""After an emergency opening: the use shown until the committee acknowledges
it, what to do next, and a new emergency sheet that retires the old key."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import Template
from tests.recovery.conftest import as_json, run, sync_to
from vault.repository import Vault

REASON = "passphrase lost, minutes 2026-12-01"


def key_file(path: Path, secret: str) -> Path:
    path.write_text(secret + "\n")
    return path


def with_key(root: Path, key: Path, *args: str) -> object:
    return run(root, *args, "--emergency-key", str(key), "--reason", REASON)


def test_an_emergency_use_is_shown_until_the_committee_acknowledges_it(
    vault_dir: Path, template_vault: Template, tmp_path: Path
) -> None:
    key = key_file(tmp_path / "key.txt", template_vault.emergency_secret)
    result = with_key(vault_dir, key, "list", "--json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "vault passwd" in result.stderr  # type: ignore[attr-defined]
    assert "emergency-sheet --out" in result.stderr  # type: ignore[attr-defined]
    assert "vault audit ack" in result.stderr  # type: ignore[attr-defined]
    status = as_json(run(vault_dir, "status", "--json"))
    assert [u["reason"] for u in status["emergency_uses"]] == [REASON]
    assert any("vault audit ack" in w for w in status["warnings"])
    report = tmp_path / "report.html"
    assert run(vault_dir, "report", "--out", str(report)).exit_code == 0
    assert REASON in report.read_text()

    acked = run(vault_dir, "audit", "ack", "--note", "minutes 2026-12-01, item 4")
    assert acked.exit_code == 0, acked.output
    assert "Acknowledged 1 uses" in acked.stdout
    status = as_json(run(vault_dir, "status", "--json"))
    assert status["emergency_uses"] == []
    assert not any("vault audit ack" in w for w in status["warnings"])
    last = list(Vault.open(vault_dir).audit.entries())[-1]
    assert last.event == "ack" and last.detail["uses"] == 1
    assert run(vault_dir, "audit", "verify").exit_code == 0


def sheet_key(pdf: Path) -> str:
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    found = re.search(r"AGE-SECRET-KEY-1[0-9A-Z]{58}", re.sub(r"\s+", "", text))
    assert found is not None
    return found.group(0)


def test_a_new_emergency_sheet_retires_the_old_key_here_and_on_the_backup(
    vault_dir: Path, template_vault: Template, tmp_path: Path
) -> None:
    backup = tmp_path / "usb"
    sync_to(vault_dir, "usb", backup)
    old = key_file(tmp_path / "old.txt", template_vault.emergency_secret)
    sheet = tmp_path / "new-sheet.pdf"
    result = with_key(vault_dir, old, "emergency-sheet", "--out", str(sheet))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert sheet.read_bytes().startswith(b"%PDF")
    new = key_file(tmp_path / "new.txt", sheet_key(sheet))
    assert with_key(vault_dir, old, "list").exit_code == 3  # type: ignore[attr-defined]
    assert with_key(vault_dir, new, "list").exit_code == 0  # type: ignore[attr-defined]
    events = [e.event for e in Vault.open(vault_dir).audit.entries()]
    assert "emergency-sheet" in events
    keys = vault_dir / "keys"
    assert (backup / "keys" / "emergency.age").read_bytes() != (keys / "emergency.age").read_bytes()
    sync_to(vault_dir, "usb", backup)  # the old key stops opening the backup too
    assert (backup / "keys" / "emergency.age").read_bytes() == (keys / "emergency.age").read_bytes()
    recovered = run(
        None, "recover", "--from", str(backup), "--to", str(tmp_path / "r"),
        "--emergency-key", str(old), "--reason", REASON,
    )  # fmt: skip
    assert recovered.exit_code == 3, recovered.output
