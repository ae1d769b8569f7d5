"""The vault library: storing, journal folding, duplicates, catalog, integrity."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import CANARY, PASSPHRASE, Template, make_pdf
from vault.errors import IntegrityError, NotFoundError, WrongKeyError
from vault.repository import Vault


def _store(vault: Vault, path: Path) -> str:
    return vault.store_file(path, name=path.name, media_type="application/pdf").doc_id


def _all_bytes(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in root.rglob("*") if p.is_file()]


def test_small_round_trip(unlocked_vault: Vault, tmp_path: Path) -> None:
    src = make_pdf(tmp_path / "letter.pdf", "small round trip")
    doc_id = _store(unlocked_vault, src)
    unlocked_vault.fold_journal()
    out = tmp_path / "out.pdf"
    unlocked_vault.export(doc_id, out)
    assert out.read_bytes() == src.read_bytes()
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_no_plaintext_in_vault_folder(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work_tmp = tmp_path / "tmpdir"
    work_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(work_tmp))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    src = make_pdf(inbox / f"{CANARY}-referral.pdf", f"Referral for {CANARY} case")
    assert CANARY.encode() in src.read_bytes()  # the check below would find a leak

    # Ingest without the key (journal), then with it (fold: decrypts, fingerprints).
    vault = Vault.open(vault_dir)
    with vault.lock:
        _store(vault, src)
    after_ingest = _all_bytes(vault_dir)
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        assert [d["name"] for d in vault.documents()] == [src.name]
        vault.text(next(vault.documents())["id"])
    for path, data in after_ingest + _all_bytes(vault_dir):
        assert CANARY.encode() not in data, path
        assert CANARY not in path.name
    assert list(work_tmp.iterdir()) == []


def test_modes_are_private(vault_dir: Path, tmp_path: Path) -> None:
    vault = Vault.open(vault_dir)
    with vault.lock:
        _store(vault, make_pdf(tmp_path / "a.pdf", "modes"))
    for path in [vault_dir, *vault_dir.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o700 if path.is_dir() else 0o600), path


def test_wrong_passphrase(vault_dir: Path) -> None:
    with pytest.raises(WrongKeyError):
        Vault.open(vault_dir).unlock("Wrong Horse 42")


def test_emergency_key_unlocks_and_is_audited(vault_dir: Path, template_vault: Template) -> None:
    vault = Vault.open(vault_dir)
    vault.unlock_with_emergency_key(template_vault.emergency_secret, "coordinator away")
    assert vault.key is not None and vault.key.secret == template_vault.data_secret
    last = list(vault.audit.entries())[-1]
    assert last.event == "emergency-use"
    assert last.detail == {"key": "emergency", "reason": "coordinator away"}


def test_wrong_emergency_key(vault_dir: Path) -> None:
    from vault.crypto import generate_identity

    with pytest.raises(WrongKeyError):
        Vault.open(vault_dir).unlock_with_emergency_key(generate_identity()[0], "test")


def test_duplicate_ingest_unlocked_stores_once(unlocked_vault: Vault, tmp_path: Path) -> None:
    src = make_pdf(tmp_path / "a.pdf", "duplicate")
    first = unlocked_vault.store_file(src, name="a.pdf", media_type="application/pdf")
    unlocked_vault.fold_journal()
    objects_before = set(unlocked_vault.objects.ids())
    second = unlocked_vault.store_file(src, name="copy.pdf", media_type="application/pdf")
    assert second.duplicate_of == first.doc_id
    unlocked_vault.fold_journal()
    assert set(unlocked_vault.objects.ids()) == objects_before
    assert unlocked_vault.catalog.count() == 1


def test_duplicate_ingest_locked_is_dropped_at_fold(vault_dir: Path, tmp_path: Path) -> None:
    src = make_pdf(tmp_path / "a.pdf", "duplicate locked")
    vault = Vault.open(vault_dir)
    _store(vault, src)
    _store(vault, src)
    assert len(list(vault.objects.ids())) == 2  # no key: the duplicate cannot be seen yet
    vault.unlock(PASSPHRASE)
    assert vault.catalog.count() == 1
    assert len(list(vault.objects.ids())) == 1
    assert len(list(vault.manifests.ids())) == 1  # the unsigned manifests were replaced
    assert vault.journal_entries() == []
    assert vault.verify().ok


def test_fold_is_idempotent_after_crash_before_journal_cleared(
    vault_dir: Path, tmp_path: Path
) -> None:
    vault = Vault.open(vault_dir)
    _store(vault, make_pdf(tmp_path / "a.pdf", "fold twice"))
    journal = (vault_dir / "journal.log").read_bytes()
    vault.unlock(PASSPHRASE)
    assert vault.catalog.count() == 1
    (vault_dir / "journal.log").write_bytes(journal)  # as if the process died before clearing
    again = Vault.open(vault_dir)
    again.unlock(PASSPHRASE)
    assert again.catalog.count() == 1


def test_rebuild_catalog_gives_same_documents(unlocked_vault: Vault, tmp_path: Path) -> None:
    for n in range(3):
        _store(unlocked_vault, make_pdf(tmp_path / f"d{n}.pdf", f"document {n}"))
    unlocked_vault.fold_journal()
    before = sorted(unlocked_vault.documents(), key=lambda d: d["id"])
    unlocked_vault.rebuild_catalog()
    after = sorted(unlocked_vault.documents(), key=lambda d: d["id"])
    assert after == before and len(after) == 3


def test_missing_snapshot_is_rebuilt_automatically(vault_dir: Path, tmp_path: Path) -> None:
    vault = Vault.open(vault_dir)
    vault.unlock(PASSPHRASE)
    doc_id = _store(vault, make_pdf(tmp_path / "a.pdf", "rebuild me"))
    vault.fold_journal()
    for snapshot in (vault_dir / "catalog").glob("*.age"):
        snapshot.unlink()
    reopened = Vault.open(vault_dir)
    reopened.unlock(PASSPHRASE)
    assert [d["id"] for d in reopened.documents()] == [doc_id]


def test_tampered_head_is_refused(vault_dir: Path) -> None:
    head_path = vault_dir / "head.json"
    head = json.loads(head_path.read_text())
    head["documents"] = 99  # a rollback or forgery by someone without the key
    head_path.write_text(json.dumps(head))
    vault = Vault.open(vault_dir)
    vault.unlock(PASSPHRASE)
    with pytest.raises(IntegrityError, match="authenticity"):
        vault.catalog


def test_forged_snapshot_with_public_key_is_refused(vault_dir: Path) -> None:
    """Someone holding only the public key can encrypt a catalog, but not MAC it."""
    from vault import crypto
    from vault.catalog import Catalog

    blob = crypto.encrypt_bytes(Catalog.new().to_bytes(), [Vault.open(vault_dir).recipient])
    import hashlib

    forged = hashlib.sha256(blob).hexdigest()
    (vault_dir / "catalog" / f"{forged}.age").write_bytes(blob)
    head_path = vault_dir / "head.json"
    head = json.loads(head_path.read_text())
    head["catalog"] = forged
    head_path.write_text(json.dumps(head))
    vault = Vault.open(vault_dir)
    vault.unlock(PASSPHRASE)
    with pytest.raises(IntegrityError):
        vault.catalog


def test_forged_journal_manifest_is_rejected(vault_dir: Path, tmp_path: Path) -> None:
    """A *signed*-looking manifest from someone without the key fails its MAC."""
    from vault import journal
    from vault.manifest import Manifest

    vault = Vault.open(vault_dir)
    doc = Manifest("D-AAAAAA", "0" * 64, "x.pdf", "application/pdf", 1, "2026-01-01T00:00:00+00:00")
    record = vault.manifests.put_bytes(
        doc.signed("f" * 64, lambda body: "0" * 64), [vault.recipient]
    )
    journal.append(
        vault_dir / journal.JOURNAL,
        journal.new_entry(record.id, record.size, {}, signed=True, key=None),
    )
    vault.unlock(PASSPHRASE)
    result = vault.fold_journal()
    assert result.rejected == [record.id]
    assert vault.catalog.count() == 0


def test_verify_reports_tampered_object_by_id(vault_dir: Path, tmp_path: Path) -> None:
    vault = Vault.open(vault_dir)
    _store(vault, make_pdf(tmp_path / "a.pdf", "tamper"))
    target = next(vault.objects.ids())
    path = vault.objects.path(target)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    os.chmod(path, 0o600)
    path.write_bytes(bytes(data))
    result = vault.verify()
    assert [(b.id, b.problem) for b in result.bad] == [(target, "corrupt")]


def test_verify_reports_missing_object(vault_dir: Path, tmp_path: Path) -> None:
    vault = Vault.open(vault_dir)
    vault.unlock(PASSPHRASE)
    _store(vault, make_pdf(tmp_path / "a.pdf", "missing"))
    vault.fold_journal()
    target = next(vault.objects.ids())
    vault.objects.path(target).unlink()
    assert [(b.id, b.problem) for b in Vault.open(vault_dir).verify().bad] == [(target, "missing")]


def test_export_of_tampered_object_fails_and_writes_nothing(
    unlocked_vault: Vault, tmp_path: Path
) -> None:
    doc_id = _store(unlocked_vault, make_pdf(tmp_path / "a.pdf", "tamper export"))
    unlocked_vault.fold_journal()
    row = unlocked_vault.document(doc_id)
    path = unlocked_vault.objects.path(row["original"])
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.write_bytes(bytes(data))
    out = tmp_path / "out.pdf"
    with pytest.raises(IntegrityError):
        unlocked_vault.export(doc_id, out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_unknown_document(unlocked_vault: Vault) -> None:
    with pytest.raises(NotFoundError):
        unlocked_vault.document("D-ZZZZZZ")


def test_document_ids_are_forgiving(unlocked_vault: Vault, tmp_path: Path) -> None:
    doc_id = _store(unlocked_vault, make_pdf(tmp_path / "a.pdf", "ids"))
    unlocked_vault.fold_journal()
    assert unlocked_vault.document(doc_id[2:].lower())["id"] == doc_id


def test_passwd_changes_passphrase(vault_dir: Path) -> None:
    vault = Vault.open(vault_dir)
    vault.unlock(PASSPHRASE)
    vault.change_passphrase("New Horse 77 Battery")
    with pytest.raises(WrongKeyError):
        Vault.open(vault_dir).unlock(PASSPHRASE)
    Vault.open(vault_dir).unlock("New Horse 77 Battery")


def test_document_in_parts_through_journal_fold_export_and_rebuild(
    vault_dir: Path, tmp_path: Path
) -> None:
    src = tmp_path / "large.bin"
    data = os.urandom(3 * 64 * 1024 + 500)
    src.write_bytes(data)
    vault = Vault.open(vault_dir)
    vault.objects.part_size = 64 * 1024  # three parts and a bit
    with vault.lock:  # stored without the key: journaled, fingerprinted at the fold
        doc_id = _store(vault, src)
    parts = [o for o in vault.expected_objects() if vault.objects.exists(o)]
    assert len(parts) == 4
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.fold_journal()
        assert set(parts) <= set(vault.expected_objects())  # named by the new head
        out = tmp_path / "out.bin"
        vault.export(doc_id, out)
        assert out.read_bytes() == data
        vault.rebuild_catalog()
        out.unlink()
        vault.export(doc_id, out)
        assert out.read_bytes() == data
        assert not vault.verify().bad
        exported = [e for e in vault.audit.entries() if e.event == "export"]
        assert all(set(parts) <= set(e.ids) for e in exported)
