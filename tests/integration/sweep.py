"""Killing a command at each file operation it makes: the crash sweeps' harness.

``strace`` stops the command (SIGKILL, delivered as the system call starts,
so the call never runs) at the N-th rename, unlink, positioned write,
truncate or fsync, for every N the uninterrupted run makes. Each run gets a
vault folder of its own, copied from the starting one; after each kill the
test's ``check`` looks at what was left.

strace counts calls per thread: with ``follow`` (``strace -f``) every thread
and child is traced, and a kill lands in whichever first makes its N-th such
call; without it only the command's main thread is traced (and killed), and
its children (rclone) run untouched until they die with it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vault.repository import Vault

SYSCALLS = (
    "rename", "renameat", "renameat2", "unlink", "unlinkat",
    "pwrite64", "ftruncate", "fsync", "fdatasync",
)  # fmt: skip
VAULT_CMD = str(Path(sys.executable).with_name("vault"))
ROOT = "ROOT"  # stands for the run's vault folder in a command line
_CALL = re.compile(r"^(?:\d+\s+)?([a-z0-9_]+)\(")
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


def count_calls(argv: list[str], env: dict[str, str], log: Path, *, follow: bool) -> Counter[str]:
    """How many of each of ``SYSCALLS`` an uninterrupted run makes."""
    subprocess.run(
        [*_strace(follow), "-o", str(log), "-e", "trace=" + ",".join(SYSCALLS), *argv],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=_TIMEOUT,
    )
    counts: Counter[str] = Counter()
    for line in log.read_text().splitlines():
        found = _CALL.match(line)
        if found:
            counts[found.group(1)] += 1
    return counts


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
    ``every``: kill at every N-th call only (1: at each one).
    """

    argv: list[str]
    start: Path
    env: dict[str, str]
    work: Path
    check: Callable[[Path], None]
    before: Callable[[], None] = lambda: None
    follow: bool = True
    every: int = 1

    def _fresh(self, name: str) -> tuple[Path, list[str]]:
        # A folder of its own each time: the per-user anchor of a vault is
        # kept by folder, and a copy of an older state in the same folder
        # would rightly be taken for a rollback.
        root = self.work / name
        shutil.copytree(self.start, root)
        self.before()
        return root, [str(root) if a == ROOT else a for a in self.argv]

    def count(self) -> Counter[str]:
        root, run = self._fresh("vault-count")
        try:
            return count_calls(run, self.env, self.work / "trace", follow=self.follow)
        finally:
            shutil.rmtree(root)

    def run(self, counts: Counter[str] | None = None) -> int:
        """Kill the command at each counted call in turn; return how many kills landed."""
        counts = self.count() if counts is None else counts
        assert counts["rename"] and counts["fsync"], counts
        kills = 0
        for call in SYSCALLS:
            for n in range(1, counts[call] + 1, self.every):
                root, run = self._fresh(f"vault-{call}-{n}")
                if killed_at(call, n, run, self.env, follow=self.follow):
                    kills += 1
                    self.check(root)
                shutil.rmtree(root)
        return kills
