"""`vault watch`: settle, store, then delete (or move, with --processed);
quarantine; a crash loses nothing."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ingest.quarantine import reason_file
from tests.conftest import PASSPHRASE, make_pdf
from tests.ingest.inputs import scan_png
from vault.cli import cli
from vault.fsutil import TEMP_PREFIX
from vault.repository import Vault

ENV = {"VAULT_PASSPHRASE": PASSPHRASE}
FAST = ("--settle", "0.3", "--interval", "0.1")


def kept_in(tmp_path: Path) -> tuple[str, str]:
    """--processed, to keep stored files in tmp_path/processed."""
    return ("--processed", str(tmp_path / "processed"))


def run(
    runner: CliRunner, vault_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def watch_once(runner: CliRunner, vault_dir: Path, inbox: Path, *args: str, **kw: object) -> Result:
    return run(runner, vault_dir, "watch", str(inbox), "--once", *FAST, *args, **kw)  # type: ignore[arg-type]


def stored_names(vault_dir: Path) -> list[str]:
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        return [doc["name"] for doc in vault.documents()]


def files(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_once_stores_then_moves_each_file_to_processed(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "2026-11").mkdir(parents=True)
    make_pdf(inbox / "a.pdf", "first letter")
    make_pdf(inbox / "2026-11" / "b.pdf", "second letter")
    processed = tmp_path / "processed"
    journal = vault_dir / "journal.log"

    # Watch, from another thread, that no file reaches processed before its
    # journal line (which store_file writes last) is on disk.
    seen: list[tuple[int, int]] = []
    done = threading.Event()

    def observe() -> None:
        while True:  # and once more after the watch ended
            finished = done.is_set()
            moved = len(files(processed))
            lines = len(journal.read_bytes().splitlines()) if journal.exists() else 0
            seen.append((moved, lines))
            if finished:
                return
            time.sleep(0.002)

    observer = threading.Thread(target=observe)
    observer.start()
    try:
        result = watch_once(runner, vault_dir, inbox, "--processed", str(processed))
    finally:
        done.set()
        observer.join()
    assert result.exit_code == 0, result.output
    assert all(lines >= moved for moved, lines in seen), seen
    assert any(moved for moved, _ in seen)

    assert files(inbox) == []
    assert files(processed) == ["2026-11/b.pdf", "a.pdf"]
    assert (processed.stat().st_mode & 0o777) == 0o700
    out = result.stdout.splitlines()
    assert len(out) == 2 and all(line.startswith("D-") for line in out)
    assert "  a.pdf: " in result.stdout and str(inbox) not in result.output
    assert sorted(stored_names(vault_dir)) == ["a.pdf", "b.pdf"]


def test_once_deletes_each_file_once_stored_by_default(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    """The README's setup (no --processed): each scan is deleted, and never
    before its journal line (which store_file writes and fsyncs last) is on disk."""
    inbox = tmp_path / "inbox"
    (inbox / "2026-11").mkdir(parents=True)
    make_pdf(inbox / "a.pdf", "first letter")
    make_pdf(inbox / "2026-11" / "b.pdf", "second letter")
    journal = vault_dir / "journal.log"
    seen: list[tuple[int, int]] = []
    done = threading.Event()

    def observe() -> None:
        while True:  # and once more after the watch ended
            finished = done.is_set()
            gone = 2 - len(files(inbox))
            lines = len(journal.read_bytes().splitlines()) if journal.exists() else 0
            seen.append((gone, lines))
            if finished:
                return
            time.sleep(0.002)

    observer = threading.Thread(target=observe)
    observer.start()
    try:
        result = watch_once(runner, vault_dir, inbox)
    finally:
        done.set()
        observer.join()
    assert result.exit_code == 0, result.output
    assert all(lines >= gone for gone, lines in seen), seen
    assert any(gone for gone, _ in seen)
    assert files(inbox) == [] and not (tmp_path / "processed").exists()
    assert sorted(stored_names(vault_dir)) == ["a.pdf", "b.pdf"]
    status = run(runner, vault_dir, "status")
    assert "readable" not in status.output  # nothing left behind to count


def test_processed_files_are_counted_by_status(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    make_pdf(inbox / "kept.pdf", "kept on purpose")
    assert watch_once(runner, vault_dir, inbox, *kept_in(tmp_path)).exit_code == 0
    status = run(runner, vault_dir, "status")
    line = "warning: 1 readable copy outside the vault: 1 in the processed folder"
    assert line in status.output and "kept.pdf" not in status.output
    listed = run(runner, vault_dir, "copies")
    assert str(tmp_path / "processed" / "kept.pdf") in listed.output
    (tmp_path / "processed" / "kept.pdf").unlink()
    assert "readable" not in run(runner, vault_dir, "status").output


def test_remove_source(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    make_pdf(inbox / "a.pdf", "deleted after storing")
    result = watch_once(runner, vault_dir, inbox, "--remove-source", "--quiet")
    assert result.exit_code == 0 and result.output == ""
    assert files(inbox) == [] and not (tmp_path / "processed").exists()
    assert stored_names(vault_dir) == ["a.pdf"]


def test_processed_and_remove_source_together_is_a_usage_error(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "inbox").mkdir()
    result = watch_once(
        runner, vault_dir, tmp_path / "inbox", "--remove-source", "--processed", str(tmp_path / "p")
    )
    assert result.exit_code == 2


def test_missing_inbox_is_a_usage_error(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    result = watch_once(runner, vault_dir, tmp_path / "nowhere")
    assert result.exit_code == 2 and "there is no folder called" in result.stderr


def test_links_quarantined_hidden_and_partial_files_left(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    elsewhere = make_pdf(tmp_path / "elsewhere.pdf", "not in the inbox")
    (inbox / "link.pdf").symlink_to(elsewhere)
    make_pdf(inbox / ".hidden.pdf", "hidden")
    make_pdf(inbox / "scan.pdf.part", "partial")
    (inbox / "empty.pdf").write_bytes(b"")
    make_pdf(inbox / "good.pdf", "good")
    result = watch_once(
        runner, vault_dir, inbox, "--quarantine", str(tmp_path / "q"), *kept_in(tmp_path)
    )
    assert result.exit_code == 6, result.output
    quarantine = tmp_path / "q"
    assert (quarantine / "link.pdf").is_symlink() and elsewhere.exists()
    assert "symbolic link" in reason_file(quarantine / "link.pdf").read_text()
    assert "empty file" in reason_file(quarantine / "empty.pdf.age").read_text()
    assert files(inbox) == [".hidden.pdf", "scan.pdf.part"]
    assert files(tmp_path / "processed") == ["good.pdf"]
    assert "quarantined: " in result.stderr and "moved to" in result.stderr
    assert stored_names(vault_dir) == ["good.pdf"]


def test_a_growing_file_is_taken_only_once_complete(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    whole = make_pdf(tmp_path / "whole.pdf", "written slowly by a scanner " * 20).read_bytes()
    target = inbox / "slow.pdf"
    pieces = [whole[i : i + len(whole) // 6 + 1] for i in range(0, len(whole), len(whole) // 6 + 1)]
    target.write_bytes(pieces[0])

    def scanner() -> None:
        for piece in pieces[1:]:
            time.sleep(0.5)
            with open(target, "ab") as f:
                f.write(piece)

    writer = threading.Thread(target=scanner)
    writer.start()
    watch = ("watch", str(inbox), "--once", "--settle", "1", "--interval", "0.1")
    watch += kept_in(tmp_path)
    try:
        # Still growing after one settle period: left for the next run.
        result = run(runner, vault_dir, *watch)
        assert result.exit_code == 0, result.output
        assert "slow.pdf is still being written; left for the next run" in result.stderr
        assert result.stdout == "" and target.exists()
    finally:
        writer.join()
    result = run(runner, vault_dir, *watch)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "processed" / "slow.pdf").read_bytes() == whole
    assert not (tmp_path / "quarantine").exists()
    exported = tmp_path / "out.pdf"
    doc_id = result.stdout.split()[0]
    assert run(runner, vault_dir, "export", doc_id, "--out", str(exported), env=ENV).exit_code == 0
    assert exported.read_bytes() == whole


def test_unlocked_watch_finds_duplicates(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first = make_pdf(tmp_path / "first.pdf", "sent twice")
    assert run(runner, vault_dir, "ingest", str(first), env=ENV).exit_code == 0
    (inbox / "again.pdf").write_bytes(first.read_bytes())
    result = watch_once(runner, vault_dir, inbox, *kept_in(tmp_path), env=ENV)
    assert result.exit_code == 0, result.output
    assert "again.pdf: a duplicate of D-" in result.stdout
    assert files(tmp_path / "processed") == ["again.pdf"]
    assert stored_names(vault_dir) == ["first.pdf"]


# --- the crash test -----------------------------------------------------------------


def _start_watch(
    vault_dir: Path, inbox: Path, runtime: Path, *extra: str
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "VAULT_DIR": str(vault_dir), "XDG_RUNTIME_DIR": str(runtime)}
    env.pop("VAULT_PASSPHRASE", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vault.cli",
            "watch",
            str(inbox),
            "--settle",
            "0.2",
            "--interval",
            "0.1",
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _pad_pdf(path: Path, size: int) -> None:
    import pikepdf

    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        pdf.Root.Padding = pdf.make_stream(os.urandom(size))
        pdf.save(path, compress_streams=False)


def _journal_started(vault_dir: Path) -> bool:
    journal = vault_dir / "journal.log"
    return journal.exists() and journal.stat().st_size > 0


def _temp_file_in_vault(vault_dir: Path) -> bool:
    tmp = vault_dir / "tmp"
    return tmp.exists() and any(p.name.startswith(TEMP_PREFIX) for p in tmp.iterdir())


def _first_processed(tmp_path: Path) -> bool:
    return bool(files(tmp_path / "processed"))


def _first_deleted(inbox: Path) -> bool:
    return len(files(inbox)) < 5


@pytest.mark.parametrize(
    ("moment", "keep"),
    [
        ("temp-file", True),
        ("journal", True),
        ("processed", True),
        ("journal", False),
        ("deleted", False),
    ],
)
def test_killed_watch_loses_nothing_and_stores_each_file_once(
    vault_dir: Path, tmp_path: Path, moment: str, keep: bool
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    sources = {f"letter-{n}.pdf": f"letter number {n} " * 50 for n in range(4)}
    for name, text in sources.items():
        make_pdf(inbox / name, text)
    # One letter carries 16 MB of incompressible bytes, so its object's temp
    # file lasts long enough to be seen on a loaded two-core machine.
    _pad_pdf(inbox / "letter-0.pdf", 16 * 1024 * 1024)
    scan_png(inbox / "scan.png", ["A scanned note for the crash test", "Family F-0042"])
    names = {*sources, "scan.png"}
    content = {name: digest(inbox / name) for name in names}

    probe = {
        "temp-file": lambda: _temp_file_in_vault(vault_dir),
        "journal": lambda: _journal_started(vault_dir),
        "processed": lambda: _first_processed(tmp_path),
        "deleted": lambda: _first_deleted(inbox),
    }[moment]
    kept = kept_in(tmp_path) if keep else ()
    child = _start_watch(vault_dir, inbox, runtime, *kept)
    try:
        deadline = time.monotonic() + 60
        while not probe():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the watch never got going"
            time.sleep(0.0005)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()

    assert files(inbox), "killed too late: the first run had finished"

    restart = _start_watch(vault_dir, inbox, runtime, "--once", *kept)
    _, err = restart.communicate(timeout=120)
    assert restart.returncode == 0, err.decode()

    # No source lost: each is in the inbox or in processed (by content), or
    # was deleted once stored (each name is stored once: checked below).
    processed = tmp_path / "processed"
    left = {digest(p) for p in inbox.rglob("*") if p.is_file()}
    done = {digest(p) for p in processed.rglob("*") if p.is_file()}
    if keep:
        assert set(content.values()) <= left | done
    else:
        assert done == set()
    assert left == set()  # the restart finished the job
    # Each file stored exactly once after folding, and nothing half-written left.
    stored = Counter(stored_names(vault_dir))
    assert stored == Counter(names), stored
    assert not _temp_file_in_vault(vault_dir)
    assert Vault.open(vault_dir).journal_entries() == []  # folded by the unlock
    assert not (tmp_path / "quarantine").exists()


def test_ctrl_c_stops_with_exit_130(vault_dir: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    make_pdf(inbox / "a.pdf", "before the interrupt")
    child = _start_watch(vault_dir, inbox, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while files(inbox):
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 130, err.decode()
    assert err.decode().strip().endswith("vault: interrupted")
    assert "Traceback" not in err.decode()
    vault = Vault.open(vault_dir)
    vault.lock.wait = 0
    with vault.lock:  # released
        pass


# --- deletion is the last step: fault injection at the system call ------------------


def _watch_under_strace(
    vault_dir: Path, inbox: Path, runtime: Path, path: Path, inject: str
) -> subprocess.CompletedProcess[bytes]:
    """``vault watch --once`` with ``inject`` (strace syntax) on system calls
    touching ``path`` only."""
    if shutil.which("strace") is None:
        pytest.fail("strace is needed for fault injection")
    env = {**os.environ, "VAULT_DIR": str(vault_dir), "XDG_RUNTIME_DIR": str(runtime)}
    env.pop("VAULT_PASSPHRASE", None)
    return subprocess.run(
        ["strace", "-f", "-qq", "-o", os.devnull, "-P", str(path), "-e", inject,
         sys.executable, "-m", "vault.cli", "watch", str(inbox), "--once", *FAST],
        capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def test_killed_as_it_deletes_a_scan_the_scan_is_already_in_the_journal(
    vault_dir: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(3):
        make_pdf(inbox / f"letter-{n}.pdf", f"letter number {n}")
    second = inbox / "letter-1.pdf"
    done = _watch_under_strace(
        vault_dir, inbox, tmp_path, second, "inject=unlink,unlinkat:signal=KILL"
    )
    assert done.returncode != 0, done.stderr.decode()  # killed at the second deletion
    assert files(inbox) == ["letter-1.pdf", "letter-2.pdf"]
    # The file being deleted is durably recorded: the journal lines of its
    # batch (all three letters) came before any deletion.
    assert len(Vault.open(vault_dir).journal_entries()) == 3
    restart = _start_watch(vault_dir, inbox, tmp_path, "--once")
    _, err = restart.communicate(timeout=120)
    assert restart.returncode == 0, err.decode()
    assert files(inbox) == []
    assert Counter(stored_names(vault_dir)) == Counter(f"letter-{n}.pdf" for n in range(3))


def test_a_scan_whose_journal_line_cannot_be_flushed_is_not_deleted(
    vault_dir: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    make_pdf(inbox / "letter.pdf", "not durably stored")
    journal = vault_dir / "journal.log"
    journal.touch(mode=0o600)
    done = _watch_under_strace(vault_dir, inbox, tmp_path, journal, "inject=fsync:error=EIO")
    assert done.returncode == 1, done.stderr.decode()
    assert files(inbox) == ["letter.pdf"]
    assert Vault.open(vault_dir).journal_entries() == []


# --- a batch killed before it is durable --------------------------------------------


def _watch_killed_at(
    vault_dir: Path, inbox: Path, runtime: Path, calls: str, when: int
) -> subprocess.CompletedProcess[bytes]:
    """``vault watch --once`` (deleting what it stores) killed by strace at the
    ``when``-th of ``calls`` it makes anywhere."""
    if shutil.which("strace") is None:
        pytest.fail("strace is needed for fault injection")
    env = {**os.environ, "VAULT_DIR": str(vault_dir), "XDG_RUNTIME_DIR": str(runtime)}
    env.pop("VAULT_PASSPHRASE", None)
    return subprocess.run(
        ["strace", "-f", "-qq", "-o", os.devnull, "-e", f"trace={calls}",
         "-e", f"inject={calls}:signal=KILL:when={when}",
         sys.executable, "-m", "vault.cli", "watch", str(inbox), "--once", *FAST],
        capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def _objects_in(vault_dir: Path) -> int:
    return len(files(vault_dir / "objects")) + len(files(vault_dir / "manifests"))


@pytest.mark.parametrize(
    ("calls", "when"),
    [
        ("rename", 3),  # some documents of the batch renamed into place, one half-way
        ("syncfs", 1),  # every file of the batch renamed, none yet made durable
    ],
)
def test_a_batch_killed_before_it_is_durable_keeps_every_source_and_stores_each_once(
    vault_dir: Path, tmp_path: Path, calls: str, when: int
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(4):  # one batch: born-digital PDFs, an original and a manifest each
        make_pdf(inbox / f"letter-{n}.pdf", f"letter number {n} of the batch")
    content = {digest(inbox / name) for name in files(inbox)}
    objects_before = _objects_in(vault_dir)

    done = _watch_killed_at(vault_dir, inbox, tmp_path, calls, when)
    assert done.returncode in (137, -9), done.stderr.decode()  # killed there
    # Files of the batch were renamed into place, but no journal line was
    # written and no source left the inbox.
    assert _objects_in(vault_dir) > objects_before
    assert Vault.open(vault_dir).journal_entries() == []
    assert {digest(inbox / name) for name in files(inbox)} == content

    restart = _start_watch(vault_dir, inbox, tmp_path, "--once")
    _, err = restart.communicate(timeout=120)
    assert restart.returncode == 0, err.decode()
    assert files(inbox) == []  # each stored again, then deleted
    assert Counter(stored_names(vault_dir)) == Counter(f"letter-{n}.pdf" for n in range(4))
    # What the killed batch left is named by nothing, and prune removes it.
    assert _unnamed(vault_dir), "the killed batch left no files behind"
    assert run(CliRunner(), vault_dir, "prune", env=ENV).exit_code == 0
    assert _unnamed(vault_dir) == set()
    assert Counter(stored_names(vault_dir)) == Counter(f"letter-{n}.pdf" for n in range(4))


def _unnamed(vault_dir: Path) -> set[str]:
    """Object and manifest files nothing in the vault names."""
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.fold_journal()
        named = vault.referenced()
    on_disk = {Path(name).name for folder in ("objects", "manifests")
               for name in files(vault_dir / folder)}  # fmt: skip
    return on_disk - named
