"""Talking to the key agent (``vault.agent``): where it listens, and asking it.

The agent keeps unlocked vault keys in memory for one user, so that a
morning's commands need one ``vault unlock``. This module is what the
commands (and the web page) use:

- :func:`fetch_key` the key held for a vault folder (and counts as a use, so
  the idle lock starts again), or None: never an error, a command then asks
  for the passphrase as before;
- :func:`store_key` hands it a key, starting the agent when none runs;
- :func:`forget` forgets one vault's key (or all of them: the agent exits);
- :func:`unlocked_until` when a vault locks by itself, without counting as a use.

Its folder is ``$XDG_RUNTIME_DIR/vault-agent`` (a per-user folder in memory
the login session makes), else ``vault-agent-UID`` in the system's temp
folder. Before use the folder is checked: a real folder (not a link), owned
by this user, mode 0700; otherwise the agent is not used (:func:`fetch_key`)
or refused with a clear error (:func:`store_key`). The socket in it is 0600,
and each side checks who is at the other end (``peer_uid``).

Only the standard library is used here: a command that takes its key from
the agent starts quickly.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vault.errors import AgentError

SOCKET_NAME = "agent.sock"
LOCK_NAME = "agent.lock"  # held by the running agent (flock), so only one serves
_FOLDER_NAME = "vault-agent"
_MAX_LINE = 64 * 1024
_MAX_SOCKET_PATH = 100  # bytes: a Unix socket's path is at most 104 to 108
_TIMEOUT = 5.0  # seconds for one exchange with the agent
_START_WAIT = 10.0  # seconds for a new agent to answer


@dataclass(frozen=True)
class Held:
    """A key the agent holds for a vault folder."""

    vault_id: str
    secret: str = field(repr=False)
    until: float  # when it locks unless used again (seconds since the epoch)
    label: str | None = None  # the label of the key that unlocked it


def available() -> bool:
    """Whether this system can run the agent (Unix sockets and a peer check)."""
    return hasattr(socket, "AF_UNIX") and (
        hasattr(socket, "SO_PEERCRED") or sys.platform == "darwin"
    )


def folder() -> Path:
    """The agent's private folder (not checked; see :func:`checked_folder`)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        return Path(runtime) / _FOLDER_NAME
    return Path(tempfile.gettempdir()) / f"{_FOLDER_NAME}-{os.getuid()}"


def checked_folder(*, create: bool) -> Path:
    """The agent's folder once it is found private (``AgentError`` otherwise);
    ``create``: make it (0700) when missing."""
    path = folder()
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise AgentError(
                f"cannot make the unlock folder {path}: {exc.strerror}",
                hint="set XDG_RUNTIME_DIR to a private folder of yours",
            ) from exc
    check_private(path)
    if len(os.fsencode(path / SOCKET_NAME)) > _MAX_SOCKET_PATH:
        raise AgentError(
            f"the unlock folder's path {path} is too long for the system",
            hint="set XDG_RUNTIME_DIR to a folder of yours with a shorter path",
        )
    return path


def check_private(path: Path) -> None:
    """Refuse (``AgentError``) a folder that is not this user's own, 0700, not a link."""
    try:
        info = os.lstat(path)
    except FileNotFoundError as exc:
        raise AgentError(f"the unlock folder {path} does not exist") from exc
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise AgentError(
            f"the unlock folder {path} is not private (it must be your own folder, "
            "mode 0700, not a link); nothing was unlocked",
            hint=f"remove {path} (someone may have put it there) and try again",
        )


def key_name(root: Path) -> str:
    """What the agent knows a vault by: its folder's full path."""
    return str(root.expanduser().resolve())


def peer_uid(conn: socket.socket) -> int | None:
    """The user id of the process at the other end of a Unix socket, or None."""
    try:
        if hasattr(socket, "SO_PEERCRED"):  # Linux: struct ucred {pid, uid, gid}
            raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            return int(struct.unpack("3i", raw)[1])
        if sys.platform == "darwin":  # LOCAL_PEERCRED: struct xucred {version, uid, ...}
            raw = conn.getsockopt(0, 0x001, 76)
            return int(struct.unpack_from("2I", raw)[1])
    except OSError:
        return None
    return None


def read_line(conn: socket.socket) -> bytes:
    """One line (without its newline) from ``conn``; b"" if none came whole."""
    data = bytearray()
    while b"\n" not in data and len(data) <= _MAX_LINE:
        chunk = conn.recv(4096)
        if not chunk:
            return b""
        data += chunk
    line, newline, _ = bytes(data).partition(b"\n")
    return line if newline else b""


