"""Generated vaults for the benchmarks, kept in a cache folder between runs.

``cached_vault(size, cache)`` is a real vault of ``size`` generated
born-digital documents (``tests.generate``: realistic words, surnames, case
numbers), made through the library (``Vault.store_file``, one fold) the first
time and kept in ``cache`` under a name that carries the size and a hash of
the code that decides what a vault holds (the generator, the catalog, the
search index, the head), so a rerun with the same code reuses it and a
changed catalog format makes a new one. Other vaults of the same size in the
cache are removed when a new one is made.

``work_copy`` copies a cached vault for a run that changes it: objects and
manifests are written once and never changed, so they are hard links; every
other file is copied.

``NewDocuments(size)`` gives new documents for a vault of ``size``: those
that come after the first ``size`` of the generator's sequence.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "Bench Catalog 2026"
DEFAULT_CACHE = Path("/var/tmp/vault-bench-cache")
# The files that decide what a generated vault holds on disk.
_SHAPED_BY = (
    "tests/generate.py",
    "vault/catalog.py",
    "vault/search.py",
    "vault/best_pages.py",
    "vault/head.py",
    "vault/repository.py",
    "vault/manifest.py",
    "vault/journal.py",
    "vault/chain.py",
)
_WRITE_ONCE = ("objects", "manifests")


def code_hash() -> str:
    digest = hashlib.sha256()
    for name in _SHAPED_BY:
        path = ROOT / name
        if path.exists():
            digest.update(name.encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def environment(state: Path) -> dict[str, str]:
    """The environment of a command run on a generated vault: this project on
    the path, the passphrase given, and a state folder (the vault's anchors)
    of the benchmark's own, never the user's."""
    env = dict(os.environ)
    paths = [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["VAULT_PASSPHRASE"] = PASSPHRASE
    env["XDG_STATE_HOME"] = str(state)
    env.pop("VAULT_TEST_NOW", None)
    return env


def cached_vault(size: int, cache: Path) -> Path:
    """The cached vault of ``size`` documents, made first if it is not there."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f".lock-{size}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two benchmarks at once make it once
        return _cached_vault(size, cache)


def _cached_vault(size: int, cache: Path) -> Path:
    name = f"vault-{size}-{code_hash()}"
    path = cache / name
    if (path / ".bench-ready").exists():
        return path
    for old in cache.glob(f"vault-{size}-*"):
        shutil.rmtree(old, ignore_errors=True)
    building = cache / f".building-{name}"
    shutil.rmtree(building, ignore_errors=True)
    log(f"making a generated vault of {size} documents in {path} (once; kept for reruns)")
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "tests.bench.generated", "_build", str(building), str(size)],
        check=True,
        cwd=ROOT,
        env=environment(cache / "state"),
        stdin=subprocess.DEVNULL,
    )
    (building / ".bench-ready").write_text(f"{size}\n")
    building.rename(path)
    log(f"made the vault of {size} documents in {time.monotonic() - started:.0f} s")
    return path


def work_copy(cached: Path, dest: Path) -> Path:
    """A copy of a cached vault that a run may change (see the module)."""
    if dest.exists():
        shutil.rmtree(dest)

    def copy(src: str, dst: str) -> Any:
        parts = Path(src).relative_to(cached).parts
        if parts and parts[0] in _WRITE_ONCE:
            os.link(src, dst)
            return dst
        return shutil.copy2(src, dst)

    shutil.copytree(cached, dest, copy_function=copy, symlinks=True)
    (dest / ".bench-ready").unlink(missing_ok=True)
    return dest


class NewDocuments:
    """Documents a vault of ``size`` generated ones does not hold yet: those
    that follow its first ``size`` in the generator's sequence, in order."""

    def __init__(self, size: int) -> None:
        from tests.generate import documents

        self._feed = documents(size + 10**9, start=size)

    def take(self, count: int) -> list[Any]:
        return list(itertools.islice(self._feed, count))


def store_locked(root: Path, docs: list[Any]) -> int:
    """Store ``docs`` without the passphrase, as the scanner folder does:
    encrypted to the public key and journaled; the next unlocked command
    folds them in. Returns the bytes of their objects and manifests."""
    from tests.generate import store_one
    from vault.repository import Vault

    vault = Vault.open(root)
    before = _store_bytes(root)
    with vault.lock:
        work = vault.layout.tmp / "bench-day"
        work.mkdir(mode=0o700, exist_ok=True)
        try:
            for doc in docs:
                store_one(vault, doc, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return _store_bytes(root) - before


def _store_bytes(root: Path) -> int:
    return sum(
        p.stat().st_size for store in _WRITE_ONCE for p in (root / store).rglob("*") if p.is_file()
    )


def tree_bytes(paths: list[Path]) -> int:
    """The bytes of every file under ``paths`` (files or folders)."""
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return total


def catalog_paths(root: Path) -> list[Path]:
    """Every file of the catalog on disk: the ``catalog/`` folder (snapshots,
    indexes, what is synced) and a local catalog database if there is one."""
    local = root / "local"
    found = [root / "catalog"]
    if local.is_dir():
        found += sorted(p for p in local.iterdir() if p.name.startswith("catalog"))
    return found


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _build(root: Path, size: int) -> None:
    from tests.generate import build_vault

    build_vault(root, size, PASSPHRASE, fast=True, progress=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["_build"]:
        _build(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        raise SystemExit("usage: python -m tests.bench.generated _build DIR SIZE")
