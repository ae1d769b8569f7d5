"""A vault command on a pseudo-terminal of its own, driven as a person would.

The command's standard input, output and error are the terminal, which is
also its controlling terminal (so hidden prompts read it, not the terminal
the tests were started from). ``expect`` waits for text, ``send`` types a
line, ``finish`` reads to the end and gives the exit status.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
from collections.abc import Mapping, Sequence


def _take_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    def __init__(self, args: Sequence[str], env: Mapping[str, str]) -> None:
        self.controller, terminal = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vault.cli", *args],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            env=dict(env),
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
        os.close(terminal)
        self.seen = ""
        self.position = 0  # where the next expect starts looking

    def _read(self, deadline: float) -> bool:
        """Read what is there; False at the end of the output."""
        ready, _, _ = select.select([self.controller], [], [], max(0.0, deadline - time.time()))
        if not ready:
            return True
        try:
            chunk = os.read(self.controller, 4096)
        except OSError:  # the command ended and closed the terminal
            return False
        if not chunk:
            return False
        self.seen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        return True

    def expect(self, text: str, timeout: float = 60) -> str:
        """Wait for ``text``; return what came before it since the last expect."""
        deadline = time.time() + timeout
        while text not in self.seen[self.position :]:
            if time.time() > deadline or not self._read(deadline):
                raise AssertionError(f"never saw {text!r}; the terminal showed:\n{self.seen}")
        start = self.position
        found = self.seen.index(text, start)
        self.position = found + len(text)
        return self.seen[start:found]

    def send(self, line: str) -> None:
        os.write(self.controller, (line + "\n").encode())

    def finish(self, timeout: float = 60) -> int:
        """Read to the end of the output; the exit status."""
        deadline = time.time() + timeout
        while time.time() < deadline and self._read(deadline):
            pass
        try:
            status = self.proc.wait(timeout=max(1.0, deadline - time.time()))
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            os.close(self.controller)
        return status