def _ask(request: dict[str, Any]) -> dict[str, Any] | None:
    """The agent's answer to ``request``, or None (no agent, not ours, garbled)."""
    if not available():
        return None
    try:
        path = checked_folder(create=False) / SOCKET_NAME
    except AgentError:
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(_TIMEOUT)
            conn.connect(str(path))
            if peer_uid(conn) != os.getuid():  # never give a key to someone else's socket
                return None
            conn.sendall(json.dumps(request).encode() + b"\n")
            answer = json.loads(read_line(conn) or b"null")
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


def _moment(value: object) -> float | None:
    """A lock time from the agent, or None when it is not one the clock can show
    (not a number, Infinity, NaN, a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    moment = float(value)
    return moment if math.isfinite(moment) and abs(moment) < 1e11 else None


def fetch_key(root: Path) -> Held | None:
    """The key held for the vault at ``root`` (a use: its idle time starts
    again), or None when there is none or the agent cannot be reached."""
    answer = _ask({"op": "get", "vault": key_name(root)})
    if not answer or not answer.get("ok"):
        return None
    secret, vault_id, until = answer.get("secret"), answer.get("vault_id"), answer.get("until")
    if not isinstance(secret, str) or not isinstance(vault_id, str):
        return None
    moment = _moment(until)
    if moment is None:
        return None
    label = answer.get("label")
    return Held(vault_id, secret, moment, label if isinstance(label, str) else None)


def unlocked_until(root: Path) -> float | None:
    """When the vault at ``root`` locks by itself, or None when it is locked
    (asking does not count as a use)."""
    answer = _ask({"op": "peek", "vault": key_name(root)})
    return _moment(answer.get("until")) if answer and answer.get("ok") else None


def forget(root: Path | None) -> bool:
    """Forget the key of the vault at ``root`` (None: every key, and the agent
    exits). True when a key was forgotten."""
    answer = _ask({"op": "forget", "vault": None if root is None else key_name(root)})
    return bool(answer and answer.get("forgot"))


def agent_pid() -> int | None:
    """The running agent's process id, or None."""
    answer = _ask({"op": "ping"})
    pid = answer.get("pid") if answer else None
    return pid if isinstance(pid, int) else None


def store_key(
    root: Path,
    vault_id: str,
    secret: str,
    *,
    idle_seconds: float,
    watch_pid: int | None,
    label: str | None = None,
) -> float:
    """Hand the agent the key of the vault at ``root``, starting the agent
    when none runs; return when it locks unless used.

    ``idle_seconds``: forgotten after that long without use; ``watch_pid``: a
    process whose end makes the agent forget the key (the session of the
    shell that unlocked; None: none); ``label``: the key that unlocked it,
    given back with the key so each command's audit entries name it."""
    if not available():
        raise AgentError(
            "'vault unlock' is not available on this system",
            hint="give the passphrase to each command instead",
        )
    checked_folder(create=True)
    request = {
        "op": "put",
        "vault": key_name(root),
        "vault_id": vault_id,
        "secret": secret,
        "label": label,
        "idle": idle_seconds,
        "watch": watch_pid,
    }
    until = None
    for _ in range(2):  # a second time if the agent was just then leaving
        if agent_pid() is None:
            _start()
        answer = _ask(request)
        until = _moment(answer.get("until")) if answer and answer.get("ok") else None
        if until is not None:
            break
    if until is None:
        raise AgentError(
            "the unlock agent did not take the key; the vault stays locked",
            hint="run 'vault lock --all', then 'vault unlock' again",
        )
    return until


def _start() -> None:
    """Start the agent in a session of its own and wait until it answers (once
    more if it left at once: an agent that was leaving still held the folder)."""
    deadline = time.monotonic() + _START_WAIT
    agent = _spawn()
    while agent_pid() is None:
        if time.monotonic() > deadline:
            raise AgentError("the unlock agent did not start; the vault stays locked")
        if agent.poll() is not None:
            if agent.returncode != 0:  # it refused its folder
                raise AgentError("the unlock agent did not start; the vault stays locked")
            agent = _spawn()
        time.sleep(0.02)


def _spawn() -> subprocess.Popen[bytes]:
    from vault.children import environment

    package_parent = str(Path(__file__).resolve().parent.parent)
    python_path = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p)
    try:
        return subprocess.Popen(  # our own interpreter, a fixed argument list
            [sys.executable, "-m", "vault.agent", str(folder())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            env=environment({"PYTHONPATH": python_path}),
            start_new_session=True,  # not stopped by the terminal's Ctrl-C or hang-up
            close_fds=True,
        )
    except OSError as exc:
        raise AgentError(f"cannot start the unlock agent: {exc.strerror}") from exc


def session_watch() -> int | None:
    """The process whose end should lock what this process unlocks: the leader
    of its session (the login shell or the terminal's shell), or, for a
    command that leads its own session, its parent. None where unknown."""
    with contextlib.suppress(AttributeError, OSError):
        leader = os.getsid(0)
        watch = os.getppid() if leader == os.getpid() else leader
        return watch if watch > 1 else None
    return None
