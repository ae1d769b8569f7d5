"""A backed-up vault for the recovery tests, made once per module.

Documents are stored through the library without OCR (their text is given):
two stored unlocked, one large one in parts (parts made small here: 64 MiB
in real use), two stored without the key and folded in by ``vault list``,
then synced to a local-folder remote. Each test gets its own copy of the
remote's folder (``remote``), and, for the loopback server, a real
``rclone serve s3`` over such a copy.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sync.backup import sync_remote
from sync.remotes import add_remote
from tests.conftest import CANARY, PASSPHRASE, Template, make_pdf
from tests.sync.s3server import S3Server
from vault.cli import cli
from vault.repository import Vault

PART = 64 * 1024


@dataclass(frozen=True)
class Backup:
    vault: Path  # the original vault (tests must not change it)
    folder: Path  # the remote's folder as the sync left it (tests copy it)
    originals: dict[str, bytes]  # file name -> original bytes
    listing: list[dict[str, Any]]  # `vault list --json` before the theft
    found: list[dict[str, Any]]  # `vault search CANARY --json` before the theft
    emergency_secret: str
    key_file: Path  # the emergency key, in a file
    rows: dict[str, dict[str, Any]]  # file name -> catalog row (with object ids)


def run(
    root: Path | None, *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> Any:
    """``vault [--vault root] ARGS`` in-process, with the passphrase in the environment."""
    prefix = ["--vault", str(root)] if root is not None else []
    return CliRunner().invoke(
        cli, [*prefix, *args], env={"VAULT_PASSPHRASE": PASSPHRASE, **(env or {})}, input=input
    )


def recover_with_key(remote: Path, dest: Path, key: Path, *args: str) -> Any:
    """``vault recover`` from ``remote`` into ``dest`` with the emergency key file."""
    return run(
        None, "recover", "--from", str(remote), "--to", str(dest),
        "--emergency-key", str(key), "--reason", "test", *args,
    )  # fmt: skip


def run_key(root: Path, key: Path, *args: str) -> Any:
    """``vault --vault root ARGS`` unlocked with the emergency key in the file ``key``
    (fast: the passphrase's scrypt costs about a second each time)."""
    return run(root, *args, "--emergency-key", str(key), "--reason", "recovery test")


def as_json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def store(vault: Vault, path: Path, text: str) -> None:
    vault.store_file(path, name=path.name, media_type="application/pdf", text=[text])


def fill(root: Path, inbox: Path, secret: str) -> dict[str, bytes]:
    """Store the sample documents; return their original bytes by name."""
    inbox.mkdir(parents=True, exist_ok=True)
    originals: dict[str, bytes] = {}
    vault = Vault.open(root)
    with vault.lock:
        vault.unlock_with_emergency_key(secret, "recovery test")
        for n in range(2):
            src = make_pdf(inbox / f"{CANARY}-referral-{n}.pdf", f"{CANARY} referral {n}")
            store(vault, src, f"{CANARY} referral {n} contact arrangements")
            originals[src.name] = src.read_bytes()
        vault.objects.part_size = PART
        large = inbox / "recording.pdf"
        large.write_bytes(make_pdf(inbox / "x.pdf", "big").read_bytes() + os.urandom(3 * PART + 7))
        store(vault, large, f"{CANARY} court bundle")
        originals[large.name] = large.read_bytes()
        vault.fold_journal()
    locked = Vault.open(root)
    with locked.lock:
        for n in range(2):
            src = make_pdf(inbox / f"{CANARY}-letter-{n}.pdf", f"{CANARY} letter {n}")
            store(locked, src, f"{CANARY} letter {n} from the court")
            originals[src.name] = src.read_bytes()
    return originals


def sync_to(root: Path, name: str, folder: Path | str) -> None:
    vault = Vault.open(root)
    if name not in vault.config.get("remotes", {}):
        with vault.lock:
            add_remote(vault, name, str(folder), create=True)
    sync_remote(Vault.open(root), name, str(folder))


@pytest.fixture(scope="module")
def backup(template_vault: Template, tmp_path_factory: pytest.TempPathFactory) -> Backup:
    base = tmp_path_factory.mktemp("backup")
    root = base / "vault"
    shutil.copytree(template_vault.path, root)
    key_file = base / "emergency-key.txt"
    key_file.write_text(template_vault.emergency_secret + "\n")
    originals = fill(root, base / "inbox", template_vault.emergency_secret)
    listing = as_json(run_key(root, key_file, "list", "--json"))  # folds the journal in
    found = as_json(run_key(root, key_file, "search", CANARY, "--json"))
    sync_to(root, "usb", base / "usb")
    vault = Vault.open(root)
    with vault.lock:
        vault.unlock_with_emergency_key(template_vault.emergency_secret, "recovery test")
        rows = {row["name"]: row for row in vault.documents()}
    return Backup(
        root,
        base / "usb",
        originals,
        listing,
        found,
        template_vault.emergency_secret,
        key_file,
        rows,
    )


@pytest.fixture
def remote(backup: Backup, tmp_path: Path) -> Path:
    """A copy of the backup's folder, for this test to use (and damage)."""
    folder = tmp_path / "usb"
    shutil.copytree(backup.folder, folder)
    return folder


@pytest.fixture
def s3_remote(
    backup: Backup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path]]:
    """``loop:vault``: a loopback ``rclone serve s3`` holding a copy of the backup;
    the rclone path and the server's folder for the backup."""
    data = tmp_path / "s3-data"
    shutil.copytree(backup.folder, data / "vault")
    server = S3Server(data, tmp_path / "serve-s3.log")
    server.start()
    server.client_env("loop", monkeypatch)
    try:
        yield "loop:vault", data / "vault"
    finally:
        server.kill()


def tree(root: Path, *, leave_out: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.relative_to(root).as_posix().startswith(leave_out)
    }


def exported(root: Path, secret: str, out: Path) -> dict[str, bytes]:
    """Every document of the vault at ``root`` decrypted: name -> bytes."""
    out.mkdir(parents=True, exist_ok=True)
    got = {}
    vault = Vault.open(root)
    with vault.lock:
        vault.unlock_with_emergency_key(secret, "recovery test")
        for row in list(vault.documents()):
            target = out / row["id"]
            vault.export(row["id"], target)
            got[row["name"]] = target.read_bytes()
    return got
