"""The backups after a key rotation (``vault rotate``, then ``vault sync``).

A folder remote and a real ``rclone serve s3`` on loopback. After the sync,
every file of the remote is tried with the reference ``age`` command: the old
data key opens none, the new one opens every object, manifest and catalog
file. A sync killed (SIGKILL) when the new keys and head are in
``rotation/`` only, or after the head but before the keys, leaves a remote
that recovers: the new passphrase gives the new state; before the head, the
old passphrase still gives the old state. The next sync finishes the switch.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sync.remotes import add_remote
from sync.snapshot import ROTATION
from tests.conftest import PASSPHRASE, TEST_WORK_FACTOR, Template, make_pdf
from tests.integration.agecmd import age_path, write_identity_file
from tests.sync.s3server import S3Server
from vault import scrypt_file
from vault.cli import cli
from vault.repository import Vault

NEW = "Brand New Pass 58"


@pytest.fixture(autouse=True)
def cheap_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rotation's key files written at the tests' scrypt cost (see conftest)."""
    monkeypatch.setattr(
        scrypt_file, "encrypt", functools.partial(scrypt_file.encrypt, work_factor=TEST_WORK_FACTOR)
    )


def run(root: Path | None, *args: str, passphrase: str | None = PASSPHRASE, **env: str) -> Any:
    prefix = ["--vault", str(root)] if root is not None else []
    environ = {"VAULT_PASSPHRASE": passphrase or "", **env}
    result = CliRunner().invoke(cli, [*prefix, *args], env=environ)
    assert "Traceback" not in result.output
    return result


PART = 64 * 1024  # 64 MiB in real use


def stored(vault_dir: Path, tmp_path: Path) -> dict[str, bytes]:
    """Three documents and a large one in four parts, folded in; their bytes by name."""
    originals = {}
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.objects.part_size = PART
        for n in range(4):
            path = make_pdf(tmp_path / f"letter-{n}.pdf", f"Referral for the Wren family {n}")
            if n == 3:
                with open(path, "ab") as f:
                    f.write(os.urandom(3 * PART + 7))
            vault.store_file(path, name=path.name, media_type="application/pdf", text=[f"Wren {n}"])
            originals[path.name] = path.read_bytes()
        vault.fold_journal()
        vault.save_catalog()
    return originals


def rotate(vault_dir: Path, tmp_path: Path) -> str:
    """Rotate the vault's key; return the new data secret."""
    sheet = tmp_path / "new-sheet.pdf"
    result = run(vault_dir, "rotate", "--emergency-sheet", str(sheet), VAULT_NEW_PASSPHRASE=NEW)
    assert result.exit_code == 0, result.output
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(NEW)
        return vault.unlocked_key().secret


