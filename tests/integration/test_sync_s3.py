"""Sync to a real S3 server on loopback (``rclone serve s3``), killed mid-sync.

The server is started by the test with random credentials; the client finds
them only in RCLONE_CONFIG_TESTS3_* variables. A background checker reads the
server's backing folder over and over during both syncs: whenever there is a
head, everything it (and the journal) names must be there with its size.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sync import rcd
from sync.backup import sync_remote
from sync.check import check_remote
from sync.remotes import add_remote
from sync.repair import repair_remote
from sync.state import load_state
from tests.conftest import PASSPHRASE
from tests.sync.conftest import s3_server, store_documents  # noqa: F401 (fixture)
from tests.sync.remote_folder import SERVER_TEMP, files_in, missing_from, same_as_vault
from tests.sync.s3server import S3Server
from vault.errors import RemoteError
from vault.repository import Vault

NAME = "tests3"
MANY = 120


class HeadWatcher(threading.Thread):
    """Checks the remote's head against its contents until stopped."""

    def __init__(self, folder: Path) -> None:
        super().__init__(daemon=True)
        self.folder = folder
        self.stop = threading.Event()
        self.problems: list[str] = []
        self.checks = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                found = missing_from(self.folder)
            except (ValueError, KeyError, OSError):
                continue  # a file caught while the server writes it: not what a client sees
            self.checks += 1
            if found:
                self.problems.extend(found)
            time.sleep(0.002)


def objects_held(folder: Path) -> int:
    """Objects on the server (not counting uploads a killed server left half-done)."""
    if not folder.exists():
        return 0
    return sum(1 for p in folder.glob("objects/*/*") if not p.name.startswith(SERVER_TEMP))


