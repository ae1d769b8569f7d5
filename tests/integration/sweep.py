"""Killing a command at each file operation it makes: the crash sweeps' harness.

``strace`` stops the command (SIGKILL, delivered as the system call starts,
so the call never runs) at the N-th rename, unlink, positioned write,
truncate, fsync or syncfs (a batch of documents made durable at once), for
every N the uninterrupted run makes. Each run gets a vault folder of its
own, copied from the starting one; after each kill the test's ``check``
looks at what was left.

strace counts calls per thread: with ``follow`` (``strace -f``) every thread
and child is traced, and a kill lands in whichever first makes its N-th such
call; without it only the command's main thread is traced (and killed), and
its children (rclone) run untouched until they die with it.

The catalog database's own page writes (``pwrite64`` and ``ftruncate`` on
``local/catalog-*.db`` and its rollback journal) are not kill points: a kill
between two of them is SQLite's atomic commit to survive (its journal, tested
by SQLite itself), and there are hundreds in a fold. Its fsyncs and the
removal of its journal (the commit) are kill points, as is every other call.

A child's own file operations are reached another way (``run_child``): an
uninterrupted run lists every file the child renames into a folder or
removes from it; then, for each, strace (``-P`` that path) makes the call
fail and stops the child with SIGSTOP before it returns to its code, so the
call never runs, and the test kills the command and the child with SIGKILL.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.processes import descendants_of, program_of
from vault.repository import Vault

SYSCALLS = (
    "rename", "renameat", "renameat2", "unlink", "unlinkat",
    "pwrite64", "ftruncate", "fsync", "fdatasync", "syncfs",
)  # fmt: skip
VAULT_CMD = str(Path(sys.executable).with_name("vault"))
ROOT = "ROOT"  # stands for the run's vault folder in a command line
_CALL = re.compile(r"^(?:\d+\s+)?([a-z0-9_]+)\(")
_PATH = re.compile(r'"((?:[^"\\]|\\.)*)"')
COMMITS = (
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
)  # what puts a file in place or removes it
_TIMEOUT = 120


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def exported(vault: Vault, work: Path) -> dict[str, str]:
    """The SHA-256 of each listed document's export, by id."""
    found = {}
    out = work / "export"
    for doc in vault.documents():
        vault.export(doc["id"], out)
        found[doc["id"]] = sha(out)
        out.unlink()
    return found


def assert_clean(vault: Vault) -> None:
    """Nothing set aside, ``verify`` and the audit chain clean (an unlocked vault)."""
    assert not vault.set_aside, "a journal entry was set aside"
    result = vault.verify()
    assert result.ok, result.bad
    assert vault.audit.verify(vault.audit_anchor()) == []


def child_env(**extra: str) -> dict[str, str]:
    """The test's environment without the vault's settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("VAULT_PASSPHRASE", "VAULT_DIR")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def _strace(follow: bool) -> list[str]:
    return ["strace", *(["-f"] if follow else []), "-qq"]


_DATABASE_WRITES = ("pwrite64", "ftruncate")
_DATABASE = re.compile(
    r"^(?:\d+\s+)?[a-z0-9_]+\(\d+<[^>]*/local/catalog-[0-9a-f]+\.db(?:-journal)?>"
)


def count_calls(
    argv: list[str], env: dict[str, str], log: Path, *, follow: bool
) -> tuple[Counter[str], dict[str, set[int]]]:
    """How many of each of ``SYSCALLS`` an uninterrupted run makes, and which
    of them (by call and count) are the catalog database's own page writes."""
    subprocess.run(
        [*_strace(follow), "-y", "-o", str(log), "-e", "trace=" + ",".join(SYSCALLS), *argv],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=_TIMEOUT,
    )
    counts: Counter[str] = Counter()
    database: dict[str, set[int]] = {call: set() for call in _DATABASE_WRITES}
    for line in log.read_text().splitlines():
        found = _CALL.match(line)
        if found:
            call = found.group(1)
            counts[call] += 1
            if call in database and _DATABASE.match(line):
                database[call].add(counts[call])
    return counts, database


def commits_under(
    argv: list[str], env: dict[str, str], log: Path, folder: Path
) -> list[tuple[str, Path]]:
    """The renames into and removals from ``folder`` (by any process of the
    run), in order: each call and the path it puts in place or removes."""
    subprocess.run(
        ["strace", "-f", "-qq", "-o", str(log), "-e", "trace=" + ",".join(COMMITS), *argv],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=_TIMEOUT,
    )
    found = []
    for line in log.read_text().splitlines():
        call, paths = _CALL.match(line), _PATH.findall(line)
        if call and paths and "ENOENT" not in line:
            target = Path(paths[-1] if call.group(1).startswith("rename") else paths[0])
            if target.is_relative_to(folder):
                found.append((call.group(1), target))
    return list(dict.fromkeys(found))


