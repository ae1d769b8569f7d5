"""Export and report: a killed export leaves no plaintext (its temp file is
where the vault cleans it, never beside --out), and the last step never
replaces a file without --force, even one made at --out during the unlock."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import CANARY, PASSPHRASE, make_pdf
from vault.cli import cli
from vault.repository import Vault

ENV = {"VAULT_PASSPHRASE": PASSPHRASE}


def run(runner: CliRunner, vault_dir: Path, *args: str):  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=ENV)
    assert "Traceback" not in result.output, result.output
    return result


def _stored(vault_dir: Path, source: Path) -> str:
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        doc = vault.store_file(source, name=source.name, media_type="application/pdf").doc_id
        vault.fold_journal()
    return doc


def _holding(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def _child_env() -> dict[str, str]:
    env = dict(os.environ, VAULT_PASSPHRASE=PASSPHRASE, PYTHONDONTWRITEBYTECODE="1")
    return env


def test_export_killed_at_its_last_step_leaves_no_plaintext(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    """SIGKILL (strace) at the export's first rename or link: the document is
    decrypted by then. Nothing is beside --out; the next command removes the
    temp file from the vault's own folder."""
    if shutil.which("strace") is None:
        pytest.fail("strace is needed for fault injection")
    doc = _stored(vault_dir, make_pdf(tmp_path / "scan.pdf", f"Referral for {CANARY}"))
    desk = tmp_path / "desk"
    desk.mkdir()
    work = tmp_path / "work"  # the children's temp and tmpfs folders, to look into
    work.mkdir()
    env = _child_env()
    env["TMPDIR"] = env["XDG_RUNTIME_DIR"] = str(work)
    done = subprocess.run(
        ["strace", "-f", "-qq", "-o", os.devnull,
         "-e", "trace=rename,renameat,renameat2,link,linkat",
         "-e", "inject=rename,renameat,renameat2,link,linkat:signal=KILL",
         sys.executable, "-m", "vault.cli", "--vault", str(vault_dir), "export", doc,
         "--out", str(desk / "referral.pdf")],
        capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode != 0, done.stderr  # killed
    assert list(desk.iterdir()) == []  # nothing at --out, nothing hidden beside it
    left = _holding(vault_dir / "tmp", CANARY.encode()) + _holding(work, CANARY.encode())
    assert left, "the kill came before the document was decrypted: the test proves nothing"
    assert all(p.name.startswith(".tmp-") for p in _holding(vault_dir / "tmp", CANARY.encode()))
    assert run(runner, vault_dir, "list").exit_code == 0  # the next command cleans up
    assert _holding(vault_dir, CANARY.encode()) == []
    assert _holding(work, CANARY.encode()) == []


def test_export_never_replaces_a_file_made_during_the_unlock(
    vault_dir: Path, tmp_path: Path
) -> None:
    """The passphrase comes through a FIFO; before writing it, the test makes
    a file at --out (after the command checked that --out was free)."""
    doc = _stored(vault_dir, make_pdf(tmp_path / "scan.pdf", "the document"))
    fifo = tmp_path / "passphrase"
    os.mkfifo(fifo, 0o600)
    out = tmp_path / "out.pdf"
    env = {k: v for k, v in _child_env().items() if k != "VAULT_PASSPHRASE"}
    child = subprocess.Popen(
        [sys.executable, "-m", "vault.cli", "--vault", str(vault_dir), "export", doc,
         "--out", str(out), "--passphrase-file", str(fifo)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip

    def give_passphrase() -> None:
        with open(fifo, "w") as writer:  # blocks until the command opens it to read
            out.write_bytes(b"the user's own file")
            writer.write(PASSPHRASE + "\n")

    giver = threading.Thread(target=give_passphrase)
    giver.start()
    _, stderr = child.communicate(timeout=120)
    giver.join()
    assert child.returncode == 2, stderr
    assert b"already exists" in stderr and b"Traceback" not in stderr
    assert out.read_bytes() == b"the user's own file"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_export_replaces_only_with_force(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    source = make_pdf(tmp_path / "scan.pdf", "forced")
    doc = _stored(vault_dir, source)
    out = tmp_path / "out.pdf"
    out.write_bytes(b"mine")
    out.chmod(0o644)
    refused = run(runner, vault_dir, "export", doc, "--out", str(out))
    assert refused.exit_code == 2 and out.read_bytes() == b"mine"
    assert run(runner, vault_dir, "export", doc, "--out", str(out), "--force").exit_code == 0
    assert out.read_bytes() == source.read_bytes()
    assert out.stat().st_mode & 0o777 == 0o600


def test_export_to_another_file_system_copies_without_overwriting(
    vault_dir: Path, tmp_path: Path
) -> None:
    """--out on a tmpfs: the file cannot be linked, so it is copied into a
    name created exclusively; an existing file is refused there too."""
    from tests.mounts import small_tmpfs

    source = make_pdf(tmp_path / "scan.pdf", "on a stick")
    doc = _stored(vault_dir, source)
    with small_tmpfs(tmp_path / "stick", "4m") as stick:
        vault = Vault.open(vault_dir)
        with vault.lock:
            vault.unlock(PASSPHRASE)
            vault.export(doc, stick / "a.pdf")
            assert (stick / "a.pdf").read_bytes() == source.read_bytes()
            from vault.errors import UsageError

            with pytest.raises(UsageError, match="already exists"):
                vault.export(doc, stick / "a.pdf")
        assert sorted(p.name for p in stick.iterdir()) == ["a.pdf"]
        assert list((vault_dir / "tmp").iterdir()) == []


def test_report_never_replaces_without_force(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    out.write_text("the minutes")
    refused = run(runner, vault_dir, "report", "--out", str(out))
    assert refused.exit_code == 2, refused.output
    assert "already exists" in refused.output and out.read_text() == "the minutes"
    assert run(runner, vault_dir, "report", "--out", str(out), "--force").exit_code == 0
    assert "<html" in out.read_text().lower()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_export_onto_a_full_disk_is_exit_1_and_leaves_nothing(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    """A document bigger than the stick: "disk full", status 1 (not the
    integrity status 4), and no partial file at --out or beside it."""
    from tests.mounts import small_tmpfs

    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + os.urandom(3 * 1024 * 1024))
    doc = _stored(vault_dir, big)
    with small_tmpfs(tmp_path / "stick", "1m") as stick:
        result = run(runner, vault_dir, "export", doc, "--out", str(stick / "big.pdf"))
        assert result.exit_code == 1, result.output
        assert "vault: error: disk full" in result.output
        assert list(stick.iterdir()) == []
    assert list((vault_dir / "tmp").iterdir()) == []
