"""A real S3 server on loopback for the sync tests: ``rclone serve s3``.

Started on 127.0.0.1 on a free port, backed by a temp folder, with a random
access key pair given to the server in its environment (``RCLONE_AUTH_KEY``)
and to the client through ``RCLONE_CONFIG_<NAME>_*`` variables, never on a
command line. The backing folder shows what the remote really holds.

Listings: serve s3 caches them for 5 minutes by default. ``--dir-cache-time
0s`` turns that off but was measured pathologically slow with rclone 1.75.2
(30 small uploads: 23 s with 4 transfers, over 60 s with one); ``1ms`` is
as good as no cache and took 0.27 s.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from pathlib import Path

import pytest

from sync import rclone


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class S3Server:
    def __init__(self, folder: Path, log: Path) -> None:
        self.folder = folder
        self.log = log
        self.port = free_port()
        self.access = "AK" + secrets.token_hex(8)
        self.secret = secrets.token_hex(20)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(os.environ, RCLONE_AUTH_KEY=f'"{self.access},{self.secret}"')
        argv = [
            rclone.binary(), "serve", "s3", "--addr", f"127.0.0.1:{self.port}",
            "--dir-cache-time", "1ms", str(self.folder),
        ]  # fmt: skip
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.proc.poll() is not None:
                raise AssertionError(f"rclone serve s3 exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        raise AssertionError("rclone serve s3 did not start listening")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def client_env(self, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
        prefix = f"RCLONE_CONFIG_{name.upper()}_"
        for key, value in {
            "TYPE": "s3",
            "PROVIDER": "Rclone",
            "ENDPOINT": f"http://127.0.0.1:{self.port}",
            "ACCESS_KEY_ID": self.access,
            "SECRET_ACCESS_KEY": self.secret,
            "FORCE_PATH_STYLE": "true",
        }.items():
            monkeypatch.setenv(prefix + key, value)
