"""Status and the committee report: no key, no personal data."""

from __future__ import annotations

import json
import re
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sync.backup import sync_remote
from sync.report import chart_days, write_report
from sync.state import load_state, save_state
from sync.status import gather_status
from tests.conftest import CANARY, PASSPHRASE
from vault.repository import Vault


@pytest.fixture(autouse=True)
def no_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAULT_PASSPHRASE", raising=False)


def test_status_without_key(local_remote: tuple[Vault, str, Path]) -> None:
    vault, name, folder = local_remote
    before = gather_status(Vault.open(vault.root))
    assert before.documents == 3 and before.documents_unchecked == 3
    assert before.remotes[0].last_sync is None and before.remotes[0].waiting_files
    assert any("Nothing has been backed up to usb" in w for w in before.warnings)
    sync_remote(vault, name, str(folder))
    after = gather_status(Vault.open(vault.root))
    remote = after.remotes[0]
    assert remote.last_sync and remote.waiting_files == 0 and remote.waiting_bytes == 0
    assert after.last_ingest and after.passphrase_age_days == 0
    assert after.warnings == [
        "No restore drill of usb has passed in the last 92 days: run 'vault drill usb'.",
        "The vault and its backups have never been checked: run 'vault verify' and "
        "'vault verify --remote NAME --read-data'.",
    ]
    text = json.dumps(after.as_dict())
    assert CANARY not in text and str(folder) not in text


def test_warnings_for_old_backup_failed_and_stale_checks(
    local_remote: tuple[Vault, str, Path],
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    later = datetime.now(UTC) + timedelta(hours=30)
    found = gather_status(Vault.open(vault.root), now=later)
    assert any("last backup to usb was 30 hours ago" in w for w in found.warnings)
    with vault.lock:
        vault.audit.append("verify", ["ab" * 32], ok=False, remote=name)
    found = gather_status(Vault.open(vault.root))
    assert any("found 1 file missing or damaged" in w for w in found.warnings)
    with vault.lock:
        vault.audit.append("verify", [], ok=True)
    found = gather_status(Vault.open(vault.root), now=datetime.now(UTC) + timedelta(days=31))
    assert any("Nothing has been checked for 31 days" in w for w in found.warnings)


def test_emergency_use_is_shown_with_its_reason(local_remote: tuple[Vault, str, Path]) -> None:
    vault, _, _ = local_remote
    with vault.lock:
        vault.audit.append("emergency-use", reason="coordinator on leave, court deadline")
    found = gather_status(Vault.open(vault.root))
    assert [u["reason"] for u in found.emergency_uses] == ["coordinator on leave, court deadline"]


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()


def test_report_pdf_and_html_hold_no_personal_data(
    local_remote: tuple[Vault, str, Path], tmp_path: Path
) -> None:
    vault, name, folder = local_remote
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.fold_journal()
        vault.audit.append("emergency-use", reason="passphrase lost")
    sync_remote(vault, name, str(folder))
    state = load_state(vault.root, name, str(folder))
    state.daily[(datetime.now(UTC) - timedelta(days=10)).date().isoformat()] = {
        "syncs": 2,
        "documents": 1,
    }
    save_state(vault.root, name, state)
    config = json.loads((vault.root / "config.json").read_text())
    config["created"] = (datetime.now(UTC) - timedelta(days=20)).isoformat(timespec="seconds")
    (vault.root / "config.json").write_text(json.dumps(config))
    closed = Vault.open(vault.root)
    assert closed.key is None
    found = gather_status(closed)
    head = closed.head()
    assert head is not None
    pdf, page = tmp_path / "report.pdf", tmp_path / "report.html"
    write_report(found, pdf)
    write_report(found, page)
    for out in (pdf, page):
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = pdf_text(pdf)
    html_text = page.read_text()
    for shown in (text, html_text):
        assert head.short in shown and "3 documents" in shown
        assert "passphrase lost" in shown and "usb" in shown
        assert CANARY not in shown and ".pdf" not in shown and str(folder) not in shown
    assert CANARY.encode() not in pdf.read_bytes()
    assert "<svg" in html_text and "Daily backups" in text
    assert "Backed up on 2 of the last 21 days" in text
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=True, timeout=60)
    assert re.search(rb"Pages:\s+1\n", info.stdout)


def test_charts_only_once_the_vault_is_a_week_old(local_remote: tuple[Vault, str, Path]) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    found = gather_status(Vault.open(vault.root))
    assert chart_days(found) == []  # made today: a chart would say nothing
    today = datetime.now().astimezone().date()
    found.created = (datetime.now(UTC) - timedelta(days=200)).isoformat()
    days = chart_days(found)
    assert len(days) == 90 and days[-1].day == today
    assert days[-1].backups == 1 and days[-1].documents == 3
