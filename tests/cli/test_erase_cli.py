"""``vault erase``: after erasing and a sync, an erased document's own words
are found nowhere: not by search, not in any catalog file the vault keeps
(decrypted and decompressed), not in any object or manifest here or on the
remote (a folder, and a real S3 server on loopback; every file opened with
the reference ``age`` command), not in any plain file; the other documents are untouched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE, Template, make_pdf
from tests.integration.agecmd import age_path, write_identity_file
from tests.sync.s3server import S3Server
from vault.cli import cli
from vault.repository import Vault

ERASED = ("Quillfeather", "Bramblewick")
KEPT = "Thistledown"


def run(runner: CliRunner, root: Path, *args: str) -> Result:
    result = runner.invoke(cli, ["--vault", str(root), *args], env={"VAULT_PASSPHRASE": PASSPHRASE})
    assert "Traceback" not in result.output
    return result


def store(root: Path, tmp_path: Path) -> dict[str, str]:
    """Two documents of family F-0042 (each with a word of its own) and one
    of F-0007; their ids by word."""
    vault = Vault.open(root)
    ids = {}
    with vault.lock:
        vault.unlock(PASSPHRASE)
        for word, family in ((ERASED[0], "F-0042"), (ERASED[1], "F-0042"), (KEPT, "F-0007")):
            path = make_pdf(tmp_path / f"{word}.pdf", f"Referral {word} family")
            stored = vault.store_file(
                path, name=f"{word}.pdf", media_type="application/pdf", family=family,
                text=[f"Referral {word} family"],
            )  # fmt: skip
            ids[word] = stored.doc_id
        vault.fold_journal()
        vault.save_catalog()
    return ids


def plaintexts(folder: Path, identity: Path) -> list[tuple[str, bytes]]:
    """Every file below ``folder``: opened with ``age`` when it opens (and
    decompressed when it is a catalog file), else as it is."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        done = subprocess.run(
            [age_path(), "-d", "-i", str(identity), str(path)], capture_output=True, timeout=60
        )
        data = done.stdout if done.returncode == 0 else path.read_bytes()
        if done.returncode == 0 and "catalog" in path.parts:
            data = zlib.decompress(data)
        found.append((path.relative_to(folder).as_posix(), data))
    return found


def searched(runner: CliRunner, root: Path, word: str) -> list[Any]:
    result = run(runner, root, "search", word, "--json")
    assert result.exit_code == 0, result.output
    found: list[Any] = json.loads(result.stdout)
    return found


