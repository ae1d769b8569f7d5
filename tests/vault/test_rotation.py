"""``vault rotate`` on this computer (``vault.rotation``): what goes on
while the documents move, and what a rotation under way is checked for."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyrage
import pytest
from click.testing import CliRunner
from pyrage import x25519

from tests.conftest import PASSPHRASE, TEST_WORK_FACTOR, make_pdf
from vault import crypto, parts, rotation, scrypt_file
from vault.cli import cli
from vault.keys import KeyPaths, unlock_with_passphrase, vault_id_of
from vault.objects import ObjectStore, StoredObject
from vault.repository import Vault

NEW = "Brand New Pass 58"


@pytest.fixture(autouse=True)
def cheap_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        scrypt_file, "encrypt", functools.partial(scrypt_file.encrypt, work_factor=TEST_WORK_FACTOR)
    )


def run(root: Path, *args: str, passphrase: str = PASSPHRASE, **env: str) -> Any:
    environ = {"VAULT_PASSPHRASE": passphrase, "VAULT_NEW_PASSPHRASE": NEW, **env}
    result = CliRunner().invoke(cli, ["--vault", str(root), *args], env=environ)
    assert "Traceback" not in result.output
    return result


def store(vault_dir: Path, tmp_path: Path, count: int) -> None:
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        for n in range(count):
            path = make_pdf(tmp_path / f"letter-{n}.pdf", f"Referral for the Wren family {n}")
            vault.store_file(path, name=path.name, media_type="application/pdf", text=[f"Wren {n}"])
        vault.fold_journal()
        vault.save_catalog()


def begun(vault_dir: Path, tmp_path: Path) -> None:
    """A rotation begun by a 'vault rotate' killed before it moved anything."""
    env = dict(
        os.environ,
        VAULT_PASSPHRASE=PASSPHRASE,
        VAULT_NEW_PASSPHRASE=NEW,
        VAULT_TEST_ROTATE_STOP_AT="begun",
    )
    sheet = tmp_path / "new-sheet.pdf"
    done = subprocess.run(
        [sys.executable, "-m", "vault", "--vault", str(vault_dir), "rotate",
         "--emergency-sheet", str(sheet)],
        env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == -9, done.stderr.decode()
    assert rotation.read_state(vault_dir) is not None


def test_a_command_taking_the_lock_while_documents_move_leaves_their_temp_files(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storing and reading go on during the move: a command that takes the
    vault lock then cleans the vault's temp folder, never the move's files."""
    store(vault_dir, tmp_path, 2)
    begun(vault_dir, tmp_path)
    real = ObjectStore.commit

    def another_command_first(
        store: ObjectStore, tmp: Path, digest: str | None = None
    ) -> StoredObject:
        with Vault.open(vault_dir).lock:  # cleans what a killed writer left
            pass
        return real(store, tmp, digest)

    monkeypatch.setattr(ObjectStore, "commit", another_command_first)
    result = run(vault_dir, "rotate")
    assert result.exit_code == 0, result.output
    assert "2 documents are under the new key" in result.output


def test_a_second_rotate_while_one_moves_documents_is_refused_in_one_line(
    vault_dir: Path, tmp_path: Path
) -> None:
    store(vault_dir, tmp_path, 1)
    begun(vault_dir, tmp_path)
    vault = Vault.open(vault_dir)
    with vault.lock:
        mover = rotation.hold_mover(vault)  # as the 'vault rotate' moving documents holds it
    try:
        result = run(vault_dir, "rotate")
    finally:
        mover.release()
    assert result.exit_code == 1, result.output
    assert "a key rotation is running already" in result.output
    assert rotation.read_state(vault_dir) is not None
    result = run(vault_dir, "rotate")
    assert result.exit_code == 0, result.output


