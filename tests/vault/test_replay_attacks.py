"""An attacker who can write the vault folder but holds neither the data key
nor this computer's signing key: old genuine heads put back, anchors removed,
genuine journal lines replayed. Nothing forged may become a document."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE, Template, make_pdf
from tests.vault.test_journal import _forge, _make_legacy, _store, _unlocked
from vault import anchor, crypto, signing
from vault.errors import IntegrityError, MissingSigningKeyError
from vault.head import read_head
from vault.keys import vault_id_of
from vault.repository import Vault


@pytest.mark.parametrize("snapshot", [True, False], ids=["with-its-snapshot", "rebuilt"])
def test_a_head_from_before_signing_keys_put_back_does_not_let_unsigned_entries_in(
    template_vault: Template, vault_dir: Path, tmp_path: Path, snapshot: bool
) -> None:
    _make_legacy(vault_dir, template_vault)
    _store(Vault.open(vault_dir), make_pdf(tmp_path / "old.pdf", "stored before the upgrade"))
    old = tmp_path / "old-copy"
    shutil.copytree(vault_dir, old)  # what an old backup of the vault holds
    assert _unlocked(vault_dir, template_vault).catalog.count() == 1
    found = read_head(vault_dir / "head.json")
    assert found is not None and found[0].signer is not None

    # The old genuine head put back, the anchor beside it removed, a forged entry.
    shutil.copy2(old / "head.json", vault_dir / "head.json")
    if snapshot:
        for name in (old / "catalog").iterdir():
            shutil.copy2(name, vault_dir / "catalog" / name.name)
    (vault_dir / anchor.ANCHOR_NAME).unlink()
    forged = _forge(Vault.open(vault_dir), tmp_path, key=None)

    with pytest.raises(IntegrityError, match="older than the last one saved"):
        _unlocked(vault_dir, template_vault).catalog
    later = _unlocked(vault_dir, template_vault)
    later.rebuild_catalog()  # what the hint says to run
    later.fold_journal()
    assert "court.pdf" not in [row["name"] for row in later.documents()]
    assert "old.pdf" in [row["name"] for row in later.documents()]
    assert forged in {m for m, _ in later.set_aside}


def test_an_old_head_put_back_with_the_anchor_beside_it_removed_is_refused(
    template_vault: Template, vault_dir: Path, tmp_path: Path
) -> None:
    _store(Vault.open(vault_dir), make_pdf(tmp_path / "a.pdf", "first letter"))
    assert _unlocked(vault_dir, template_vault).catalog.count() == 1
    old = tmp_path / "old-copy"
    shutil.copytree(vault_dir, old)
    _store(Vault.open(vault_dir), make_pdf(tmp_path / "b.pdf", "second letter"))
    assert _unlocked(vault_dir, template_vault).catalog.count() == 2

    shutil.copy2(old / "head.json", vault_dir / "head.json")
    for name in (old / "catalog").iterdir():
        shutil.copy2(name, vault_dir / "catalog" / name.name)
    (vault_dir / anchor.ANCHOR_NAME).unlink()  # the anchor outside the vault is still there

    with pytest.raises(IntegrityError, match="older than the last one saved"):
        _unlocked(vault_dir, template_vault).catalog


def test_files_of_a_set_aside_entry_are_not_reported_as_left_by_interrupted_ingests(
    template_vault: Template, vault_dir: Path, tmp_path: Path
) -> None:
    """They are kept on purpose (README): 'vault prune' must never be pointed at them."""
    _store(Vault.open(vault_dir), make_pdf(tmp_path / "a.pdf", "genuine"))
    forged = _forge(Vault.open(vault_dir), tmp_path, key=None)
    vault = _unlocked(vault_dir, template_vault)
    vault.fold_journal()
    assert [m for m, _ in vault.set_aside] == [forged]
    result = vault.verify()
    assert result.ok and result.unreferenced == 0


def test_a_swapped_public_key_with_a_vault_id_to_match_is_refused_before_storing(
    template_vault: Template, vault_dir: Path, tmp_path: Path
) -> None:
    """keys/data.pub and config.json's vault id both changed: the vault id no
    longer tells, the key noted outside the vault folder does."""
    Vault.open(vault_dir).unlock(PASSPHRASE)  # as every unlocked command does
    _, attacker = crypto.generate_identity()
    (vault_dir / "keys" / "data.pub").write_text(attacker + "\n")
    config = json.loads((vault_dir / "config.json").read_text())
    config["vault_id"] = vault_id_of(attacker)
    (vault_dir / "config.json").write_text(json.dumps(config))
    vault = Vault.open(vault_dir)
    with pytest.raises(IntegrityError, match=r"data\.pub"):
        _store(vault, make_pdf(tmp_path / "a.pdf", "not to the attacker"))
    assert list(vault.objects.ids()) == [] and vault.journal_entries() == []


@pytest.mark.parametrize("head", ["kept", "garbled"])
def test_a_signing_key_planted_in_local_is_never_adopted(
    template_vault: Template, vault_dir: Path, tmp_path: Path, head: str
) -> None:
    """Someone who can write the vault folder puts their own key in
    local/signing.key and signs forged entries with it: an unlocked command
    makes a key of its own rather than name theirs in the head."""
    _store(Vault.open(vault_dir), make_pdf(tmp_path / "a.pdf", "genuine"))
    _unlocked(vault_dir, template_vault).fold_journal()
    planted = signing.create(signing.key_path(vault_dir))
    if head == "garbled":
        (vault_dir / "head.json").write_text("{")
    first = _forge(Vault.open(vault_dir), tmp_path, key=planted)

    vault = _unlocked(vault_dir, template_vault)
    if head == "garbled":
        vault.rebuild_catalog()
    vault.fold_journal()
    assert [m for m, _ in vault.set_aside] == [first]
    found = read_head(vault_dir / "head.json")
    assert found is not None and found[0].signer != planted.public

    (tmp_path / "forged.pdf").unlink()
    second = _forge(Vault.open(vault_dir), tmp_path, key=planted)
    later = _unlocked(vault_dir, template_vault)
    assert "court.pdf" not in [row["name"] for row in later.documents()]
    assert [m for m, _ in later.set_aside] == [second]


def test_storing_with_no_head_and_no_signing_key_is_refused(
    template_vault: Template, vault_dir: Path, tmp_path: Path
) -> None:
    """head.json and local/ both gone: an unsigned entry would only be set
    aside by the next fold, so nothing is stored and nothing says "Stored"."""
    (vault_dir / "head.json").unlink()
    shutil.rmtree(vault_dir / "local")
    vault = Vault.open(vault_dir)
    with pytest.raises(MissingSigningKeyError):
        _store(vault, make_pdf(tmp_path / "a.pdf", "refused"))
    assert list(vault.objects.ids()) == [] and vault.journal_entries() == []
