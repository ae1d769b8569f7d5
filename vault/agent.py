"""The key agent: one small process per user holding unlocked vault keys in memory.

``vault unlock`` starts it (``python -m vault.agent FOLDER``, through
``vault.agent_client``) and hands it a vault's data key; the commands that
read documents then ask it for the key instead of the passphrase.

What it holds: for each unlocked vault folder, the vault id, its data key
and the label of the key whose passphrase unlocked it (so the audit log of
every command it serves names that key), in memory only. Each key is kept in
a buffer locked in memory where the system allows it (``mlock``, so it is
not written to swap) and overwritten when forgotten; the process cannot be
dumped or traced by other programs of the user (``PR_SET_DUMPABLE`` 0, no
core file). It writes nothing: its folder holds the socket and an empty
lock file.

Who can reach it: the socket is in a private folder (``agent_client``
checks the folder is the user's own, mode 0700), the socket is 0600, and
every connection's peer user is checked (``SO_PEERCRED``): a process of
another user is refused before it is read.

When it forgets: a vault's key after ``idle`` seconds without a use (the
vault's ``ui_idle_lock_minutes``; time asleep counts), at ``vault lock``,
and when the process the unlock named ends (the session leader of the
unlocking shell: logging out locks). All keys on SIGTERM, SIGHUP or SIGINT. With no key left it
exits, as it does when no key comes within a few seconds of its start.

Protocol, one connection per request: a JSON line in, a JSON line out.
``put`` (vault, vault_id, secret, label, idle, watch), ``get`` (vault: the
key and its label, a use), ``peek`` (vault: when it locks, not a use), ``forget`` (vault, or null
for all), ``ping`` (the agent's process id).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from vault.agent_client import LOCK_NAME, SOCKET_NAME, check_private, peer_uid, read_line
from vault.errors import AgentError

_FIRST_KEY_WAIT = 15.0  # seconds a new agent waits for its first key
_TICK = 0.5  # seconds between checks of idle keys and watched sessions
_PR_SET_DUMPABLE = 4


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - no C library to load
        return None


class Secret:
    """A key in a buffer locked in memory where allowed, wiped on :meth:`wipe`."""

    def __init__(self, text: str) -> None:
        self._buffer = bytearray(text.encode())
        self._view = (ctypes.c_char * len(self._buffer)).from_buffer(self._buffer)
        self._locked = False
        libc = _libc()
        if libc is not None and self._buffer:
            self._locked = libc.mlock(ctypes.addressof(self._view), len(self._buffer)) == 0

    def text(self) -> str:
        return self._buffer.decode()

    def wipe(self) -> None:
        self._buffer[:] = bytes(len(self._buffer))
        libc = _libc()
        if self._locked and libc is not None:
            libc.munlock(ctypes.addressof(self._view), len(self._buffer))
            self._locked = False


def idle_clock() -> float:
    """Seconds on a clock that goes on while the computer sleeps (Linux's
    boot-time clock), so a laptop closed with the vault unlocked is locked
    when it wakes once its idle time has passed; ``time.monotonic`` stops
    during sleep. Elsewhere ``time.monotonic``."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is not None:
        with contextlib.suppress(OSError):
            return time.clock_gettime(boottime)
    return time.monotonic()