def test_a_document_edited_while_documents_move_is_moved_as_edited(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit replaces a manifest the move was about to read: the rotation
    goes on, and its finish moves the new one."""
    store(vault_dir, tmp_path, 3)
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        ids = [row["id"] for row in vault.catalog.documents()]
    real, calls = rotation.move, []

    def edited_first(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == 1:  # the move without the lock, first of the two
            other = Vault.open(vault_dir)
            with other.lock:
                other.unlock(PASSPHRASE)
                other.edit(ids[-1], doc_type="court-order")
        return real(*args, **kwargs)

    monkeypatch.setattr(rotation, "move", edited_first)
    result = run(vault_dir, "rotate", "--emergency-sheet", str(tmp_path / "sheet.pdf"))
    assert result.exit_code == 0, result.output
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(NEW)
        assert vault.document(ids[-1])["doc_type"] == "court-order"
        assert vault.catalog.count() == 3


def _dies(*args: Any) -> None:
    """A worker killed while it moves a document (the out-of-memory killer, say)."""
    os.kill(os.getpid(), 9)


def test_a_worker_killed_while_documents_move_is_said_in_one_line_and_the_rotation_resumes(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(vault_dir, tmp_path, 2)
    begun(vault_dir, tmp_path)
    monkeypatch.setattr(parts, "default_jobs", lambda: 2)  # worker processes, whatever the cores
    monkeypatch.setattr(rotation, "move_in_worker", _dies)
    result = run(vault_dir, "rotate")
    assert isinstance(result.exception, SystemExit), result.exception  # said, not raised
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("vault: error:")]
    assert errors == [
        "vault: error: a worker process of the key rotation stopped (killed, or out of memory)"
    ], result.output
    assert rotation.read_state(vault_dir) is not None
    monkeypatch.undo()
    result = run(vault_dir, "rotate")
    assert result.exit_code == 0, result.output
    assert "2 documents are under the new key" in result.output


class _PowerCut(BaseException):
    """The machine stops here."""


@pytest.mark.parametrize("cut_at", [rotation.FOLDER, rotation.OLD_KEYS])
def test_a_switch_cut_short_while_removing_the_rotation_folder_leaves_nothing_the_old_key_opens(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut_at: str
) -> None:
    """rotation/ holds the new data key encrypted to the old one and the old
    key files: a removal cut short must leave its record, so that the next
    command's switch removes the rest (a removal in directory order may take
    the record first and stop there)."""
    store(vault_dir, tmp_path, 2)
    old = x25519.Identity.from_str(
        unlock_with_passphrase(KeyPaths(vault_dir / "keys"), PASSPHRASE).secret
    )
    env = dict(os.environ, VAULT_PASSPHRASE=PASSPHRASE, VAULT_NEW_PASSPHRASE=NEW)
    env[rotation.STOP_AT] = "switch:removed"
    done = subprocess.run(
        [sys.executable, "-m", "vault", "--vault", str(vault_dir), "rotate",
         "--emergency-sheet", str(tmp_path / "new-sheet.pdf")],
        env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == -9, done.stderr.decode()
    real = shutil.rmtree

    def cut_short(path: Any, *args: Any, **kwargs: Any) -> None:
        if Path(path).name == cut_at:
            Path(path, rotation.STATE).unlink(missing_ok=True)  # first in directory order
            raise _PowerCut
        real(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", cut_short)
    with contextlib.suppress(_PowerCut):
        rotation.complete_switch(vault_dir)
    monkeypatch.undo()
    with Vault.open(vault_dir).lock:  # the next command
        pass
    assert not (vault_dir / rotation.FOLDER).exists()
    for path in sorted(p for p in vault_dir.rglob("*") if p.is_file()):
        with pytest.raises(pyrage.DecryptError):
            pyrage.decrypt(path.read_bytes(), [old])


def test_a_rotation_record_planted_without_the_key_is_refused_and_changes_nothing(
    vault_dir: Path, tmp_path: Path
) -> None:
    """A 'switching' record naming someone else's key, put in the vault folder
    by someone who has no key: the next command (even storing without the
    passphrase) must not put that key in place nor remove the key files."""
    store(vault_dir, tmp_path, 1)
    assert run(vault_dir, "list").exit_code == 0  # the vault's public key noted
    keys_before = sorted(p.name for p in (vault_dir / "keys").iterdir())
    _secret, public = crypto.generate_identity()
    work = vault_dir / rotation.FOLDER
    (work / rotation.NEW / "keys").mkdir(parents=True)
    (work / rotation.NEW / "keys" / "data.pub").write_text(public + "\n")
    old = (vault_dir / "keys" / "data.pub").read_text().strip()
    state = rotation.Rotation(
        "2026-01-01T00:00:00+00:00", vault_id_of(old), vault_id_of(public), public, "switching"
    )
    (work / rotation.STATE).write_text(json.dumps(state.record()))

    letter = make_pdf(tmp_path / "post.pdf", "Referral for the Finch family")
    result = run(vault_dir, "ingest", str(letter), passphrase="")
    assert result.exit_code == 4, result.output
    assert "not one begun in this folder" in result.output
    assert sorted(p.name for p in (vault_dir / "keys").iterdir()) == keys_before
    assert (vault_dir / "keys" / "data.pub").read_text().strip() == old
    assert run(vault_dir, "rotate").exit_code == 4  # nor goes on with it
