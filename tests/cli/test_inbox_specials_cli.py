"""Things in an inbox that are not files, and files that never stop growing.

A named pipe, a socket or a device is never opened (reading one could wait
forever): it is reported once, with what it is. ``watch --once`` makes one
pass: a file still being written is left for the next run instead of being
waited for. Each test runs the real command with a timeout, so a vault that
blocks or waits forever fails instead of hanging the suite."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import make_pdf

TIMEOUT = 60


def vault(vault_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vault.cli", "--vault", str(vault_dir), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "VAULT_PASSPHRASE"},
    )


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    make_pdf(folder / "letter.pdf", "an ordinary letter")
    os.mkfifo(folder / "pipe.pdf")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "socket.pdf"))
    server.close()
    with contextlib.suppress(PermissionError):  # without the right, pipe and socket remain
        os.mknod(folder / "device.pdf", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    return folder


def reported(stderr: str, name: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"skipped: {name}: ")]


def check_specials_reported(inbox: Path, stderr: str) -> None:
    assert reported(stderr, "pipe.pdf") == ["skipped: pipe.pdf: a named pipe (FIFO), not a file"]
    assert reported(stderr, "socket.pdf") == ["skipped: socket.pdf: a socket, not a file"]
    if (inbox / "device.pdf").exists():
        assert reported(stderr, "device.pdf") == ["skipped: device.pdf: a device, not a file"]
    for name in ("pipe.pdf", "socket.pdf"):
        assert (inbox / name).exists()  # left alone


def test_watch_once_reports_a_pipe_socket_or_device_once(vault_dir: Path, inbox: Path) -> None:
    done = vault(vault_dir, "watch", str(inbox), "--once", "--settle", "0.3", "--interval", "0.1")
    assert done.returncode == 6, done.stderr
    assert done.stdout.split()[1] == "letter.pdf:" and len(done.stdout.splitlines()) == 1
    check_specials_reported(inbox, done.stderr)


def test_ingest_of_a_folder_reports_a_pipe_socket_or_device(vault_dir: Path, inbox: Path) -> None:
    done = vault(vault_dir, "ingest", str(inbox))
    assert done.returncode == 6, done.stderr
    assert done.stdout.split()[1] == "letter.pdf:" and len(done.stdout.splitlines()) == 1
    check_specials_reported(inbox, done.stderr)
    named = vault(vault_dir, "ingest", str(inbox / "pipe.pdf"))
    assert named.returncode == 6
    assert reported(named.stderr, "pipe.pdf") == [
        "skipped: pipe.pdf: a named pipe (FIFO), not a file"
    ]


def test_watch_once_leaves_a_file_that_keeps_growing(vault_dir: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    growing = inbox / "scan.pdf"
    growing.write_bytes(b"%PDF-1.4\n")
    stop = threading.Event()

    def scanner() -> None:
        while not stop.is_set():
            with open(growing, "ab") as f:
                f.write(b"% more\n")
            time.sleep(0.05)

    writer = threading.Thread(target=scanner)
    writer.start()
    try:
        started = time.monotonic()
        done = vault(vault_dir, "watch", str(inbox), "--once", "--settle", "1", "--interval", "0.1")
        took = time.monotonic() - started
    finally:
        stop.set()
        writer.join()
    assert done.returncode == 0, done.stderr
    assert "scan.pdf is still being written; left for the next run" in done.stderr
    assert done.stdout == "" and growing.exists()
    assert took < 20
