"""Run the reference Go ``age`` command (Debian age 1.1.1) from tests.

age 1.1.1 reads passphrases only from a terminal (it opens ``/dev/tty``), so
the passphrase helpers start ``age`` in a new session whose controlling
terminal is a pseudo-terminal made here, wait for each prompt, and type the
passphrase once the terminal's echo is off. Every call has a timeout, no call
goes through a shell, and ``age`` always writes its output to a file (``-o``)
so that the terminal carries only prompts.

A missing ``age`` is a failure, not a skip: the vault promises that the
reference command opens its files, and ``scripts/setup`` installs it.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import subprocess
import tempfile
import termios
import time
from pathlib import Path

DEFAULT_TIMEOUT = 60.0

# "Enter passphrase:", "Enter passphrase (leave empty to autogenerate a secure
# one):" and "Confirm passphrase:"; a prompt is complete once its colon is out.
_PROMPT = re.compile(rb"(?:Enter|Confirm) passphrase[^\r\n]*:")


class AgeCommandError(AssertionError):
    """``age`` failed or timed out; ``output`` is what it printed (passphrase redacted)."""

    def __init__(self, message: str, returncode: int | None, output: str) -> None:
        super().__init__(f"{message} (exit status {returncode}): {output.strip()!r}")
        self.returncode = returncode
        self.output = output


def age_path() -> str:
    """The ``age`` command's path; fails (never skips) when it is not installed."""
    path = shutil.which("age")
    assert path, "the reference 'age' command is not installed: run scripts/setup"
    return path


def age_keygen_path() -> str:
    path = shutil.which("age-keygen")
    assert path, "the reference 'age-keygen' command is not installed: run scripts/setup"
    return path


def write_identity_file(path: Path, secret: str) -> Path:
    """Write an age identity file (one ``AGE-SECRET-KEY-1…`` line), mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret.strip() + "\n")
    return path


def age_keygen(path: Path, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Make an identity file with ``age-keygen``; return its public recipient."""
    _run([age_keygen_path(), "-o", str(path)], timeout=timeout)
    result = _run([age_keygen_path(), "-y", str(path)], timeout=timeout)
    return result.stdout.decode().strip()


# --- keys and recipients (no terminal needed) ---------------------------------


def _run(
    args: list[str], *, input: bytes | None = None, timeout: float = DEFAULT_TIMEOUT
) -> subprocess.CompletedProcess[bytes]:
    try:
        result = subprocess.run(
            args,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AgeCommandError(f"{args[0]} timed out after {timeout} s", None, "") from exc
    if result.returncode != 0:
        output = result.stderr.decode(errors="replace")
        raise AgeCommandError(f"{Path(args[0]).name} failed", result.returncode, output)
    return result


def age_decrypt_with_identity_to_file(
    path: Path, identity_file: Path, out: Path, timeout: float = DEFAULT_TIMEOUT
) -> None:
    """``age -d -i identity_file -o out path`` (streamed by age, for large files)."""
    _run([age_path(), "-d", "-i", str(identity_file), "-o", str(out), str(path)], timeout=timeout)


def age_decrypt_with_identity(
    path: Path, identity_file: Path, timeout: float = DEFAULT_TIMEOUT
) -> bytes:
    """``age -d -i identity_file path``; return the plaintext."""
    with tempfile.TemporaryDirectory(prefix="agecmd-") as work:
        out = Path(work) / "out"
        age_decrypt_with_identity_to_file(path, identity_file, out, timeout)
        return out.read_bytes()


def age_encrypt_to_recipient(
    data: bytes, recipient: str, *, armor: bool = False, timeout: float = DEFAULT_TIMEOUT
) -> bytes:
    """``age -r recipient`` (``-a`` for armor) of ``data`` given on stdin."""
    args = [age_path(), "-r", recipient]
    if armor:
        args.append("-a")
    return _run(args, input=data, timeout=timeout).stdout


# --- passphrases (through a pseudo-terminal) ----------------------------------


def _take_controlling_terminal() -> None:
    # Runs in the child after setsid() (start_new_session) with the terminal
    # already on fd 0: make it the controlling terminal, so /dev/tty is it.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _echo_is_off(master: int) -> bool:
    # On Linux the master side reports the terminal's (shared) settings.
    return not termios.tcgetattr(master)[3] & termios.ECHO


def run_with_passphrase(
    args: list[str], passphrase: str, *, timeout: float = DEFAULT_TIMEOUT
) -> tuple[int, str, int]:
    """Run ``args`` on a new pseudo-terminal, typing ``passphrase`` at every prompt.

    Returns (exit status, terminal output with the passphrase redacted, number
    of prompts answered). The process is killed if it outlives ``timeout``.
    """
    secret = passphrase.encode()
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(
            args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=_take_controlling_terminal,
        )
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    deadline = time.monotonic() + timeout
    output = bytearray()
    answered = 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise AgeCommandError(
                    f"{Path(args[0]).name} timed out after {timeout} s",
                    None,
                    _redact(output, secret),
                )
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if proc.poll() is not None and not select.select([master], [], [], 0)[0]:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every slave side is closed, the child has exited
                chunk = b""
            if not chunk:
                break
            output += chunk
            while answered < len(_PROMPT.findall(output)):
                # age prints the prompt and then turns echo off; wait for that so
                # the passphrase is never echoed back.
                while not _echo_is_off(master):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        break
                    time.sleep(0.005)
                try:
                    os.write(master, secret + b"\n")
                except OSError:
                    break
                answered += 1
        returncode = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        os.close(master)
    return returncode, _redact(output, secret), answered


def _redact(output: bytes | bytearray, secret: bytes) -> str:
    return bytes(output).replace(secret, b"***").decode(errors="replace")


def _run_passphrase_checked(args: list[str], passphrase: str, timeout: float) -> int:
    returncode, output, answered = run_with_passphrase(args, passphrase, timeout=timeout)
    if returncode != 0:
        raise AgeCommandError(f"{Path(args[0]).name} failed", returncode, output)
    return answered


def age_decrypt_with_passphrase(
    path: Path, passphrase: str, timeout: float = DEFAULT_TIMEOUT
) -> bytes:
    """``age -d path`` of a passphrase (scrypt) file, the passphrase typed at the prompt."""
    with tempfile.TemporaryDirectory(prefix="agecmd-") as work:
        out = Path(work) / "out"
        answered = _run_passphrase_checked(
            [age_path(), "-d", "-o", str(out), str(path)], passphrase, timeout
        )
        assert answered == 1, f"age asked for the passphrase {answered} times, expected once"
        return out.read_bytes()


def age_encrypt_with_passphrase(
    data: bytes, passphrase: str, *, armor: bool = False, timeout: float = DEFAULT_TIMEOUT
) -> bytes:
    """``age -p`` of ``data``; the passphrase is typed at both prompts.

    (An empty answer would make age autogenerate a passphrase; it is always typed.)
    """
    if not passphrase:
        raise ValueError("an empty passphrase would make age generate one")
    with tempfile.TemporaryDirectory(prefix="agecmd-") as work:
        src = Path(work) / "in"
        out = Path(work) / "out"
        src.write_bytes(data)
        args = [age_path(), "-p", "-o", str(out)]
        if armor:
            args.append("-a")
        answered = _run_passphrase_checked([*args, str(src)], passphrase, timeout)
        assert answered == 2, f"age -p asked for the passphrase {answered} times, expected twice"
        return out.read_bytes()
