"""A full disk in the middle of a journal or audit-log line, on a real small
filesystem: a tmpfs mounted by the test (skipped, with the reason, only
where mounting is not allowed).

The vault's root (journal, audit log, head) is on the small filesystem and
its object stores on the big one, so the disk fills exactly at the line:
its last page has a little room, and no page is left after it. A write
there is short (the kernel writes what fits); an append must then write
nothing at all and the command must not say "Stored".
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE, Template, make_pdf
from vault.audit import AuditLog
from vault.cli import cli
from vault.keys import DataKey
from vault.repository import Vault

PAGE = 4096


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Take every free page of ``disk``; return the filler to free it later."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, PAGE, 1):
            while True:
                try:
                    if os.write(fd, b"\0" * size) < size:
                        break
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


def room(path: Path) -> int:
    """Bytes left in the last page of ``path``."""
    return -path.stat().st_size % PAGE


def vault_on(disk: Path, template: Template, big: Path) -> Path:
    """The template vault with its root on ``disk`` and its stores on ``big``."""
    root = disk / "vault"
    shutil.copytree(template.path, root)
    big.mkdir()
    for name in ("objects", "manifests", "tmp"):
        shutil.move(root / name, big / name)
        (root / name).symlink_to(big / name)
    return root


def pad_journal(root: Path, work: Path) -> int:
    """Store documents until the next journal line will not fit in the
    journal's last page; return how many were stored."""
    vault = Vault.open(root)
    journal = root / "journal.log"
    for n in range(60):
        if journal.exists():
            line = len(journal.read_bytes().splitlines()[-1]) + 1
            if 0 < room(journal) < line - 40:
                return n
        vault.store_file(make_pdf(work / f"pad-{n}.pdf", f"pad {n}"), name=f"pad-{n}.pdf",
                         media_type="application/pdf")  # fmt: skip
    raise AssertionError("the journal never came near a page end")


def whole_lines(path: Path) -> list[dict[str, object]]:
    data = path.read_bytes()
    assert data.endswith(b"\n"), "a torn line was left"
    return [json.loads(line) for line in data.splitlines()]


def run(runner: CliRunner, root: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(cli, ["--vault", str(root), *args], env=env)


def test_a_journal_line_that_does_not_fit_stores_nothing_and_says_so(
    small_disk: Path, template_vault: Template, tmp_path: Path, runner: CliRunner
) -> None:
    root = vault_on(small_disk, template_vault, tmp_path / "big")
    padded = pad_journal(root, tmp_path)
    journal = root / "journal.log"
    before = journal.read_bytes()
    filler = fill(small_disk)

    source = make_pdf(tmp_path / "referral.pdf", "referral")
    result = run(runner, root, "ingest", str(source))
    assert result.exit_code == 1, result.output
    assert "Stored 1" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception  # one line, no traceback
    assert "disk" in result.stderr
    assert journal.read_bytes() == before, "the failed append left bytes behind"

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    scan = make_pdf(inbox / "scan.pdf", "scanned letter")
    watched = run(runner, root, "watch", str(inbox), "--once", "--settle", "0.2",
                  "--interval", "0.1", "--remove-source")  # fmt: skip
    assert watched.exit_code != 0, watched.output
    assert isinstance(watched.exception, SystemExit), watched.exception
    assert scan.exists(), "watch deleted a source whose record was not written"
    assert journal.read_bytes() == before

    filler.unlink()
    assert run(runner, root, "ingest", str(source)).exit_code == 0
    assert run(runner, root, "watch", str(inbox), "--once", "--settle", "0.2",
               "--interval", "0.1", "--remove-source").exit_code == 0  # fmt: skip
    assert not scan.exists()
    assert len(whole_lines(journal)) == padded + 2

    vault = Vault.open(root)
    with vault.lock:
        vault.key = DataKey.from_secret(template_vault.data_secret)
        names = sorted(doc["name"] for doc in vault.documents())
        assert names == sorted(
            [*(f"pad-{n}.pdf" for n in range(padded)), "referral.pdf", "scan.pdf"]
        )
        assert vault.verify().ok
        assert vault.audit.verify(vault.audit_anchor()) == []
    listed = run(runner, root, "list", "--json", env={"VAULT_PASSPHRASE": PASSPHRASE})
    assert listed.exit_code == 0 and len(json.loads(listed.stdout)) == padded + 2


def test_watch_once_on_a_full_disk_fails_with_the_disk_full_line(
    small_disk: Path, template_vault: Template, tmp_path: Path, runner: CliRunner
) -> None:
    """As ``vault ingest`` does: status 1 (the computer refused, not a partial
    batch), the reason named, and the scan neither stored nor taken for one
    still being written."""
    root = vault_on(small_disk, template_vault, tmp_path / "big")
    pad_journal(root, tmp_path)
    filler = fill(small_disk)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    scan = make_pdf(inbox / "scan.pdf", "scanned letter")
    watched = run(runner, root, "watch", str(inbox), "--once", "--settle", "0.2",
                  "--interval", "0.1", "--remove-source")  # fmt: skip
    assert watched.exit_code == 1, watched.output
    assert isinstance(watched.exception, SystemExit), watched.exception
    errors = [line for line in watched.stderr.splitlines() if line.startswith("vault: error:")]
    assert len(errors) == 1 and "disk" in errors[0], watched.stderr
    assert "still being written" not in watched.stderr
    assert scan.exists()
    filler.unlink()


def test_an_audit_entry_that_does_not_fit_is_not_torn_and_the_next_ones_are_kept(
    small_disk: Path,
) -> None:
    audit = AuditLog(small_disk / "audit.log")
    while True:
        entry = audit.append("verify", ["a" * 64], ok=True)
        line = len(audit.path.read_bytes().splitlines()[-1]) + 1
        if 0 < room(audit.path) < line - 20:
            break
    before = audit.path.read_bytes()
    filler = fill(small_disk)
    with pytest.raises(OSError) as failed:
        audit.append("verify", ["b" * 64], ok=False)
    assert failed.value.errno == errno.ENOSPC
    assert audit.path.read_bytes() == before
    assert audit.tip() == (entry.seq, entry.hash)

    filler.unlink()
    after = audit.append("verify", ["c" * 64], ok=True)
    assert after.seq == entry.seq + 1
    assert list(audit.entries())[-1] == after
    assert audit.verify() == []