@pytest.fixture(params=["folder", "s3"])
def backup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The remote the erasure must reach, as ``vault remote add`` names it,
    and the folder that shows what it holds: a local folder, or a real S3
    server on loopback (``rclone serve s3``) with its backing folder."""
    if request.param == "folder":
        yield str(tmp_path / "usb"), tmp_path / "usb"
        return
    server = S3Server(tmp_path / "s3-data", tmp_path / "serve-s3.log")
    server.folder.mkdir()
    server.start()
    monkeypatch = pytest.MonkeyPatch()
    try:
        server.client_env("erases3", monkeypatch)
        yield "erases3:vault/backup", server.folder / "vault" / "backup"
    finally:
        monkeypatch.undo()
        server.kill()


def test_an_erased_familys_words_are_found_nowhere_after_a_sync(
    runner: CliRunner,
    vault_dir: Path,
    tmp_path: Path,
    template_vault: Template,
    backup: tuple[str, Path],
) -> None:
    ids = store(vault_dir, tmp_path)
    spec, folder = backup
    assert run(runner, vault_dir, "remote", "add", "usb", spec, "--create").exit_code == 0
    assert run(runner, vault_dir, "sync").exit_code == 0
    identity = write_identity_file(tmp_path / "key.txt", template_vault.data_secret)
    before = plaintexts(folder, identity)
    assert any(ERASED[0].encode() in data for _, data in before)  # the test can fail
    kept_before = run(runner, vault_dir, "export", ids[KEPT], "--out", str(tmp_path / "a.pdf"))
    assert kept_before.exit_code == 0

    receipt = tmp_path / "receipt.txt"
    result = run(runner, vault_dir, "erase", "--family", "F-42", "--yes", "--receipt", str(receipt))
    assert result.exit_code == 0, result.output
    assert "Erased 2 documents" in result.output
    waiting = run(runner, vault_dir, "status").output
    assert "of erased or replaced documents still there until the next sync" in waiting
    assert run(runner, vault_dir, "sync").exit_code == 0
    assert "erased or replaced" not in run(runner, vault_dir, "status").output

    for word in ERASED:
        assert searched(runner, vault_dir, word) == []
        for where in (vault_dir, folder):
            for rel, data in plaintexts(where, identity):
                assert word.encode() not in data, f"{word} in {where.name}/{rel}"
    assert [row["id"] for row in searched(runner, vault_dir, KEPT)] == [ids[KEPT]]
    out = tmp_path / "b.pdf"
    assert run(runner, vault_dir, "export", ids[KEPT], "--out", str(out)).exit_code == 0
    assert out.read_bytes() == (tmp_path / "a.pdf").read_bytes()
    text = receipt.read_text()
    assert ids[ERASED[0]] in text and ids[ERASED[1]] in text and "usb" in text
    assert not any(word in text for word in (*ERASED, KEPT, "F-0042"))
    entries = [json.loads(line) for line in (vault_dir / "audit.log").read_text().splitlines()]
    erased = [e for e in entries if e["event"] == "erase"]
    assert len(erased) == 1 and sorted(erased[0]["ids"]) == sorted(ids[w] for w in ERASED)
    assert run(runner, vault_dir, "verify").exit_code == 0


def test_erase_asks_first_and_refuses_what_is_not_there(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    ids = store(vault_dir, tmp_path)
    result = run(runner, vault_dir, "erase", ids[KEPT])
    assert result.exit_code == 2 and "--yes" in result.output
    result = run(runner, vault_dir, "erase", ids[KEPT], "D-ZZZZZZ", "--yes")
    assert result.exit_code != 0 and "D-ZZZZZZ" in result.output
    assert len(searched(runner, vault_dir, KEPT)) == 1  # nothing was erased
    assert run(runner, vault_dir, "erase", "--due", "--yes").output.startswith("Nothing to erase")
    result = run(runner, vault_dir, "erase", ids[KEPT], "--due")
    assert result.exit_code == 2


def test_prune_deletes_what_nothing_names_here_and_on_the_backup(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    import secrets

    ids = store(vault_dir, tmp_path)
    folder = tmp_path / "usb"
    assert run(runner, vault_dir, "remote", "add", "usb", str(folder), "--create").exit_code == 0
    assert run(runner, vault_dir, "sync").exit_code == 0
    real = next((vault_dir / "objects").glob("*/*"))
    strays = []
    for where in (vault_dir, folder):
        name = secrets.token_hex(32)
        stray = where / "objects" / name[:2] / name
        stray.parent.mkdir(exist_ok=True)
        stray.write_bytes(real.read_bytes())  # a left-over copy of an object
        strays.append(stray)
    counted = run(runner, vault_dir, "prune", "--dry-run")
    assert counted.exit_code == 0 and counted.output.startswith("1 files"), counted.output
    assert all(stray.exists() for stray in strays)
    result = run(runner, vault_dir, "prune")
    assert result.exit_code == 0, result.output
    assert not any(stray.exists() for stray in strays)
    assert run(runner, vault_dir, "verify").exit_code == 0
    for word, doc_id in ids.items():
        assert [row["id"] for row in searched(runner, vault_dir, word)] == [doc_id]
    assert run(runner, vault_dir, "sync").exit_code == 0


def test_every_export_is_recorded_and_listed_without_names(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    import vault.paths

    ids = store(vault_dir, tmp_path)
    out = tmp_path / "Finch family letter.pdf"
    result = run(runner, vault_dir, "export", ids[KEPT], "--out", str(out), "--purpose", "court")
    assert result.exit_code == 0 and "removable drive" not in result.output
    # A data stick: the path alone tells (a test folder made to count as one).
    monkeypatch.setattr(vault.paths, "REMOVABLE_PLACES", (str(tmp_path / "stick"),))
    (tmp_path / "stick").mkdir()
    result = run(runner, vault_dir, "export", ids[KEPT], "--out", str(tmp_path / "stick"))
    assert result.exit_code == 0, result.output
    assert "removable drive" in result.output and "encrypted" in result.output
    listed = json.loads(run(runner, vault_dir, "exports", "--json").stdout)
    assert [(r["id"], r["to"], r["reason"], r["encrypted"]) for r in listed] == [
        (ids[KEPT], "this computer", "court", False),
        (ids[KEPT], "removable drive", "not given", False),
    ]
    text = run(runner, vault_dir, "exports").output
    assert "NOT encrypted" in text and "removable drive unencrypted" in text
    assert "Finch" not in text and str(tmp_path) not in text and KEPT not in text
    bad = run(runner, vault_dir, "export", ids[KEPT], "--out", str(tmp_path / "x.pdf"),
              "--purpose", "because")  # fmt: skip
    assert bad.exit_code == 2


def test_one_document_erased_is_said_in_the_singular(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    ids = store(vault_dir, tmp_path)
    result = run(runner, vault_dir, "erase", ids[KEPT], "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Erased 1 document (")
    assert "1 documents" not in result.output


KILLED_ERASE = """
import os, signal, sys
from pathlib import Path
from vault import erasure, head
from vault.repository import Vault
real = head.atomic_write
def write(path, data):
    if Path(path).name == sys.argv[3]:
        os.kill(os.getpid(), signal.SIGKILL)
    real(path, data)