def sync_killed_at(vault_dir: Path, point: str) -> None:
    """``vault sync`` in a child process that SIGKILLs itself at ``point``."""
    env = dict(os.environ, VAULT_TEST_SYNC_STOP_AT=point)
    done = subprocess.run(
        [sys.executable, "-m", "vault", "--vault", str(vault_dir), "sync"],
        env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == -9, done.stderr.decode()


def rotation_files(folder: Path) -> list[Path]:
    """Files left in the remote's ``rotation/`` (a folder remote keeps empty folders)."""
    return [p for p in (folder / ROTATION).rglob("*") if p.is_file()]


def opens(path: Path, identity: Path) -> bool:
    done = subprocess.run(
        [age_path(), "-d", "-i", str(identity), "-o", os.devnull, str(path)],
        capture_output=True, timeout=60,
    )  # fmt: skip
    return done.returncode == 0


def check_remote_files(folder: Path, old: Path, new: Path) -> int:
    """Every file of the remote: the old key opens none; the new one every
    object, manifest and catalog file. Returns how many were tried."""
    tried = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        tried += 1
        assert not opens(path, old), f"the old key opens {rel}"
        if rel.startswith(("objects/", "manifests/", "catalog/")) and not rel.endswith(".idx"):
            assert opens(path, new), f"the new key does not open {rel}"
    return tried


def recover(remote: str, dest: Path, passphrase: str) -> Any:
    return run(None, "recover", "--from", remote, "--to", str(dest), passphrase=passphrase)


def exported(root: Path, passphrase: str, tmp_path: Path) -> dict[str, bytes]:
    found = {}
    listing = run(root, "list", "--json", passphrase=passphrase)
    assert listing.exit_code == 0, listing.output
    for row in json.loads(listing.stdout):
        out = tmp_path / f"out-{root.name}-{row['id']}.pdf"
        result = run(root, "export", row["id"], "--out", str(out), passphrase=passphrase)
        assert result.exit_code == 0, result.output
        found[row["name"]] = out.read_bytes()
    return found


def identities(tmp_path: Path, template: Template, new_secret: str) -> tuple[Path, Path]:
    return (
        write_identity_file(tmp_path / "old-key.txt", template.data_secret),
        write_identity_file(tmp_path / "new-key.txt", new_secret),
    )


def test_a_rotated_vault_synced_to_a_folder_leaves_nothing_the_old_key_opens(
    vault_dir: Path, tmp_path: Path, template_vault: Template
) -> None:
    originals = stored(vault_dir, tmp_path)
    folder = tmp_path / "usb"
    assert run(vault_dir, "remote", "add", "usb", str(folder), "--create").exit_code == 0
    assert run(vault_dir, "sync").exit_code == 0
    before = {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}
    new_secret = rotate(vault_dir, tmp_path)
    old_key, new_key = identities(tmp_path, template_vault, new_secret)
    assert any(opens(folder / rel, old_key) for rel in before)  # the test can fail

    result = run(vault_dir, "sync", passphrase=None)
    assert result.exit_code == 0, result.output
    assert not rotation_files(folder)
    assert check_remote_files(folder, old_key, new_key) > 10
    sheet = write_identity_file(tmp_path / "old-sheet.txt", template_vault.emergency_secret)
    assert not any(opens(p, sheet) for p in folder.rglob("*") if p.is_file())
    assert len(list(folder.glob("objects/*/*"))) == 7  # three letters, and four parts
    # The new passphrase recovers every document; the old one nothing.
    assert recover(str(folder), tmp_path / "old-try", PASSPHRASE).exit_code == 3
    assert not (tmp_path / "old-try" / "objects").exists()
    result = recover(str(folder), tmp_path / "again", NEW)
    assert result.exit_code == 0, result.output
    assert exported(tmp_path / "again", NEW, tmp_path) == originals
    # Synced again: nothing left to send; the backup checks and drills clean.
    assert "up to date" in run(vault_dir, "sync", passphrase=None).output
    checked = run(vault_dir, "verify", "--remote", "usb", "--read-data", passphrase=None)
    assert checked.exit_code == 0, checked.output
    drill = run(vault_dir, "drill", "usb", passphrase=NEW)
    assert drill.exit_code == 0 and "passed" in drill.output, drill.output


@pytest.mark.parametrize("point", ["rotation", "head", "keys"])
def test_a_sync_killed_during_the_switch_leaves_a_remote_that_recovers(
    vault_dir: Path, tmp_path: Path, template_vault: Template, point: str
) -> None:
    originals = stored(vault_dir, tmp_path)
    folder = tmp_path / "usb"
    assert run(vault_dir, "remote", "add", "usb", str(folder), "--create").exit_code == 0
    assert run(vault_dir, "sync").exit_code == 0
    new_secret = rotate(vault_dir, tmp_path)

    sync_killed_at(vault_dir, point)
    assert (folder / ROTATION / "head.json").is_file()
    result = recover(str(folder), tmp_path / "with-new", NEW)
    assert result.exit_code == 0, result.output
    assert exported(tmp_path / "with-new", NEW, tmp_path) == originals
    old = recover(str(folder), tmp_path / "with-old", PASSPHRASE)
    if point == "rotation":  # the remote's own head and keys are still the old ones, whole
        assert old.exit_code == 0, old.output
        assert exported(tmp_path / "with-old", PASSPHRASE, tmp_path) == originals
    else:
        assert old.exit_code != 0 and not (tmp_path / "with-old" / "objects").exists()

    result = run(vault_dir, "sync", passphrase=None)
    assert result.exit_code == 0, result.output
    assert not rotation_files(folder)
    old_key, new_key = identities(tmp_path, template_vault, new_secret)
    check_remote_files(folder, old_key, new_key)


def test_a_rotated_vault_synced_to_a_loopback_s3_server(
    vault_dir: Path,
    tmp_path: Path,
    template_vault: Template,
    s3_server: S3Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3_server.client_env("s3t", monkeypatch)
    path = "s3t:vault/backup"
    backing = s3_server.folder / "vault" / "backup"
    originals = stored(vault_dir, tmp_path)
    vault = Vault.open(vault_dir)
    with vault.lock:
        add_remote(vault, "s3t", path)
    result = run(vault_dir, "sync")
    assert result.exit_code == 0, result.output
    new_secret = rotate(vault_dir, tmp_path)
    result = run(vault_dir, "sync", passphrase=None)
    assert result.exit_code == 0, result.output
    assert "empty them" in result.output  # this server cannot: the user is told
    old_key, new_key = identities(tmp_path, template_vault, new_secret)
    assert check_remote_files(backing, old_key, new_key) > 10
    assert not rotation_files(backing)
    result = recover(path, tmp_path / "again", NEW)
    assert result.exit_code == 0, result.output
    assert exported(tmp_path / "again", NEW, tmp_path) == originals


def test_age_refusing_a_file_is_what_opens_reports(
    tmp_path: Path, template_vault: Template
) -> None:
    """``opens`` is False for a file the key does not open, True for one it does."""
    key = write_identity_file(tmp_path / "k.txt", template_vault.data_secret)
    objects = sorted((template_vault.path / "catalog").glob("*.age"))
    assert objects and opens(objects[0], key)
    other = tmp_path / "other.txt"
    subprocess.run(["age-keygen", "-o", str(other)], capture_output=True, check=True)
    assert not opens(objects[0], other)


def test_a_second_rotation_killed_before_the_head_still_recovers_with_the_old_passphrase(
    vault_dir: Path, tmp_path: Path
) -> None:
    """config.json (naming the newest key) goes ahead of the head: recovery
    takes the vault id from the catalog, not from it."""
    originals = stored(vault_dir, tmp_path)
    folder = tmp_path / "usb"
    assert run(vault_dir, "remote", "add", "usb", str(folder), "--create").exit_code == 0
    rotate(vault_dir, tmp_path)
    assert run(vault_dir, "sync", passphrase=None).exit_code == 0
    sheet = tmp_path / "third-sheet.pdf"
    again = run(
        vault_dir, "rotate", "--emergency-sheet", str(sheet),
        passphrase=NEW, VAULT_NEW_PASSPHRASE="Third Pass Word 77",
    )  # fmt: skip
    assert again.exit_code == 0, again.output

    sync_killed_at(vault_dir, "rotation")
    result = recover(str(folder), tmp_path / "with-old", NEW)
    assert result.exit_code == 0, result.output
    assert exported(tmp_path / "with-old", NEW, tmp_path) == originals
    result = recover(str(folder), tmp_path / "with-new", "Third Pass Word 77")
    assert result.exit_code == 0, result.output
    assert exported(tmp_path / "with-new", "Third Pass Word 77", tmp_path) == originals
