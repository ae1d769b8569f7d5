"""No readable copy left behind without the user knowing: ingest offers to
delete what it stored; every export says it is not protected, matches its
name and can go into a folder under the document's title; `vault view`
leaves no copy; `vault status` counts the copies it knows of, naming none."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from tests.conftest import PASSPHRASE, make_pdf
from tests.pty_session import Terminal
from vault import copies
from vault.cli import cli
from vault.repository import Vault

ENV = {"VAULT_PASSPHRASE": PASSPHRASE}
NOT_PROTECTED = "This file is not protected by the vault: delete it when you are done with it."


def run(
    runner: CliRunner, vault_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=env)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _store(vault_dir: Path, source: Path, media_type: str, searchable: Path | None = None) -> str:
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        doc = vault.store_file(
            source, name=source.name, media_type=media_type, searchable=searchable
        ).doc_id
        vault.fold_journal()
    return doc


def _jpeg(path: Path) -> Path:
    Image.new("RGB", (40, 30), "white").save(path, "JPEG")
    return path


# --- ingest ----------------------------------------------------------------------


def watch_once(runner: CliRunner, vault_dir: Path, inbox: Path) -> Result:
    """One pass of `vault watch` (the command that quarantines what it cannot store)."""
    return run(runner, vault_dir, "watch", str(inbox), "--once", "--settle", "0.1")


def _ingest_on_terminal(vault_dir: Path, answer: str, *args: str) -> tuple[int, str]:
    """Run `vault ingest` on a pseudo-terminal, answer its question with
    ``answer``; return (status, what the terminal showed)."""
    env = {**os.environ, "VAULT_DIR": str(vault_dir)}
    env.pop("VAULT_PASSPHRASE", None)
    terminal = Terminal(["ingest", *args], env)
    terminal.expect("[y/N]", timeout=120)
    terminal.send(answer)
    return terminal.finish(), terminal.seen


def test_ingest_on_a_terminal_offers_to_delete_what_it_stored(
    vault_dir: Path, tmp_path: Path
) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    make_pdf(scans / "a.pdf", "first letter")
    make_pdf(scans / "b.pdf", "second letter")
    (scans / "empty.pdf").write_bytes(b"")  # not stored: never deleted by the offer
    status, shown = _ingest_on_terminal(vault_dir, "n", str(scans))
    assert status == 6, shown
    assert "These 2 files are now safely in the vault;" in shown
    assert "Delete the originals? [y/N]" in shown
    assert "Originals kept" in shown
    assert sorted(p.name for p in scans.iterdir()) == ["a.pdf", "b.pdf", "empty.pdf"]

    make_pdf(scans / "c.pdf", "third letter")
    status, shown = _ingest_on_terminal(vault_dir, "y", str(scans))
    # a and b are already in the vault (stored again without the passphrase,
    # dropped as duplicates at the next unlock): deleting them loses nothing.
    assert status == 6, shown  # empty.pdf, again not stored
    assert "Deleted 3 original files." in shown
    assert [p.name for p in scans.iterdir()] == ["empty.pdf"]  # left where it was
    assert (scans / "empty.pdf").read_bytes() == b""
    assert not (vault_dir.parent / "quarantine").exists()


def test_remove_source_deletes_without_asking_and_keep_source_keeps(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    kept = make_pdf(tmp_path / "kept.pdf", "kept on purpose")
    result = run(runner, vault_dir, "ingest", str(kept), "--keep-source")
    assert result.exit_code == 0 and kept.exists()
    gone = make_pdf(tmp_path / "gone.pdf", "deleted once stored")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    result = run(runner, vault_dir, "ingest", str(gone), str(empty), "--remove-source")
    assert result.exit_code == 6, result.output
    assert "Deleted 1 original file." in result.stderr
    assert not gone.exists()
    assert empty.exists() and not (vault_dir.parent / "quarantine").exists()  # never deleted
    listed = json.loads(run(runner, vault_dir, "list", "--json", env=ENV).stdout)
    assert sorted(row["name"] for row in listed) == ["gone.pdf", "kept.pdf"]


def test_remove_source_never_deletes_a_file_not_durably_stored(
    vault_dir: Path, tmp_path: Path
) -> None:
    """The journal lines of the batch cannot be flushed (fsync fails, injected
    by strace): its files are not stored, so none is deleted; run again, both
    are stored and deleted."""
    if shutil.which("strace") is None:
        pytest.fail("strace is needed for fault injection")
    first = make_pdf(tmp_path / "first.pdf", "stored")
    second = make_pdf(tmp_path / "second.pdf", "not stored")
    journal = vault_dir / "journal.log"
    journal.touch(mode=0o600)
    env = {**os.environ, "VAULT_DIR": str(vault_dir)}
    env.pop("VAULT_PASSPHRASE", None)
    ingest = [sys.executable, "-m", "vault.cli", "ingest", str(first), str(second),
              "--remove-source"]  # fmt: skip
    done = subprocess.run(
        ["strace", "-f", "-qq", "-o", os.devnull, "-P", str(journal),
         "-e", "inject=fsync:error=EIO:when=1", *ingest],
        capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert "not stored: first.pdf" in err and "not stored: second.pdf" in err
    assert "Deleted" not in err
    assert first.exists() and second.exists()
    assert Vault.open(vault_dir).journal_entries() == []
    again = subprocess.run(ingest, capture_output=True, env=env, timeout=120, check=False)
    assert again.returncode == 0, again.stderr.decode()
    assert "Deleted 2 original files." in again.stderr.decode()
    assert not first.exists() and not second.exists()


def test_without_a_terminal_ingest_keeps_the_files_and_asks_nothing(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    src = make_pdf(tmp_path / "a.pdf", "a letter")
    result = run(runner, vault_dir, "ingest", str(src))
    assert result.exit_code == 0 and src.exists() and "[y/N]" not in result.output


# --- export ------------------------------------------------------------------------


def test_every_export_ends_with_the_not_protected_line(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    doc = _store(vault_dir, make_pdf(tmp_path / "letter.pdf", "a letter"), "application/pdf")
    out = tmp_path / "letter-out.pdf"
    result = run(runner, vault_dir, "export", doc, "--out", str(out), env=ENV)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == NOT_PROTECTED
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_a_jpeg_scan_exported_to_pdf_is_the_searchable_pdf(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    pdf = make_pdf(tmp_path / "ocr.pdf", "the searchable version")
    doc = _store(vault_dir, _jpeg(tmp_path / "SCAN0001.jpg"), "image/jpeg", searchable=pdf)
    out = tmp_path / "court-order.pdf"
    result = run(runner, vault_dir, "export", doc, "--out", str(out), env=ENV)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == pdf.read_bytes()
    assert "searchable PDF" in result.stderr
    assert result.stderr.splitlines()[-1] == NOT_PROTECTED


def test_a_jpeg_without_a_pdf_gets_its_extension_corrected(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    jpeg = _jpeg(tmp_path / "SCAN0002.jpg")
    doc = _store(vault_dir, jpeg, "image/jpeg")
    out = tmp_path / "court-order.pdf"
    result = run(runner, vault_dir, "export", doc, "--out", str(out), env=ENV)
    assert result.exit_code == 0, result.output
    assert not out.exists()
    assert (tmp_path / "court-order.jpg").read_bytes() == jpeg.read_bytes()
    assert "named court-order.jpg, not court-order.pdf" in result.stderr
    # --original of a scan that has a PDF: the original, named for what it is
    pdf = make_pdf(tmp_path / "ocr.pdf", "searchable")
    jpeg = _jpeg(tmp_path / "SCAN0003.jpg")
    doc = _store(vault_dir, jpeg, "image/jpeg", searchable=pdf)
    out = tmp_path / "order.pdf"
    result = run(runner, vault_dir, "export", doc, "--original", "--out", str(out), env=ENV)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "order.jpg").read_bytes() == jpeg.read_bytes() and not out.exists()


def test_out_folder_writes_there_under_the_documents_name(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    doc = _store(vault_dir, make_pdf(tmp_path / "SCAN0001.pdf", "x"), "application/pdf")
    title = "Court order: Family Court at Norwich / F-0042"
    assert run(runner, vault_dir, "edit", doc, "--title", title, env=ENV).exit_code == 0
    desk = tmp_path / "Desktop"
    desk.mkdir()
    for _ in range(2):
        result = run(runner, vault_dir, "export", doc, "--out", str(desk), env=ENV)
        assert result.exit_code == 0, result.output
        assert "--force" not in result.output
        assert result.stderr.splitlines()[-1] == NOT_PROTECTED
    assert sorted(p.name for p in desk.iterdir()) == [  # the title, safe as a file name
        "Court order- Family Court at Norwich - F-0042-1.pdf",
        "Court order- Family Court at Norwich - F-0042.pdf",
    ]


# --- view ------------------------------------------------------------------------


def _fake_viewer(tmp_path: Path) -> Path:
    """A viewer that notes the file it was given, whether it existed and its mode."""
    script = tmp_path / "viewer"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$1" > {tmp_path}/seen\n'
        f'stat -c %a "$1" >> {tmp_path}/seen\n'
        f'stat -c %a "$(dirname "$1")" >> {tmp_path}/seen\n'
        f'cat "$1" > {tmp_path}/content\n'
    )
    script.chmod(0o755)
    return script


def test_view_opens_a_private_copy_and_removes_it_when_the_viewer_ends(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    src = make_pdf(tmp_path / "letter.pdf", "read, not exported")
    doc = _store(vault_dir, src, "application/pdf")
    viewer = _fake_viewer(tmp_path)
    result = run(runner, vault_dir, "view", doc, env={**ENV, "VAULT_VIEWER": str(viewer)})
    assert result.exit_code == 0, result.output
    path, file_mode, folder_mode = (tmp_path / "seen").read_text().splitlines()
    assert (tmp_path / "content").read_bytes() == src.read_bytes()
    assert (file_mode, folder_mode) == ("600", "700")
    assert Path(path).suffix == ".pdf"
    assert not Path(path).exists() and not Path(path).parent.exists()
    register = copies.register_path(vault_dir)  # its name (a title) is not kept either
    assert not register.exists() or path not in register.read_text()
    assert "readable" not in run(runner, vault_dir, "status").output
    audit = run(runner, vault_dir, "audit", env=ENV).output
    assert "view" in audit


def test_view_with_a_viewer_that_returns_at_once_removes_the_copy_later(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    """xdg-open hands the file on and returns: the copy stays for --minutes,
    counted by status, then a background task removes it."""
    doc = _store(vault_dir, make_pdf(tmp_path / "letter.pdf", "handed on"), "application/pdf")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "xdg-open").write_bytes(_fake_viewer(tmp_path).read_bytes())
    (bin_dir / "xdg-open").chmod(0o755)
    env = {**ENV, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "VAULT_VIEWER": ""}
    result = run(runner, vault_dir, "view", doc, "--minutes", "0.1", env=env)
    assert result.exit_code == 0, result.output
    assert "removed in 6 seconds" in result.stderr
    path = Path((tmp_path / "seen").read_text().splitlines()[0])
    assert path.exists()
    status = run(runner, vault_dir, "status")
    assert "1 readable copy outside the vault: 1 copy being viewed" in status.output
    assert "letter" not in status.output
    deadline = time.monotonic() + 30
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not path.exists() and not path.parent.exists()


def test_a_view_copy_left_by_a_switched_off_computer_goes_at_the_next_command(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / f"{copies.VIEW_PREFIX}left"
    folder.mkdir(mode=0o700)
    left = folder / "letter.pdf"
    left.write_bytes(b"readable")
    copies.note(vault_dir, copies.VIEW, left, expires=time.time() - 1)
    assert run(runner, vault_dir, "status").exit_code == 0
    assert not folder.exists()


# --- status ------------------------------------------------------------------------


def test_status_counts_exports_and_quarantine_without_naming_them(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    doc = _store(vault_dir, make_pdf(tmp_path / "secret-name.pdf", "x"), "application/pdf")
    for n in (1, 2):
        out = tmp_path / f"export-{n}.pdf"
        assert run(runner, vault_dir, "export", doc, "--out", str(out), env=ENV).exit_code == 0
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "unreadable.pdf").write_bytes(b"")
    assert watch_once(runner, vault_dir, inbox).exit_code == 6  # quarantined, kept encrypted
    # a file quarantined unencrypted by an earlier version of the vault
    (tmp_path / "quarantine" / "old-scan.pdf").write_bytes(b"%PDF- readable")
    status = run(runner, vault_dir, "status")
    assert (
        "warning: 3 readable copies outside the vault: 2 exports, 1 in the quarantine; "
        "delete them when done" in status.output
    )
    assert "export-" not in status.output and "scan" not in status.output
    counted = json.loads(run(runner, vault_dir, "status", "--json").stdout)["readable_copies"]
    assert counted["export"] == 2 and counted["quarantine"] == 1
    listed = run(runner, vault_dir, "copies").output
    assert str(tmp_path / "export-1.pdf") in listed and "old-scan.pdf" in listed
    assert "unreadable" not in listed  # encrypted: not a readable copy
    (tmp_path / "export-1.pdf").unlink()
    status = run(runner, vault_dir, "status")
    assert "2 readable copies outside the vault: 1 export, 1 in the quarantine" in status.output
    own = tmp_path / "own.pdf"  # another file saved under the export's name
    own.write_bytes(b"the user's own file")
    own.replace(tmp_path / "export-2.pdf")
    status = run(runner, vault_dir, "status")
    assert "1 readable copy outside the vault: 1 in the quarantine" in status.output
    assert run(runner, vault_dir, "copies", "--delete").exit_code == 2  # no terminal, no --yes
    removed = run(runner, vault_dir, "copies", "--delete", "--yes")
    assert removed.exit_code == 0 and "Deleted 1 readable copy." in removed.stderr
    assert not (tmp_path / "quarantine" / "old-scan.pdf").exists()
    assert (tmp_path / "export-2.pdf").read_bytes() == b"the user's own file"  # not the vault's
    assert (tmp_path / "quarantine" / "unreadable.pdf.age").exists()  # encrypted: kept
    assert "readable" not in run(runner, vault_dir, "status").output


def test_status_speaks_of_one_readable_copy_as_one(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    doc = _store(vault_dir, make_pdf(tmp_path / "letter.pdf", "x"), "application/pdf")
    out = tmp_path / "for-the-solicitor.pdf"
    assert run(runner, vault_dir, "export", doc, "--out", str(out), env=ENV).exit_code == 0
    status = run(runner, vault_dir, "status")
    assert (
        "warning: 1 readable copy outside the vault: 1 export; delete it when done "
        "('vault copies' lists it)" in status.output
    )


def test_the_quarantine_keeps_files_encrypted_and_gives_them_back(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    broken = inbox / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 Referral for Przybylski, truncated")
    result = watch_once(runner, vault_dir, inbox)
    assert result.exit_code == 6 and not broken.exists()
    quarantine = tmp_path / "quarantine"
    kept = quarantine / "broken.pdf.age"
    assert b"Przybylski" not in kept.read_bytes()
    assert kept.read_bytes().startswith(b"age-encryption.org/v1\n")
    reason = (quarantine / "broken.pdf.age.reason.txt").read_text()
    assert "vault quarantine export broken.pdf.age" in reason
    assert "readable" not in run(runner, vault_dir, "status").output
    listed = run(runner, vault_dir, "quarantine", "list", "--json")
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "broken.pdf.age" and row["encrypted"] and row["reason"]
    out = tmp_path / "fixed.pdf"
    got = run(runner, vault_dir, "quarantine", "export", "broken.pdf", "--out", str(out), env=ENV)
    assert got.exit_code == 0, got.output
    assert out.read_bytes() == b"%PDF-1.4 Referral for Przybylski, truncated"
    assert got.stderr.splitlines()[-1] == NOT_PROTECTED
    assert "1 export" in run(runner, vault_dir, "status").output
    wrong = run(runner, vault_dir, "quarantine", "export", "../x", "--out", str(tmp_path), env=ENV)
    assert wrong.exit_code == 2


def test_a_viewer_still_open_when_the_time_is_up_loses_its_copy(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    doc = _store(vault_dir, make_pdf(tmp_path / "letter.pdf", "left open"), "application/pdf")
    script = tmp_path / "slow-viewer"
    script.write_text(f'#!/bin/sh\necho "$1" > {tmp_path}/seen\nexec sleep 8\n')
    script.chmod(0o755)
    env = {**ENV, "VAULT_VIEWER": str(script)}
    started = time.monotonic()
    result = run(runner, vault_dir, "view", doc, "--minutes", "0.05", env=env)
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 25
    assert "The time is up: the temporary copy" in result.stderr
    path = Path((tmp_path / "seen").read_text().splitlines()[0])
    assert not path.exists() and not path.parent.exists()


@pytest.mark.parametrize("signum", [15, 1])  # SIGTERM (kill), SIGHUP (window closed)
def test_a_view_ended_by_kill_or_hang_up_removes_its_copy_at_once(
    vault_dir: Path, tmp_path: Path, signum: int
) -> None:
    doc = _store(vault_dir, make_pdf(tmp_path / "letter.pdf", "killed"), "application/pdf")
    script = tmp_path / "slow-viewer"
    script.write_text(
        f'#!/bin/sh\necho "$1" > {tmp_path}/seen.part\necho $$ >> '
        f"{tmp_path}/seen.part\nmv {tmp_path}/seen.part {tmp_path}/seen\n"
        "exec sleep 60\n"
    )
    script.chmod(0o755)
    env = {**os.environ, **ENV, "VAULT_VIEWER": str(script)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vault", "--vault", str(vault_dir), "view", doc],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    seen = tmp_path / "seen"
    deadline = time.monotonic() + 60
    while not seen.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    path_text, viewer_pid = seen.read_text().splitlines()
    path = Path(path_text)
    try:
        assert path.exists()
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=30)
        assert b"Traceback" not in err, err
        assert proc.returncode != 0
        assert not path.exists() and not path.parent.exists()
    finally:
        with contextlib.suppress(OSError):
            os.kill(int(viewer_pid), 15)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ingest_never_deletes_a_file_replaced_after_it_was_stored(
    vault_dir: Path, tmp_path: Path
) -> None:
    """Another file put in place of the stored one (the same size and time,
    as ``cp -p`` or a sync tool leaves it) while the question waits is not
    the file that was stored: it is kept."""
    scans = tmp_path / "scans"
    scans.mkdir()
    scan = make_pdf(scans / "a.pdf", "first letter")
    env = {**os.environ, "VAULT_DIR": str(vault_dir)}
    env.pop("VAULT_PASSPHRASE", None)
    terminal = Terminal(["ingest", str(scan)], env)
    terminal.expect("[y/N]", timeout=120)
    before = scan.stat()
    other = scans / "other.tmp"
    other.write_bytes(bytes(reversed(scan.read_bytes())))  # not stored, same size
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(other, scan)
    terminal.send("y")
    status = terminal.finish()
    assert scan.exists(), terminal.seen
    assert "it changed after it was stored" in terminal.seen
    assert status == 1, terminal.seen