def killed_at(call: str, n: int, argv: list[str], env: dict[str, str], *, follow: bool) -> bool:
    """Run ``argv``, killed at its N-th ``call``; False if it made fewer this time."""
    done = subprocess.run(
        [*_strace(follow), "-o", os.devnull, "-e", f"trace={call}",
         "-e", f"inject={call}:signal=KILL:when={n}", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=_TIMEOUT,
    )  # fmt: skip
    if done.returncode == 0:
        return False  # that call came fewer times this run
    assert done.returncode in (137, -9), done.stderr.decode(errors="replace")
    return True


@dataclass
class Sweep:
    """One command killed at each of its file operations.

    ``argv``: the command, ``ROOT`` standing for the vault folder;
    ``start``: the vault before it runs, copied afresh for each run;
    ``check``: called with the run's vault folder after each kill;
    ``before``: called before each run (to put back what else it changes);
    ``follow``: trace (and kill at) every thread and child, or the main thread only.
    """

    argv: list[str]
    start: Path
    env: dict[str, str]
    work: Path
    check: Callable[[Path], None]
    before: Callable[[], None] = lambda: None
    follow: bool = True

    def _fresh(self, name: str) -> tuple[Path, list[str]]:
        # A folder of its own each time: the per-user anchor of a vault is
        # kept by folder, and a copy of an older state in the same folder
        # would rightly be taken for a rollback.
        root = self.work / name
        shutil.copytree(self.start, root)
        self.before()
        return root, [str(root) if a == ROOT else a for a in self.argv]

    def count(self) -> tuple[Counter[str], dict[str, set[int]]]:
        root, run = self._fresh("vault-count")
        try:
            return count_calls(run, self.env, self.work / "trace", follow=self.follow)
        finally:
            shutil.rmtree(root)

    def run_child(self, program: str, folder: Path) -> int:
        """Kill the command, and its child ``program``, as the child is about to
        put each file in place in ``folder`` or remove one from it (see
        ``killed_with_child_at``); return how many kills landed."""
        root, run = self._fresh("vault-count")
        try:
            commits = commits_under(run, self.env, self.work / "trace", folder)
        finally:
            shutil.rmtree(root)
        assert commits, f"{program} put nothing in {folder}"
        kills = 0
        for n, (call, path) in enumerate(commits):
            root, run = self._fresh(f"vault-{program}-{n}")
            log = self.work / "trace"
            if killed_with_child_at(call, path, run, self.env, log, program=program):
                kills += 1
                self.check(root)
            shutil.rmtree(root)
        return kills

    def run(self) -> int:
        """Kill the command at each counted call in turn; return how many kills landed."""
        counts, database = self.count()
        assert counts["rename"] and counts["fsync"], counts
        kills = 0
        for call in SYSCALLS:
            for n in range(1, counts[call] + 1):
                if n in database.get(call, ()):
                    continue  # the database's own page writes (see the module)
                root, run = self._fresh(f"vault-{call}-{n}")
                if killed_at(call, n, run, self.env, follow=self.follow):
                    kills += 1
                    self.check(root)
                shutil.rmtree(root)
        return kills


def _stopped(pid: int) -> bool:
    """True when every thread of ``pid`` is stopped (a group stop, not one syscall)."""
    states = []
    for task in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            states.append(task.read_text().rsplit(")", 1)[1].split()[0])
        except (OSError, IndexError):
            return False
    return bool(states) and all(state in "tT" for state in states)


def killed_with_child_at(
    call: str, path: Path, argv: list[str], env: dict[str, str], log: Path, *, program: str
) -> bool:
    """Run ``argv``; as its child ``program`` is about to make ``call`` on
    ``path``, stop the child there (the call never runs) and SIGKILL the
    command, then the child. False if the call did not come this run."""
    strace = subprocess.Popen(
        ["strace", "-f", "-qq", "-o", str(log), "-P", str(path), "-e", f"trace={call}",
         "-e", f"inject={call}:error=EIO:signal=STOP:when=1", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + _TIMEOUT
    try:
        while strace.poll() is None:
            assert time.monotonic() < deadline, f"{argv} never reached {call} {path}"
            time.sleep(0.05)
            injected = [
                ln for ln in log.read_text(errors="replace").splitlines() if "(INJECTED)" in ln
            ]
            if not injected:
                continue
            assert f'"{path}"' in injected[0], injected  # that call, on that path, never ran
            tree = descendants_of(strace.pid)
            held = [pid for pid in tree if program_of(pid) == program and _stopped(pid)]
            if not held:
                continue  # the group stop is still reaching its threads
            for pid in sorted(tree - set(held)):  # the command first, as it would die
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            for pid in held:
                os.kill(pid, signal.SIGKILL)
            strace.wait(timeout=_TIMEOUT)
            return True
        return False
    finally:
        if strace.poll() is None:
            strace.kill()
            strace.wait()
