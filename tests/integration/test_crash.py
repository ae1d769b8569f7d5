"""A process killed (SIGKILL) in the middle of storing leaves a consistent vault.

Each test starts a real child Python process that stores a large file, waits
until the child is visibly part-way through, kills it with SIGKILL (no
cleanup handlers run), and then checks what is left on disk with the library.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vault import crypto
from vault.fsutil import TEMP_PREFIX, remove_orphan_workdirs
from vault.keys import NewKeys
from vault.objects import ObjectStore
from vault.parts import split_ref
from vault.repository import Vault

PASSPHRASE = "Correct Horse 42"
LARGE_MIB = 300
ATTEMPTS = 4  # a kill that lands after the put finished is retried
WAIT_SECONDS = 60.0


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@pytest.fixture(scope="module")
def large_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A 300 MiB file of incompressible, non-repeating data, and its SHA-256."""
    path = tmp_path_factory.mktemp("crash-source") / "large.pdf"
    block = bytearray(os.urandom(1 << 20))
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for n in range(LARGE_MIB):
            block[:8] = n.to_bytes(8, "big")
            f.write(block)
            digest.update(block)
    return path, digest.hexdigest()


# --- watching the child ----------------------------------------------------------


def temp_files(tmp_dir: Path) -> list[Path]:
    if not tmp_dir.exists():
        return []
    return [p for p in tmp_dir.rglob(f"{TEMP_PREFIX}*") if p.is_file()]


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def growing_temp(tmp_dir: Path) -> Callable[[], bool]:
    """A probe that is true once some temp file in ``tmp_dir`` is seen to grow."""
    seen: dict[Path, int] = {}

    def probe() -> bool:
        for path in temp_files(tmp_dir):
            size = _size(path)
            if size is None:
                continue
            before = seen.get(path)
            seen[path] = size
            if before is not None and size > before > 0:
                return True
        return False

    return probe


def committed_object(objects_dir: Path) -> Callable[[], bool]:
    return lambda: bool(files_under(objects_dir))


def journal_written(journal: Path) -> Callable[[], bool]:
    return lambda: bool(_size(journal))


