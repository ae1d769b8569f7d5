"""Ingest, the fold, edit and sync killed at every file operation they make
(``sweep.py``), and sync also as its rclone puts each file on the remote.

After each kill the next command must list every document, export each
byte-identical, and find ``verify`` and the audit chain clean; running the
job again then finishes it (for sync: the next sync succeeds and the
remote's ``verify --read-data`` is clean). Every call is a kill point: none
is sampled.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sync.backup import sync_remote
from sync.remotes import add_remote
from tests.conftest import PASSPHRASE, Template, make_pdf
from tests.integration.sweep import (
    ROOT,
    VAULT_CMD,
    Sweep,
    assert_clean,
    child_env,
    exported,
    sha,
)
from tests.processes import all_gone, environ_of, program_of
from vault import manifest as manifests
from vault.keys import DataKey
from vault.repository import Vault

_FOLD_CHILD = r"""
import os, sys
from pathlib import Path
from vault import manifest as manifests
from vault.keys import DataKey
from vault.repository import Vault

vault = Vault.open(Path(sys.argv[1]))
with vault.lock:
    vault.key = DataKey.from_secret(os.environ["TEST_DATA_SECRET"])
    vault.catalog  # opening the catalog folds the journal in
"""


def _recorded(vault: Vault, key: DataKey, work: Path) -> set[str]:
    """The contents of every document the journal records (read before the fold)."""
    found = set()
    for entry in vault.journal_entries():
        data = vault.manifests.get_bytes(entry["manifest"], [key.identity])
        doc, _ = manifests.parse(data, check_mac=None)
        vault.objects.get_file(doc.original, work / "recorded", [key.identity])
        found.add(sha(work / "recorded"))
    return found


def _check_next_command(
    root: Path, template: Template, sources: dict[str, str], work: Path
) -> set[str]:
    """What the next unlocked command finds; returns the contents listed."""
    vault = Vault.open(root)
    with vault.lock:
        vault.key = DataKey.from_secret(template.data_secret)
        recorded = _recorded(vault, vault.key, work)
        contents = list(exported(vault, work).values())
        assert set(contents) <= set(sources.values()), "a listed document does not export whole"
        assert len(contents) == len(set(contents)), "a document is listed twice"
        assert recorded <= set(contents), "a recorded document is not listed"
        assert_clean(vault)
    return set(contents)


def _finish(root: Path, template: Template, sources: dict[str, str], work: Path) -> None:
    """Run the job again (each source is still at hand): every document is in, once."""
    vault = Vault.open(root)
    with vault.lock:
        vault.key = DataKey.from_secret(template.data_secret)
        vault.fold_journal()
        for name in sources:
            vault.store_file(work / name, name=name, media_type="application/pdf")
        vault.fold_journal()
    assert _check_next_command(root, template, sources, work) == set(sources.values())


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, str]:
    made = {
        "a.pdf": make_pdf(tmp_path / "a.pdf", "sweep letter a"),
        "b.pdf": make_pdf(tmp_path / "b.pdf", "sweep letter b"),
    }
    shutil.copy(made["a.pdf"], tmp_path / "c.pdf")  # the same letter scanned twice
    return {name: sha(tmp_path / name) for name in ("a.pdf", "b.pdf", "c.pdf")}


def _sweep(
    argv: list[str], start: Path, template: Template, sources: dict[str, str], work: Path
) -> int:
    recorded_before = _recorded(Vault.open(start), DataKey.from_secret(template.data_secret), work)

    def check(root: Path) -> None:
        listed = _check_next_command(root, template, sources, work)
        assert listed >= recorded_before, "a document recorded before the run was lost"
        _finish(root, template, sources, work)

    env = child_env(TEST_DATA_SECRET=template.data_secret)
    return Sweep(argv, start, env, work, check).run()


def test_ingest_killed_at_every_file_operation(
    template_vault: Template, sources: dict[str, str], tmp_path: Path
) -> None:
    argv = [VAULT_CMD, "--vault", ROOT, "ingest", "--quiet",
            *(str(tmp_path / name) for name in sources)]  # fmt: skip
    kills = _sweep(argv, template_vault.path, template_vault, sources, tmp_path)
    # One batch: each file renamed into place, one syncfs, the journal's and the
    # audit log's appends (fewer calls than a durable step for each file made).
    assert kills > 12


def test_fold_killed_at_every_file_operation(
    template_vault: Template, sources: dict[str, str], tmp_path: Path
) -> None:
    start = tmp_path / "journaled"
    shutil.copytree(template_vault.path, start)
    vault = Vault.open(start)
    with vault.lock:
        for name in sources:  # without the key: journaled, unsigned, c.pdf a duplicate
            vault.store_file(tmp_path / name, name=name, media_type="application/pdf")
    argv = [sys.executable, "-c", _FOLD_CHILD, ROOT]
    kills = _sweep(argv, start, template_vault, sources, tmp_path)  # a and b: never lost
    assert kills > 10


def _stored_and_folded(template: Template, sources: dict[str, str], work: Path) -> Path:
    """A copy of the template vault holding the sources, all in its catalog."""
    start = work / "folded"
    shutil.copytree(template.path, start)
    vault = Vault.open(start)
    with vault.lock:
        vault.key = DataKey.from_secret(template.data_secret)
        for name in sources:
            vault.store_file(work / name, name=name, media_type="application/pdf")
        vault.fold_journal()
    return start


def test_edit_killed_at_every_file_operation(
    template_vault: Template, sources: dict[str, str], tmp_path: Path
) -> None:
    """After each kill the document is whole, with either its old record or the
    new one (never a mix, never both); editing again then finishes it."""
    start = _stored_and_folded(template_vault, sources, tmp_path)
    vault = Vault.open(start)
    with vault.lock:
        vault.key = DataKey.from_secret(template_vault.data_secret)
        before = {doc["id"]: doc for doc in vault.documents()}
    edited = sorted(before)[0]
    old = (before[edited]["doc_type"], before[edited]["family"])
    new = ("court-order", "F-0042")
    contents = set(sources.values())

    def check(root: Path) -> None:
        vault = Vault.open(root)
        with vault.lock:
            vault.key = DataKey.from_secret(template_vault.data_secret)
            found = exported(vault, tmp_path)
            assert found.keys() == before.keys(), "a document was lost or listed twice"
            assert set(found.values()) == contents, "a document does not export whole"
            row = vault.document(edited)
            assert (row["doc_type"], row["family"]) in (old, new), row
            assert_clean(vault)
            vault.edit(edited, doc_type=new[0], family=new[1])
            assert (vault.document(edited)["doc_type"], vault.document(edited)["family"]) == new
            assert_clean(vault)

    argv = [VAULT_CMD, "--vault", ROOT, "edit", edited, "--type", new[0], "--family", new[1]]
    env = child_env(VAULT_PASSPHRASE=PASSPHRASE)
    kills = Sweep(argv, start, env, tmp_path, check).run()
    assert kills > 10


def _rclone_of(marker: str) -> set[int]:
    """The rclone processes started by a run marked with ``marker`` in its environment."""
    return {
        pid
        for pid in (int(p.name) for p in Path("/proc").glob("[0-9]*"))
        if program_of(pid) == "rclone"
        and (environ_of(pid) or {}).get(b"TEST_SWEEP") == marker.encode()
    }


def _vault(root: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VAULT_CMD, "--vault", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def sync_sweep(template_vault: Template, sources: dict[str, str], tmp_path: Path) -> Sweep:
    """``vault sync`` to a folder remote that sends an edited document's new
    manifest and catalog, a new document (a journal line) and a new head, and
    removes what the old head named. After each kill: no rclone is left, the
    remote as the kill left it passes ``verify --remote`` (its own head and
    journal name nothing it lacks), the next sync succeeds, the remote's
    ``verify --read-data`` is clean, and every document is listed, whole,
    with ``verify`` and the audit chain clean."""
    del sources["c.pdf"]  # (a duplicate: it adds nothing here)
    start = _stored_and_folded(template_vault, sources, tmp_path)
    remote = tmp_path / "usb"
    vault = Vault.open(start)
    with vault.lock:
        add_remote(vault, "usb", str(remote), create=True)
    sync_remote(vault, "usb", str(remote))
    with vault.lock:  # since that sync: an edit (a new head) and a new document
        vault.key = DataKey.from_secret(template_vault.data_secret)
        vault.edit(sorted(doc["id"] for doc in vault.documents())[0], doc_type="court-order")
        vault.key = None
        sources["d.pdf"] = sha(make_pdf(tmp_path / "d.pdf", "sweep letter d"))
        vault.store_file(tmp_path / "d.pdf", name="d.pdf", media_type="application/pdf")
    remote_before = tmp_path / "usb-before"
    shutil.copytree(remote, remote_before)
    marker = str(tmp_path)
    env = child_env(TEST_SWEEP=marker)

    def put_back_remote() -> None:  # every run starts from the same remote, at the same path
        shutil.rmtree(remote, ignore_errors=True)
        shutil.copytree(remote_before, remote)

    def check(root: Path) -> None:
        assert all_gone(_rclone_of(marker), within=5), "rclone outlived the killed vault"
        for args in (["verify", "--remote", "usb"], ["sync", "usb", "--quiet"],
                     ["verify", "--remote", "usb", "--read-data"]):  # fmt: skip
            done = _vault(root, *args, env=env)
            assert done.returncode == 0, (args, done.stdout + done.stderr)
        vault = Vault.open(root)
        with vault.lock:
            vault.key = DataKey.from_secret(template_vault.data_secret)
            assert sorted(exported(vault, tmp_path).values()) == sorted(sources.values())
            assert_clean(vault)

    argv = [VAULT_CMD, "--vault", ROOT, "sync", "usb", "--quiet"]
    return Sweep(argv, start, env, tmp_path, check, before=put_back_remote, follow=False)


def test_sync_killed_at_every_file_operation(sync_sweep: Sweep) -> None:
    """Killed at each file operation of the vault's own process; rclone's
    daemon, its child, runs untraced until it dies with it."""
    assert sync_sweep.run() > 10


def test_sync_killed_as_rclone_puts_each_file_on_the_remote(
    sync_sweep: Sweep, tmp_path: Path
) -> None:
    """Killed, with its rclone, as rclone is about to rename each file it sent
    into place on the remote or to remove one (objects, catalog, audit log,
    head, journal, then what the old head named)."""
    assert sync_sweep.run_child("rclone", tmp_path / "usb") > 5
