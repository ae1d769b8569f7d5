"""The committee report and status tell the truth at a glance, through the CLI.

A check of sizes is called that, never "intact"; a damaged file or 45 days
without a backup puts a warning at the top, worded as what to ask the
coordinator (never a command); emergency-key uses stay until ``vault audit
ack``, whatever reports are made; nothing waits that the next sync need not
send; one document count; local times with the zone; each sync reads back a
sample and catches a damaged file on a folder remote. The clock is set with
``VAULT_TEST_NOW`` (``vault.clock``), the zone with ``TZ``.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import CANARY, PASSPHRASE, Template
from tests.sync.conftest import store_documents
from vault.cli import cli

T0 = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)  # 10:30 in New York (EST)


@pytest.fixture(autouse=True)
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    monkeypatch.setenv("VAULT_TEST_NOW", when.isoformat())


def run(runner: CliRunner, vault_dir: Path, *args: str) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def ok(runner: CliRunner, vault_dir: Path, *args: str) -> Result:
    result = run(runner, vault_dir, *args)
    assert result.exit_code == 0, result.output
    return result


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()


def report(runner: CliRunner, vault_dir: Path, out: Path) -> str:
    """Make the report as PDF and HTML; their text, joined into one string."""
    ok(runner, vault_dir, "report", "--out", str(out.with_suffix(".pdf")))
    ok(runner, vault_dir, "report", "--out", str(out.with_suffix(".html")))
    page = re.sub(r"<[^>]+>", " ", out.with_suffix(".html").read_text())
    return " ".join((pdf_text(out.with_suffix(".pdf")) + "\n" + page).split())


def no_commands(text: str) -> None:
    """The report asks people to do things; it gives no commands to run."""
    assert "'vault " not in text and "run '" not in text and "vault sync" not in text


@pytest.fixture
def backed_up(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """Three documents, a folder remote 'usb', synced at T0."""
    at(monkeypatch, T0)
    store_documents(vault_dir, 3, tmp_path / "inbox")
    folder = tmp_path / "usb"
    ok(runner, vault_dir, "remote", "add", "usb", str(folder), "--create")
    ok(runner, vault_dir, "sync")
    return vault_dir, folder


def damage(folder: Path, store: str = "objects") -> list[str]:
    """Flip a byte in every file of ``store`` on the remote (sizes unchanged)."""
    ids = []
    for path in sorted((folder / store).rglob("*")):
        if path.is_file():
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0xFF
            path.chmod(0o600)
            path.write_bytes(bytes(data))
            ids.append(path.name)
    return ids


def test_a_size_check_is_called_what_it_is_and_damage_is_reported(
    runner: CliRunner, backed_up: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, folder = backed_up
    damage(folder)
    sizes = ok(runner, vault_dir, "verify", "--remote", "usb")
    assert "all present and the right size (sizes only, contents not read)" in sizes.stderr
    assert "Contents last fully checked: never" in sizes.stderr
    assert "all good" not in sizes.output
    text = report(runner, vault_dir, tmp_path / "after-sizes")
    assert "intact" not in text and "all good" not in text
    assert "that every file is present and the right size: all were" in text
    assert "this quick check does not read the contents" in text
    assert "usb: contents never fully checked" in text

    full = run(runner, vault_dir, "verify", "--remote", "usb", "--read-data")
    assert full.exit_code == 4
    text = report(runner, vault_dir, tmp_path / "after-full")
    assert "intact" not in text and "No warnings" not in text
    assert re.search(r"\d+ things? need attention", text)
    assert "found 3 files missing or damaged, not mended since" in text
    assert "Ask the coordinator to mend the backup on usb" in text
    assert "contents last fully checked on 4 Dec 2026, 10:30 EST: 3 files missing or" in text
    assert "the right size: all were." in text  # damaged in place: the sizes were right
    no_commands(text)
    status = ok(runner, vault_dir, "status")
    assert "warning: The check of the backup on usb" in status.stdout
    assert "run 'vault repair usb'" in status.stdout  # the coordinator gets the command


def test_one_damaged_file_is_named_in_the_singular(
    runner: CliRunner, backed_up: tuple[Path, Path]
) -> None:
    vault_dir, folder = backed_up
    victim = sorted(p for p in (folder / "objects").rglob("*") if p.is_file())[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.chmod(0o600)
    victim.write_bytes(bytes(data))
    full = run(runner, vault_dir, "verify", "--remote", "usb", "--read-data")
    assert full.exit_code == 4
    assert "vault: error: 1 file of the backup on usb is missing, damaged" in full.stderr
    assert "1 files" not in full.output


def test_45_days_without_a_backup(
    runner: CliRunner,
    backed_up: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vault_dir, _ = backed_up
    ok(runner, vault_dir, "verify")
    ok(runner, vault_dir, "verify", "--remote", "usb", "--read-data")
    at(monkeypatch, T0 + timedelta(days=45))
    text = report(runner, vault_dir, tmp_path / "late")
    assert "intact" not in text and "No warnings" not in text
    assert re.search(r"\d+ things need attention", text)
    assert "The last backup to usb was 45 days ago (it should be at most 24 hours)" in text
    assert "Ask the coordinator to back up to usb now" in text
    assert "Nothing has been checked for 45 days" in text
    no_commands(text)
    # Charts say something once the vault is a week old. The strip starts on
    # the day the vault was made (the shared test vault is made on the day
    # the tests run, T0 or later) and ends 45 days after T0, with no backup
    # but the one at T0.
    created = datetime.fromisoformat(json.loads((vault_dir / "config.json").read_text())["created"])
    first = created.astimezone().date()
    last = (T0 + timedelta(days=45)).astimezone().date()
    strip = (last - max(first, last - timedelta(days=89))).days + 1
    backed = int(first <= T0.astimezone().date())
    assert f"Backed up on {backed} of the last {strip} days" in text
    assert f"the longest time without one: {strip - backed} days" in text


def test_emergency_uses_stay_until_the_committee_acknowledges_them(
    runner: CliRunner, backed_up: tuple[Path, Path], tmp_path: Path, template_vault: Template
) -> None:
    vault_dir, _ = backed_up
    key = tmp_path / "key.txt"
    key.write_text(template_vault.emergency_secret + "\n")
    reason = "coordinator in hospital, court deadline"
    used = run(runner, vault_dir, "list", "--emergency-key", str(key), "--reason", reason)
    assert used.exit_code == 0, used.output
    for n in range(2):  # a report does not reset them, the first or the second
        text = report(runner, vault_dir, tmp_path / f"report-{n}")
        assert reason in text and "Used 1 time since the vault was made" in text
        assert "1 times" not in text
        status = ok(runner, vault_dir, "status")
        assert "The emergency key was used 1 time since the committee" in status.stdout
        assert "Emergency key uses since the committee last acknowledged them" in status.stdout
        assert reason in status.stdout
    assert "Record each use in the minutes, then ask the coordinator" in text
    ok(runner, vault_dir, "audit", "ack", "--note", "minutes of 10 Dec, item 4")
    text = report(runner, vault_dir, tmp_path / "acked")
    assert reason not in text
    assert "Not used since the committee last acknowledged its uses (4 Dec 2026" in text
    status = json.loads(ok(runner, vault_dir, "status", "--json").stdout)
    assert status["emergency_uses"] == []


def test_nothing_waits_after_a_sync(
    runner: CliRunner, backed_up: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, _ = backed_up
    ok(runner, vault_dir, "remote", "add", "offsite", str(tmp_path / "offsite"), "--create")
    ok(runner, vault_dir, "sync")  # usb: up to date; offsite: everything

    def waiting() -> list[int]:
        found = json.loads(ok(runner, vault_dir, "status", "--json").stdout)
        return [remote["waiting_files"] for remote in found["remotes"]]

    assert waiting() == [0, 0]
    ok(runner, vault_dir, "verify")
    ok(runner, vault_dir, "verify", "--remote", "usb")
    ok(runner, vault_dir, "report", "--out", str(tmp_path / "r.html"))
    assert waiting() == [0, 0]  # the log's own entries of checks and reports wait, unsent
    again = ok(runner, vault_dir, "sync")
    assert "offsite: already up to date" in again.stdout
    assert "usb: already up to date" in again.stdout
    assert "nothing waiting to be sent" in ok(runner, vault_dir, "status").stdout
    store_documents(vault_dir, 1, tmp_path / "more")
    assert all(count > 0 for count in waiting())


def test_one_document_count(
    runner: CliRunner,
    backed_up: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vault_dir, _ = backed_up
    monkeypatch.setenv("VAULT_PASSPHRASE", PASSPHRASE)
    ok(runner, vault_dir, "list")  # unlocks: the three are checked and counted in the head
    monkeypatch.delenv("VAULT_PASSPHRASE")
    store_documents(vault_dir, 1, tmp_path / "more")  # one more, stored without the key
    synced = ok(runner, vault_dir, "sync")
    assert "; 4 documents" in synced.stdout
    status = ok(runner, vault_dir, "status").stdout
    assert "The vault holds 4 documents (1 of them stored since" in status
    assert set(re.findall(r"(\d+) documents", status)) == {"4"}
    text = report(runner, vault_dir, tmp_path / "count")
    assert "The vault holds 4 documents" in text
    assert set(re.findall(r"(\d+) documents", text)) == {"4"}
    assert CANARY not in text


def test_times_are_local_with_the_zone(
    runner: CliRunner,
    backed_up: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vault_dir, _ = backed_up
    config = json.loads((vault_dir / "config.json").read_text())
    config["created"] = (T0 - timedelta(days=30)).isoformat()
    (vault_dir / "config.json").write_text(json.dumps(config))
    status = ok(runner, vault_dir, "status").stdout
    assert "usb: last backup 4 Dec 2026, 10:30 EST" in status
    assert "T15:30" not in status and "UTC" not in status
    text = report(runner, vault_dir, tmp_path / "local")
    assert "usb: last backup 4 Dec 2026, 10:30 EST" in text
    assert "this report was made 4 Dec 2026, 10:30 EST" in text and "UTC" not in text
    # The chart's last day is today, here, and is labelled so (not nine days before).
    page = (tmp_path / "local.html").read_text()
    assert "<title>4 Dec 2026: 1 backup</title>" in page
    assert page.count("4 Dec 2026</text>") == 1 and "25 Nov 2026</text>" not in page
    # A backup in the evening in New York is on that day, though it is the next day in UTC.
    monkeypatch.setenv("VAULT_TEST_NOW", "2026-12-06T02:00:00+00:00")  # 5 Dec, 21:00 EST
    ok(runner, vault_dir, "sync")
    page_text = report(runner, vault_dir, tmp_path / "evening")
    assert "last backup 5 Dec 2026, 21:00 EST" in page_text
    assert "<title>5 Dec 2026: 1 backup</title>" in (tmp_path / "evening.html").read_text()


def test_each_sync_reads_back_a_sample_and_catches_a_damaged_file(
    runner: CliRunner, backed_up: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, folder = backed_up
    first = ok(runner, vault_dir, "status").stdout
    assert re.search(r"usb: \d files read back and compared at the backup of 4 Dec", first)
    ids = damage(folder, "objects") + damage(folder, "manifests") + damage(folder, "catalog")
    synced = run(runner, vault_dir, "sync")
    assert synced.exit_code == 4, synced.output
    assert "usb: already up to date" in synced.stdout  # nothing new: the sample still runs
    shown = re.findall(r"corrupt: (\S+) \(on usb\)", synced.stdout)
    assert shown and set(shown) <= {*ids, *(f"catalog/{i}" for i in ids)}
    assert "vault repair usb" in synced.stderr
    status = ok(runner, vault_dir, "status").stdout
    assert "warning: The read-back at a backup of the backup on usb" in status
    text = report(runner, vault_dir, tmp_path / "damaged")
    assert "Ask the coordinator to mend the backup on usb" in text
    assert "No warnings" not in text
    ok(runner, vault_dir, "repair", "usb")
    ok(runner, vault_dir, "sync")
    status = ok(runner, vault_dir, "status").stdout
    assert "read-back" not in status and "all matched" in status


def test_the_read_back_of_a_folder_remote_takes_no_symbolic_link_for_a_file(
    runner: CliRunner, backed_up: tuple[Path, Path], tmp_path: Path
) -> None:
    """A USB disk is read where it is; a link to the right bytes elsewhere is not
    a file of the backup (rclone's local backend would not copy it either)."""
    vault_dir, folder = backed_up
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for store in ("objects", "manifests", "catalog"):
        for path in sorted((folder / store).rglob("*")):
            if path.is_file():
                kept = elsewhere / path.name
                path.rename(kept)
                path.symlink_to(kept)
    synced = run(runner, vault_dir, "sync")
    assert synced.exit_code == 4, synced.output
    assert re.findall(r"missing: (\S+) \(on usb\)", synced.stdout), synced.stdout


def test_the_read_back_of_a_folder_remote_never_waits_on_a_named_pipe(
    backed_up: tuple[Path, Path], tmp_path: Path
) -> None:
    """A named pipe in the backup where a file should be (a disk tampered with)
    is not a file of the backup: the sync says so, it does not wait for ever."""
    import os
    import sys

    vault_dir, folder = backed_up
    for store in ("objects", "manifests", "catalog"):
        for path in sorted((folder / store).rglob("*")):
            if path.is_file():
                path.unlink()
                os.mkfifo(path, 0o600)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "vault", "--vault", str(vault_dir), "sync"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "VAULT_PASSPHRASE": PASSPHRASE},
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the sync waited on a named pipe")
    assert done.returncode == 4, done.stdout + done.stderr
    assert re.findall(r"missing: (\S+) \(on usb\)", done.stdout), done.stdout
