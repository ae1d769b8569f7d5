"""What the computer refuses is one line and exit status 1, never a traceback
and never the integrity status 4: a full disk (a real small tmpfs), an
injected ENOSPC on the journal (strace), a read-only vault (a read-only bind
mount), an immutable objects folder (chattr +i), keys/data.pub made a folder.
Malformed settings in config.json are one line too, exit status 2 (usage),
as a bad option is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import PASSPHRASE, make_pdf
from tests.mounts import fill, read_only_view, small_tmpfs
from vault.cli import cli
from vault.repository import Vault

ENV = {"VAULT_PASSPHRASE": PASSPHRASE}


def run(runner: CliRunner, vault_dir: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=env)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("vault: error:")]


def _scans(folder: Path, count: int) -> list[Path]:
    folder.mkdir(exist_ok=True)
    return [make_pdf(folder / f"scan{n}.pdf", f"letter number {n}") for n in range(count)]


def _store(vault_dir: Path, source: Path) -> str:
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        doc = vault.store_file(source, name=source.name, media_type="application/pdf").doc_id
        vault.fold_journal()
    return doc


# --- a full disk -------------------------------------------------------------------


@pytest.mark.parametrize("keyed", [False, True], ids=["keyless", "with-passphrase"])
def test_disk_full_at_ingest_is_exit_1_and_every_file_is_tried(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, keyed: bool
) -> None:
    with small_tmpfs(tmp_path / "disk", "2m") as disk:
        vault = disk / "vault"
        shutil.copytree(vault_dir, vault)
        scans = _scans(tmp_path / "inbox", 3)
        fill(disk)
        result = run(
            runner, vault, "ingest", "--quiet", *map(str, scans), env=ENV if keyed else None
        )
        assert result.exit_code == 1, result.output
        assert len(error_lines(result.output)) == 1
        assert "disk full" in error_lines(result.output)[0]
        assert "3 of 3 inputs were not stored" in result.output
        for scan in scans:  # each one was tried, and each is still where it was
            assert f"not stored: {scan.name}:" in result.output  # names, not paths
            assert scan.exists()


def test_disk_full_at_the_manifest_write_of_a_fold_is_one_line(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    with small_tmpfs(tmp_path / "disk", "2m") as disk:
        vault = disk / "vault"
        shutil.copytree(vault_dir, vault)
        scan = _scans(tmp_path / "inbox", 1)[0]
        assert run(runner, vault, "ingest", "--quiet", str(scan)).exit_code == 0  # keyless
        filler = fill(disk)
        result = run(runner, vault, "list", env=ENV)  # the fold signs: a new manifest
        assert result.exit_code == 1, result.output
        assert "disk full" in error_lines(result.output)[0]
        filler.unlink()
        listed = run(runner, vault, "list", "--json", env=ENV)
        assert listed.exit_code == 0, listed.output
        assert [d["name"] for d in json.loads(listed.stdout)] == [scan.name]


def test_disk_full_at_the_journal_append_is_one_line(vault_dir: Path, tmp_path: Path) -> None:
    """strace makes every write to journal.log fail with ENOSPC."""
    if shutil.which("strace") is None:
        pytest.fail("strace is needed for fault injection")
    scan = _scans(tmp_path / "inbox", 1)[0]
    journal = vault_dir / "journal.log"
    journal.touch(mode=0o600)
    env = {k: v for k, v in os.environ.items() if k != "VAULT_PASSPHRASE"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        ["strace", "-f", "-qq", "-o", os.devnull, "-P", str(journal),
         "-e", "trace=write,pwrite64,writev,pwritev,pwritev2",
         "-e", "inject=write,pwrite64,writev,pwritev,pwritev2:error=ENOSPC",
         sys.executable, "-m", "vault.cli", "--vault", str(vault_dir), "ingest", "--quiet",
         str(scan)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    assert "disk full" in done.stderr
    assert "Stored 1" not in done.stderr
    assert scan.exists()


def test_disk_full_at_the_catalog_save_is_one_line(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    """Room for a manifest, not for the catalog's save (its database pages and
    their journal): the fold's save fails; the journal is kept, so once there
    is room the next command folds."""
    with small_tmpfs(tmp_path / "disk", "2m") as disk:
        vault = disk / "vault"
        shutil.copytree(vault_dir, vault)
        scan = _scans(tmp_path / "inbox", 1)[0]
        assert run(runner, vault, "ingest", "--quiet", str(scan)).exit_code == 0  # keyless
        database = sum(p.stat().st_size for p in (vault / "local").glob("catalog-*.db"))
        assert database > 24 * 1024  # the check below needs a save bigger than the room
        filler = fill(disk, leave=16 * 1024)
        result = run(runner, vault, "list", env=ENV)
        assert result.exit_code == 1, result.output
        assert error_lines(result.output)[0].startswith("vault: error: disk full")
        signed = [p for p in (vault / "manifests").rglob("*") if p.is_file()]
        assert len(signed) == 2  # the signed manifest was written: the save is what failed
        filler.unlink()
        listed = run(runner, vault, "list", "--json", env=ENV)
        assert [d["name"] for d in json.loads(listed.stdout)] == [scan.name]


# --- a read-only vault ------------------------------------------------------------


def test_reading_commands_work_on_a_read_only_vault(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    scan = _scans(tmp_path / "inbox", 1)[0]
    doc = _store(vault_dir, scan)
    with read_only_view(vault_dir, tmp_path / "ro") as ro:
        for args in (
            ["list"],
            ["show", doc],
            ["search", "letter"],
            ["export", doc, "--out", str(tmp_path / "out.pdf")],
            ["view", doc],
            ["verify"],
            ["audit"],
            ["audit", "verify"],
            ["status"],
            ["report", "--out", str(tmp_path / "report.html")],
        ):
            result = run(runner, ro, *args, env={**ENV, "VAULT_VIEWER": "true"})
            assert result.exit_code == 0, (args, result.output)
        assert (tmp_path / "out.pdf").read_bytes() == scan.read_bytes()
        assert "was not recorded in the audit log" in result.output
        ingest = run(runner, ro, "ingest", "--quiet", str(scan), env=ENV)
        assert ingest.exit_code == 1, ingest.output
        assert error_lines(ingest.output) == ["vault: error: the folder is read-only (lock)"]
        emergency = run(runner, ro, "list", "--emergency-key", "-", "--reason", "test", env=ENV)
        assert emergency.exit_code == 1 and "read-only" in emergency.output


# --- an immutable folder, a key file made a folder ----------------------------------


def test_immutable_objects_folder_is_one_line(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    objects = vault_dir / "objects"
    done = subprocess.run(["chattr", "+i", str(objects)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not possible here: {done.stderr.decode().strip()}")
    try:
        scans = _scans(tmp_path / "inbox", 2)
        result = run(runner, vault_dir, "ingest", "--quiet", *map(str, scans))
        assert result.exit_code == 1, result.output
        assert error_lines(result.output)[0].startswith(
            "vault: error: 2 of 2 inputs were not stored: permission denied (objects/"
        )
        assert all(scan.exists() for scan in scans)
    finally:
        subprocess.run(["chattr", "-i", str(objects)], check=False)


def test_public_key_made_a_folder_is_one_line(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    public = vault_dir / "keys" / "data.pub"
    public.unlink()
    public.mkdir()
    scan = _scans(tmp_path / "inbox", 1)[0]
    result = run(runner, vault_dir, "ingest", "--quiet", str(scan))
    assert result.exit_code == 1, result.output
    assert "a folder is where a file should be (keys/data.pub)" in error_lines(result.output)[0]


# --- malformed settings ----------------------------------------------------------


@pytest.mark.parametrize(
    "change,named",
    [
        (lambda config: [config], "must be a JSON object"),
        (lambda config: {**config, "remotes": "x"}, "'remotes'"),
        (lambda config: {**config, "scrypt_work_factor": "abc"}, "'scrypt_work_factor'"),
        (lambda config: {**config, "max_pages": True}, "'max_pages'"),
    ],
    ids=["a-list", "remotes-text", "work-factor-text", "max-pages-bool"],
)
@pytest.mark.parametrize("command", [["list"], ["status"], ["remote", "list"], ["verify"]])
def test_malformed_settings_are_one_line(
    runner: CliRunner,
    vault_dir: Path,
    change,
    named: str,
    command: list[str],  # type: ignore[no-untyped-def]
) -> None:
    path = vault_dir / "config.json"
    path.write_text(json.dumps(change(json.loads(path.read_text()))))
    result = run(runner, vault_dir, *command, env=ENV)
    assert result.exit_code == 2, result.output  # as a bad option is: the user's input
    [line] = error_lines(result.output)
    assert named in line and "config.json" in line
