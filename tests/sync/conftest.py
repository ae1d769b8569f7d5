"""Fixtures for the sync tests: a vault with documents, a local-folder remote,
and a real S3 server (``rclone serve s3``) on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.remotes import add_remote
from tests.conftest import CANARY, make_pdf
from tests.sync.s3server import S3Server
from vault.repository import Vault


def store_documents(root: Path, count: int, work: Path, *, size: int = 0) -> list[str]:
    """Store ``count`` documents without the key; ``size`` adds random bytes to each."""
    vault = Vault.open(root)
    work.mkdir(parents=True, exist_ok=True)
    ids = []
    with vault.lock:
        for n in range(count):
            path = make_pdf(work / f"{CANARY}-{n}.pdf", f"{CANARY} letter {n}")
            if size:
                with open(path, "ab") as f:
                    f.write(os.urandom(size))
            stored = vault.store_file(path, name=f"{CANARY}-{n}.pdf", media_type="application/pdf")
            ids.append(stored.doc_id)
    return ids


@pytest.fixture
def stored_vault(vault_dir: Path, tmp_path: Path) -> Path:
    """A vault with three documents journaled (stored without the key)."""
    store_documents(vault_dir, 3, tmp_path / "inbox")
    return vault_dir


@pytest.fixture
def local_remote(stored_vault: Path, tmp_path: Path) -> tuple[Vault, str, Path]:
    """The vault with a local-folder remote 'usb' added."""
    folder = tmp_path / "usb-backup"
    vault = Vault.open(stored_vault)
    with vault.lock:
        add_remote(vault, "usb", str(folder), create=True)
    return vault, "usb", folder


@pytest.fixture
def s3_server(tmp_path: Path) -> Iterator[S3Server]:
    folder = tmp_path / "s3-data"
    folder.mkdir()
    server = S3Server(folder, tmp_path / "serve-s3.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()