def start_child(script: str, *args: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def kill_when(proc: subprocess.Popen[bytes], probe: Callable[[], bool], log: Path) -> bool:
    """SIGKILL ``proc`` as soon as ``probe()`` is true.

    Returns False if the child finished first (the kill came too late).
    """
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while proc.poll() is None:
            if probe():
                proc.kill()  # SIGKILL: no finally blocks, no atexit, no cleanup
                proc.wait(timeout=WAIT_SECONDS)
                assert proc.returncode == -9, log.read_text()
                return True
            if time.monotonic() > deadline:
                raise AssertionError(f"the child never reached the kill point: {log.read_text()}")
            time.sleep(0.001)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, f"the child failed: {log.read_text()}"
    return False


def assert_only_whole_objects(root: Path) -> None:
    """Every file under a store is a whole object: named by its SHA-256, in its folder."""
    for path in files_under(root):
        relative = path.relative_to(root)
        assert len(relative.parts) == 2, f"stray file in the store: {relative}"
        assert relative.parts[0] == path.name[:2], f"misplaced object: {relative}"
        assert sha256_file(path) == path.name, f"partial or corrupt object: {relative}"


# --- the object store -----------------------------------------------------------


def no_process_mentions(text: str, wait: float = 10.0) -> bool:
    """True once no running process has ``text`` in its command line."""
    deadline = time.monotonic() + wait
    while True:
        found = False
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                found = found or text.encode() in cmdline.read_bytes()
            except OSError:
                continue
        if not found or time.monotonic() > deadline:
            return not found
        time.sleep(0.1)


_PUT_CHILD = r"""
import sys
from pathlib import Path
from vault import crypto
from vault.objects import ObjectStore

root, tmp, src, recipient = sys.argv[1:5]
store = ObjectStore(Path(root), Path(tmp))
store.open()
store.put_file(Path(src), [crypto.parse_recipient(recipient)])
"""


@pytest.mark.slow
def test_killed_put_leaves_no_partial_object(large_file: tuple[Path, str], tmp_path: Path) -> None:
    src, expected = large_file
    secret, recipient = crypto.generate_identity()

    for attempt in range(ATTEMPTS):
        base = tmp_path / f"attempt-{attempt}"
        root, tmp, log = base / "objects", base / "tmp", base / "child.log"
        base.mkdir()
        proc = start_child(_PUT_CHILD, str(root), str(tmp), str(src), recipient, log=log)
        if kill_when(proc, growing_temp(tmp), log) and temp_files(tmp):
            break
    else:
        pytest.fail(f"no kill landed mid-write in {ATTEMPTS} attempts")

    # The worker processes of a large (in parts) put die with it.
    assert no_process_mentions(str(root)), "the killed put's workers are still running"
    # The kill landed before the rename: only a temp file exists.
    assert_only_whole_objects(root)
    assert files_under(root) == [], "a put killed mid-write committed an object"
    assert temp_files(tmp), "the killed put left no temp file to clean"

    store = ObjectStore(root, tmp)
    store.open()

    assert temp_files(tmp) == [], "open() left the stale temp file(s)"
    assert files_under(tmp) == []
    assert [bad for _, bad in store.verify() if bad] == []
    assert list(store.ids()) == []

    again = store.put_file(src, [crypto.parse_recipient(recipient)])
    assert sorted(store.ids()) == sorted(split_ref(again.id))  # a large file is in parts
    assert again.size > LARGE_MIB << 20
    assert_only_whole_objects(root)
    assert [bad for _, bad in store.verify() if bad] == []
    assert temp_files(tmp) == []
    out = base / "back.pdf"
    store.get_file(again.id, out, [crypto.parse_identity(secret)])
    assert sha256_file(out) == expected


# --- the vault ------------------------------------------------------------------

_STORE_CHILD = r"""
import sys
from pathlib import Path
from vault.repository import Vault

root, src = sys.argv[1:3]
vault = Vault.open(Path(root))  # locked: storing needs no secret
vault.store_file(Path(src), name="large.pdf", media_type="application/pdf")
"""


@pytest.fixture(scope="module")
def template_vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty vault made once (scrypt is slow) and copied for each test."""
    root = tmp_path_factory.mktemp("crash-template") / "vault"

    def deliver(new_keys: NewKeys, config: dict[str, Any]) -> None:
        pass

    Vault.create(root, PASSPHRASE, deliver_emergency_key=deliver)
    return root


def whole_documents(vault: Vault, tmp_path: Path, expected: str) -> int:
    """Count the catalog's documents, exporting each to prove it is whole."""
    docs = list(vault.documents())
    for n, doc in enumerate(docs):
        out = tmp_path / f"export-{n}.pdf"
        vault.export(doc["id"], out)
        assert sha256_file(out) == expected, "a listed document does not export whole"
        out.unlink()
    return len(docs)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kill_point", ["while-encrypting", "after-object-commit", "after-journal-line"]
)
def test_killed_ingest_leaves_a_consistent_vault(
    large_file: tuple[Path, str], template_vault: Path, tmp_path: Path, kill_point: str
) -> None:
    src, expected = large_file

    for attempt in range(ATTEMPTS):
        root = tmp_path / f"vault-{attempt}"
        shutil.copytree(template_vault, root)
        log = tmp_path / f"child-{attempt}.log"
        probe = {
            "while-encrypting": growing_temp(root / "tmp"),
            "after-object-commit": committed_object(root / "objects"),
            "after-journal-line": journal_written(root / "journal.log"),
        }[kill_point]
        proc = start_child(_STORE_CHILD, str(root), str(src), log=log)
        killed = kill_when(proc, probe, log)
        if killed and (kill_point != "while-encrypting" or temp_files(root / "tmp")):
            break
    else:
        pytest.fail(f"no kill landed at {kill_point} in {ATTEMPTS} attempts")

    if kill_point == "while-encrypting":
        assert files_under(root / "objects") == []
    journal_file = root / "journal.log"
    journal = journal_file.read_bytes() if journal_file.exists() else b""
    assert journal == b"" or journal.endswith(b"\n"), "a torn journal line"
    assert_only_whole_objects(root / "objects")
    assert_only_whole_objects(root / "manifests")

    vault = Vault.open(root)
    with vault.lock:  # the next command to hold the lock cleans up after the crash
        pass
    assert temp_files(root / "tmp") == [], "locking the vault left stale temp files"
    vault.unlock(PASSPHRASE)

    result = vault.verify()
    assert result.ok, result.bad
    before = whole_documents(vault, tmp_path, expected)
    assert before in (0, 1)
    if kill_point == "while-encrypting":
        assert before == 0
    if kill_point == "after-journal-line":
        assert before == 1, "a journaled document was lost"

    stored = vault.store_file(src, name="large.pdf", media_type="application/pdf")
    vault.fold_journal()

    if before == 1:
        assert stored.duplicate_of is not None
    docs = list(vault.documents())
    assert len(docs) == 1
    assert whole_documents(vault, tmp_path, expected) == 1
    result = vault.verify()
    assert result.ok, result.bad
    assert_only_whole_objects(root / "objects")
    assert_only_whole_objects(root / "manifests")

    # A fresh process sees the same single document.
    reopened = Vault.open(root)
    reopened.unlock(PASSPHRASE)
    assert [d["id"] for d in reopened.documents()] == [docs[0]["id"]]


# --- the rclone daemon of a sync ----------------------------------------------------

_DAEMON_CHILD = r"""
import sys, time
from pathlib import Path
from sync.rcd import Daemon

ready = Path(sys.argv[1])
with Daemon("sync") as daemon:
    daemon.list_files(sys.argv[2], recursive=False, timeout=60)  # started and answering
    written = ready.with_name("ready.tmp")
    written.write_text(str(daemon._folder))
    written.rename(ready)  # whole when it appears
    time.sleep(600)
"""


def test_killed_sync_leaves_no_daemon_and_its_folder_goes(tmp_path: Path) -> None:
    """rclone has no way of its own to end with the vault; killed outright,
    the vault would otherwise leave it serving for good."""
    ready, log = tmp_path / "ready", tmp_path / "child.log"
    child = start_child(_DAEMON_CHILD, str(ready), str(tmp_path), log=log)
    assert kill_when(child, ready.exists, log)
    folder = Path(ready.read_text())
    assert folder.is_absolute() and folder.is_dir()
    assert no_process_mentions(str(folder)), "rclone outlived the vault"
    remove_orphan_workdirs()  # as the next vault command does
    assert not folder.exists()