def _start_time(pid: int) -> str | None:
    """When process ``pid`` started (Linux), to tell it from a later one with
    the same id; None elsewhere or when it has gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, started: str | None) -> bool:
    if started is not None:
        return _start_time(pid) == started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


@dataclass
class Entry:
    vault_id: str
    secret: Secret = field(repr=False)
    idle: float
    watch: int | None
    watch_started: str | None
    label: str | None = None
    last_use: float = field(default_factory=idle_clock)

    @property
    def until(self) -> float:
        """When the key is forgotten unless used, in seconds since the epoch."""
        return time.time() + (self.last_use + self.idle - idle_clock())

    def expired(self) -> bool:
        if idle_clock() >= self.last_use + self.idle:
            return True
        return self.watch is not None and not _alive(self.watch, self.watch_started)


class Agent:
    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.had_key = False  # once its keys are all forgotten, the agent exits

    def forget(self, name: str | None) -> int:
        names = list(self.entries) if name is None else [name] if name in self.entries else []
        for each in names:
            self.entries.pop(each).secret.wipe()
        return len(names)

    def sweep(self) -> None:
        for name in [name for name, entry in self.entries.items() if entry.expired()]:
            self.forget(name)

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        op, name = request.get("op"), request.get("vault")
        if op == "ping":
            return {"ok": True, "pid": os.getpid(), "vaults": len(self.entries)}
        if op == "forget":
            return {"ok": True, "forgot": self.forget(name if isinstance(name, str) else None)}
        if not isinstance(name, str):
            return {"ok": False}
        if op == "put":
            return self._put(name, request)
        self.sweep()
        entry = self.entries.get(name)
        if entry is None:
            return {"ok": False}
        if op == "peek":
            return {"ok": True, "until": entry.until}
        if op == "get":
            entry.last_use = idle_clock()
            return {
                "ok": True,
                "vault_id": entry.vault_id,
                "secret": entry.secret.text(),
                "label": entry.label,
                "until": entry.until,
            }
        return {"ok": False}

    def _put(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
        vault_id, secret = request.get("vault_id"), request.get("secret")
        idle, watch = request.get("idle"), request.get("watch")
        label = request.get("label")
        if not isinstance(vault_id, str) or not isinstance(secret, str):
            return {"ok": False}
        if label is not None and not isinstance(label, str):
            return {"ok": False}
        if not isinstance(idle, int | float) or isinstance(idle, bool) or idle <= 0:
            return {"ok": False}
        if watch is not None and (not isinstance(watch, int) or watch <= 1):
            return {"ok": False}
        self.forget(name)
        started = _start_time(watch) if watch is not None else None
        entry = Entry(vault_id, Secret(secret), float(idle), watch, started, label)
        self.entries[name] = entry
        self.had_key = True
        return {"ok": True, "until": entry.until}


def _harden() -> None:
    """No core file, no tracing or /proc/PID/mem by the user's other programs."""
    os.umask(0o077)
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    libc = _libc()
    if libc is not None and sys.platform.startswith("linux"):
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def _serve_one(agent: Agent, conn: socket.socket) -> None:
    with conn:
        conn.settimeout(2.0)
        if peer_uid(conn) != os.getuid():
            return  # another user: refused unread
        try:
            request = json.loads(read_line(conn) or b"null")
        except ValueError:
            return
        answer = agent.answer(request) if isinstance(request, dict) else {"ok": False}
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps(answer).encode() + b"\n")


def serve(where: Path) -> int:
    """Run the agent in ``where`` (the checked private folder) until it has
    no key left; 0 also when another agent already serves there."""
    _harden()
    lock = open(where / LOCK_NAME, "a+b")  # noqa: SIM115 - held for the agent's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another agent runs
    path = where / SOCKET_NAME
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # left by an agent that was killed
    agent = Agent()

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, stop)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        os.chmod(path, 0o600)
        server.listen(8)
        started = time.monotonic()
        while True:
            ready, _, _ = select.select([server], [], [], _TICK)
            if ready:
                with contextlib.suppress(OSError):
                    conn, _ = server.accept()
                    _serve_one(agent, conn)
            agent.sweep()
            if agent.entries:
                continue
            if agent.had_key or time.monotonic() - started >= _FIRST_KEY_WAIT:
                break
    finally:
        agent.forget(None)
        with contextlib.suppress(OSError):
            path.unlink()
        server.close()
        lock.close()
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m vault.agent FOLDER", file=sys.stderr)
        return 2
    where = Path(argv[0])
    try:
        check_private(where)
    except AgentError:
        return 1  # nobody to tell: the command that started it reports it did not start
    return serve(where)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
