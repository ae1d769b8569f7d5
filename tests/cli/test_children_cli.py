"""The programs a vault command starts (rclone, tesseract, the OCR workers)
get no secret from it and die with it.

Each test runs the real command as a process and looks at its real children
through /proc: what environment they were started with, and whether they go
on running (and writing) once the vault is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sync.remotes import add_remote
from tests import scans
from tests.conftest import PASSPHRASE
from tests.processes import all_gone, command_line, descendants_of, environ_of, program_of
from tests.sync.conftest import store_documents
from vault.repository import Vault

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

WAIT = 60.0
SECRET = b"VAULT_PASSPHRASE"


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "vault.cli", *args],
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def wait_for(child: subprocess.Popen[bytes], found: Callable[[], set[int]]) -> set[int]:
    deadline = time.monotonic() + WAIT
    while True:
        pids = found()
        if pids:
            return pids
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the process looked for never started"
        time.sleep(0.005)


def programs(child: subprocess.Popen[bytes], name: str) -> Callable[[], set[int]]:
    return lambda: {pid for pid in descendants_of(child.pid) if program_of(pid) == name}


def rclone_checksum(child: subprocess.Popen[bytes]) -> Callable[[], set[int]]:
    def found() -> set[int]:
        return {
            pid
            for pid in descendants_of(child.pid)
            if program_of(pid) == "rclone" and b"checksum" in command_line(pid)
        }

    return found


@pytest.fixture
def reaped() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for child in started:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


@pytest.fixture
def inbox_scan(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    return scans.write_image_pdf(
        tmp_path / "inbox" / "bundle.pdf", [scans.scan(v) for v in ["clean", "skewed", "clean"]]
    )


@pytest.fixture
def runtime(tmp_path: Path) -> Path:
    """A stand-in for tmpfs (XDG_RUNTIME_DIR), where OCR's work folder goes."""
    folder = tmp_path / "runtime"
    folder.mkdir(mode=0o700)
    return folder


@pytest.fixture
def slow_remote(vault_dir: Path, tmp_path: Path) -> dict[str, str]:
    """A vault whose one large document is on a folder remote 'usb', and an
    environment in which rclone reads at 32 KiB/s (its RCLONE_BWLIMIT)."""
    store_documents(vault_dir, 1, tmp_path / "docs", size=1_500_000)
    vault = Vault.open(vault_dir)
    with vault.lock:
        add_remote(vault, "usb", str(tmp_path / "usb"), create=True)
    env = {"VAULT_DIR": str(vault_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "vault.cli", "sync", "usb"],
        env={**os.environ, **env},
        capture_output=True,
        timeout=WAIT,
    )
    assert done.returncode == 0, done.stderr.decode()
    return {**env, "RCLONE_BWLIMIT": "32k"}


def test_ocr_workers_and_tesseract_get_no_passphrase(
    vault_dir: Path, inbox_scan: Path, runtime: Path, reaped: list[subprocess.Popen[bytes]]
) -> None:
    env = {"VAULT_DIR": str(vault_dir), "XDG_RUNTIME_DIR": str(runtime)}
    child = start(["ingest", str(inbox_scan)], {**env, "VAULT_PASSPHRASE": PASSPHRASE})
    reaped.append(child)
    seen: dict[int, tuple[str, dict[bytes, bytes]]] = {}
    deadline = time.monotonic() + WAIT
    while child.poll() is None and time.monotonic() < deadline:
        for pid in descendants_of(child.pid) - seen.keys():
            program, environ = program_of(pid), environ_of(pid)
            if program and environ is not None:
                seen[pid] = (program, environ)
        time.sleep(0.005)
    _, err = child.communicate(timeout=WAIT)
    assert child.returncode == 0, err.decode()
    programs_seen = {program for program, _ in seen.values()}
    assert "tesseract" in programs_seen, programs_seen
    assert any(p.startswith("python") for p in programs_seen), programs_seen
    leaking = sorted(program for program, environ in seen.values() if SECRET in environ)
    assert not leaking, f"started with VAULT_PASSPHRASE in their environment: {leaking}"


def test_rclone_gets_no_passphrase(
    slow_remote: dict[str, str], reaped: list[subprocess.Popen[bytes]]
) -> None:
    child = start(
        ["verify", "--remote", "usb", "--read-data"],
        {**slow_remote, "VAULT_PASSPHRASE": PASSPHRASE},
    )
    reaped.append(child)
    pids = wait_for(child, rclone_checksum(child))
    environs = [environ_of(pid) for pid in pids]
    assert environs and all(e is not None for e in environs)
    assert all(SECRET not in e for e in environs if e is not None)
    assert all(b"RCLONE_BWLIMIT" in e for e in environs if e is not None)


def test_killed_verify_leaves_no_rclone_running(
    slow_remote: dict[str, str], reaped: list[subprocess.Popen[bytes]]
) -> None:
    child = start(["verify", "--remote", "usb", "--read-data"], slow_remote)
    reaped.append(child)
    pids = wait_for(child, rclone_checksum(child))
    time.sleep(1)  # past rclone's start, into the download (which logs nothing)
    child.kill()  # the vault alone, not its process group
    child.wait(timeout=WAIT)
    assert all_gone(pids, within=5), "rclone checksum outlived the killed vault"


def test_killed_ingest_leaves_no_tesseract_writing_page_text(
    vault_dir: Path, inbox_scan: Path, runtime: Path, reaped: list[subprocess.Popen[bytes]]
) -> None:
    env = {"VAULT_DIR": str(vault_dir), "XDG_RUNTIME_DIR": str(runtime)}
    child = start(["ingest", str(inbox_scan)], env)
    reaped.append(child)
    pids = wait_for(child, programs(child, "tesseract"))
    child.kill()  # the vault alone: its workers die with it (PR_SET_PDEATHSIG)
    before = {p for p in runtime.rglob("*") if p.is_file()}
    child.wait(timeout=WAIT)
    assert all_gone(pids, within=5), "tesseract outlived the killed vault"
    time.sleep(3)  # longer than tesseract takes for a page
    written = {p.name for p in runtime.rglob("*") if p.is_file()} - {p.name for p in before}
    assert not written, f"page output written after the vault was killed: {sorted(written)}"