def test_sync_killed_server_resync_verify_repair(
    vault_dir: Path,
    tmp_path: Path,
    s3_server: S3Server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3_server.client_env(NAME, monkeypatch)
    path = f"{NAME}:vault/backup"
    backing = s3_server.folder / "vault" / "backup"
    vault = Vault.open(vault_dir)
    with vault.lock:
        add_remote(vault, NAME, path)
    store_documents(vault_dir, 2, tmp_path / "first")

    first = sync_remote(vault, NAME, path)
    assert first.uploaded > 0 and not missing_from(backing)
    again = sync_remote(vault, NAME, path)
    assert again.up_to_date and again.uploaded == 0
    assert load_state(vault_dir, NAME, path).last_sync["uploaded"] == 0  # type: ignore[index]

    # Many new documents, folded by an unlocked command: a new head that names them.
    store_documents(vault_dir, MANY, tmp_path / "many", size=8 * 1024)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.fold_journal()
    vault = Vault.open(vault_dir)
    before = objects_held(backing)

    watcher = HeadWatcher(backing)
    watcher.start()
    outcome: list[object] = []

    def run_sync() -> None:
        try:
            outcome.append(sync_remote(vault, NAME, path))
        except RemoteError as error:
            outcome.append(error)

    syncing = threading.Thread(target=run_sync)
    syncing.start()
    deadline = time.monotonic() + 60
    while objects_held(backing) < before + 20 and syncing.is_alive():
        assert time.monotonic() < deadline
        time.sleep(0.002)
    s3_server.kill()
    killed_at = time.monotonic()
    arrived = objects_held(backing)
    syncing.join(timeout=120)
    assert not syncing.is_alive()
    assert time.monotonic() - killed_at < 30  # gave up quickly, not after many retries
    assert isinstance(outcome[0], RemoteError), "the sync finished before the server was killed"
    assert before + 20 <= arrived < before + MANY, arrived
    assert not missing_from(backing)  # the previous head is still whole

    s3_server.start()
    result = sync_remote(vault, NAME, path)
    watcher.stop.set()
    watcher.join()
    assert watcher.checks > 10 and watcher.problems == []
    assert result.uploaded > 0 and result.documents == MANY + 2
    assert not missing_from(backing)
    assert same_as_vault(backing, vault_dir) == []
    assert objects_held(backing) == sum(1 for _ in vault_dir.glob("objects/*/*"))
    assert sync_remote(vault, NAME, path).up_to_date

    # Verify by downloading (S3 keeps only MD5s), find a flipped byte, repair it.
    assert check_remote(vault, NAME, path, read_data=0.1).ok
    victim = sorted(p for p in files_in(backing) if p.startswith("objects/"))[7]
    data = bytearray((backing / victim).read_bytes())
    data[100] ^= 0xFF
    (backing / victim).write_bytes(bytes(data))
    found = check_remote(vault, NAME, path, read_data=1.0)
    assert [(p.path, p.problem) for p in found.problems] == [(victim, "corrupt")]
    assert repair_remote(vault, NAME, path).uploaded == [victim]
    assert (backing / victim).read_bytes() == (vault_dir / victim).read_bytes()


def test_wrong_credentials_exit_5_in_one_line(
    vault_dir: Path,
    s3_server: S3Server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    from vault.cli import cli

    s3_server.client_env(NAME, monkeypatch)
    wrong = "wrong" + s3_server.secret[5:]
    monkeypatch.setenv(f"RCLONE_CONFIG_{NAME.upper()}_SECRET_ACCESS_KEY", wrong)
    monkeypatch.delenv("VAULT_PASSPHRASE", raising=False)
    runner = CliRunner()
    base = ["--vault", str(vault_dir)]
    assert runner.invoke(cli, [*base, "remote", "add", NAME, f"{NAME}:vault/b"]).exit_code == 0
    started = time.monotonic()
    result = runner.invoke(cli, [*base, "sync", NAME])
    assert time.monotonic() - started < 30
    assert result.exit_code == 5
    assert "access refused (403 SignatureDoesNotMatch)" in result.stderr
    assert len(result.stderr.splitlines()) == 2  # the error and the hint
    assert wrong not in result.output and s3_server.secret not in result.output


@pytest.mark.parametrize("when", ["objects", "head"])
def test_a_server_that_goes_silent_mid_sync_fails_within_seconds(
    vault_dir: Path,
    tmp_path: Path,
    s3_server: S3Server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    when: str,
) -> None:
    """A remote that stops answering without closing anything (a dead NAS, a
    pulled cable: here the server is frozen with SIGSTOP) fails after
    ``STALL_AFTER`` seconds with nothing moving and ``PROBE_TIMEOUT`` more
    without an answer, not after rclone's network timeouts and retries (over
    five minutes). The limits are shortened here to keep the test quick;
    ``test_the_stall_limit_is_tens_of_seconds`` bounds the real ones."""
    monkeypatch.setattr(rcd, "STALL_AFTER", 4.0)
    monkeypatch.setattr(rcd, "PROBE_TIMEOUT", 2.0)
    s3_server.client_env(NAME, monkeypatch)
    path = f"{NAME}:vault/backup"
    backing = s3_server.folder / "vault" / "backup"
    vault = Vault.open(vault_dir)
    with vault.lock:
        add_remote(vault, NAME, path)
    store_documents(vault_dir, 2, tmp_path / "first")
    sync_remote(vault, NAME, path)
    store_documents(vault_dir, 40 if when == "objects" else 1, tmp_path / "many", size=8 * 1024)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.fold_journal()
    assert s3_server.proc is not None
    frozen = threading.Event()
    if when == "head":  # frozen just as the head is about to be sent
        real_copy = rcd.Daemon.copy_file

        def copy_file(self: rcd.Daemon, *args: Any, **kwargs: Any) -> None:
            if not frozen.is_set():
                assert s3_server.proc is not None
                os.kill(s3_server.proc.pid, signal.SIGSTOP)
                frozen.set()
            real_copy(self, *args, **kwargs)

        monkeypatch.setattr(rcd.Daemon, "copy_file", copy_file)
    before = objects_held(backing)
    outcome: list[object] = []

    def run_sync() -> None:
        try:
            outcome.append(sync_remote(vault, NAME, path))
        except RemoteError as error:
            outcome.append(error)

    syncing = threading.Thread(target=run_sync)
    syncing.start()
    try:
        if when == "objects":
            deadline = time.monotonic() + 60
            while objects_held(backing) < before + 10 and syncing.is_alive():
                assert time.monotonic() < deadline
                time.sleep(0.002)
            os.kill(s3_server.proc.pid, signal.SIGSTOP)
            frozen.set()
        assert frozen.wait(60)
        stopped_at = time.monotonic()
        syncing.join(timeout=120)
        took = time.monotonic() - stopped_at
    finally:
        os.kill(s3_server.proc.pid, signal.SIGCONT)
    assert not syncing.is_alive()
    assert isinstance(outcome[0], RemoteError), "the sync finished before the server froze"
    assert "stopped answering" in outcome[0].message
    assert took < 4.0 + 2.0 + 10, took
    assert not missing_from(backing)  # the previous head is still whole


def test_a_head_changed_on_the_server_is_noticed_by_its_md5_and_sent_again(
    vault_dir: Path,
    tmp_path: Path,
    s3_server: S3Server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3_server.client_env(NAME, monkeypatch)
    path = f"{NAME}:vault/backup"
    backing = s3_server.folder / "vault" / "backup"
    vault = Vault.open(vault_dir)
    with vault.lock:
        add_remote(vault, NAME, path)
    store_documents(vault_dir, 1, tmp_path / "first")
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.fold_journal()
    sync_remote(vault, NAME, path)
    fetched: list[str] = []
    real_copy = rcd.Daemon.copy_files

    def copy_files(self: rcd.Daemon, source: Path | str, dest: str, paths: Any, *a: Any,
                   **kw: Any) -> int:  # fmt: skip
        if isinstance(source, str) and Path(dest).name != "read-back":
            fetched.extend(paths)  # downloaded to be hashed here: S3 gives MD5s instead
        # (the read-back sample of every sync downloads a few write-once files on purpose)
        return real_copy(self, source, dest, paths, *a, **kw)

    monkeypatch.setattr(rcd.Daemon, "copy_files", copy_files)
    assert sync_remote(vault, NAME, path).up_to_date
    head = bytearray((backing / "head.json").read_bytes())
    head[-3] ^= 0x01
    (backing / "head.json").write_bytes(bytes(head))
    again = sync_remote(vault, NAME, path)
    assert again.full and "head.json changed" in again.notes[0]
    assert (backing / "head.json").read_bytes() == (vault_dir / "head.json").read_bytes()
    assert fetched == []
    assert check_remote(vault, NAME, path).ok