head.atomic_write = write
vault = Vault.open(Path(sys.argv[1]))
with vault.lock:
    vault.unlock(os.environ["VAULT_PASSPHRASE"])
    if sys.argv[3] == "drop":
        vault.drop_unreferenced = lambda ids: os.kill(os.getpid(), signal.SIGKILL)
    erasure.erase(vault, [sys.argv[2]])
"""


@pytest.mark.parametrize("killed_at", ["head.json", "drop"])
@pytest.mark.parametrize("next_command", ["erase", "prune"])
def test_an_erasure_killed_half_way_is_finished_by_the_next_erase(
    runner: CliRunner,
    vault_dir: Path,
    tmp_path: Path,
    template_vault: Template,
    killed_at: str,
    next_command: str,
) -> None:
    """Killed once the catalog lost the document (before the new head, or
    before its files were deleted): the same 'vault erase' again finds no such
    document, so it (and 'vault prune') first finishes the erasure that was
    cut short."""
    ids = store(vault_dir, tmp_path)
    shown = json.loads(run(runner, vault_dir, "show", ids[ERASED[0]], "--json").stdout)
    files = [vault_dir / "manifests" / shown["manifest"][:2] / shown["manifest"]]
    files.append(vault_dir / "objects" / shown["original"][:2] / shown["original"])
    env = {**os.environ, "VAULT_PASSPHRASE": PASSPHRASE}
    done = subprocess.run(
        [sys.executable, "-c", KILLED_ERASE, str(vault_dir), ids[ERASED[0]], killed_at],
        env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert all(path.exists() for path in files)  # the test can fail
    if next_command == "erase":
        result = run(runner, vault_dir, "erase", ids[ERASED[0]], "--yes")
        assert result.exit_code != 0 and f"no document {ids[ERASED[0]]}" in result.output
    else:
        result = run(runner, vault_dir, "prune")
        assert result.exit_code == 0, result.output
    assert "An erasure cut short was finished" in result.output
    assert not any(path.exists() for path in files)
    assert not (vault_dir / "local" / "erasing.json").exists()
    identity = write_identity_file(tmp_path / "key.txt", template_vault.data_secret)
    for rel, data in plaintexts(vault_dir, identity):
        assert ERASED[0].encode() not in data, rel
    assert [row["id"] for row in searched(runner, vault_dir, KEPT)] == [ids[KEPT]]
    assert run(runner, vault_dir, "verify").exit_code == 0


def test_a_batch_scan_goes_with_the_last_document_split_from_it_here_and_on_the_remote(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, backup: tuple[str, Path]
) -> None:
    from vault.batches import store_batch

    scan = make_pdf(tmp_path / "batch.pdf", "the batch as scanned")
    vault = Vault.open(vault_dir)
    ids = []
    with vault.lock:
        vault.unlock(PASSPHRASE)
        batch = store_batch(vault, scan, name=scan.name, media_type="application/pdf")
        for n, pages in enumerate([(1, 2), (4, 5)]):
            part = make_pdf(tmp_path / f"part{n}.pdf", f"Letter {ERASED[n]}")
            stored = vault.store_file(
                part, name=part.name, media_type="application/pdf",
                text=[f"Letter {ERASED[n]}"], batch=batch.of_pages(*pages),
            )  # fmt: skip
            ids.append(stored.doc_id)
        vault.fold_journal()
        vault.save_catalog()
    spec, folder = backup
    assert run(runner, vault_dir, "remote", "add", "usb", spec, "--create").exit_code == 0
    assert run(runner, vault_dir, "sync").exit_code == 0

    def there() -> tuple[bool, bool]:
        name = f"{batch.ref[:2]}/{batch.ref}"
        return (vault_dir / "objects" / name).is_file(), any(folder.rglob(batch.ref))

    assert there() == (True, True)
    assert run(runner, vault_dir, "erase", ids[0], "--yes").exit_code == 0
    assert run(runner, vault_dir, "sync").exit_code == 0
    assert there() == (True, True)  # the other document names it
    out = tmp_path / "again.pdf"
    done = run(runner, vault_dir, "export", ids[1], "--batch", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert out.read_bytes() == scan.read_bytes()
    assert run(runner, vault_dir, "erase", ids[1], "--yes").exit_code == 0
    assert there() == (False, True)  # gone here; on the remote until the next sync
    assert run(runner, vault_dir, "sync").exit_code == 0
    assert there() == (False, False)
    assert run(runner, vault_dir, "verify").exit_code == 0
