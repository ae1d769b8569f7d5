"""The journal and the audit log: whole lines, salvaged entries, a fold safe to
replay, and entries authenticated by this computer's signing key."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from sync.snapshot import take_snapshot
from tests.conftest import Template, make_pdf
from vault import anchor, crypto, journal, signing
from vault.errors import IntegrityError, MissingSigningKeyError
from vault.fsutil import append_line
from vault.head import read_head
from vault.keys import DataKey
from vault.manifest import Manifest
from vault.repository import Vault


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _store(vault: Vault, path: Path) -> str:
    return vault.store_file(path, name=path.name, media_type="application/pdf").doc_id


def _unlocked(root: Path, template: Template) -> Vault:
    vault = Vault.open(root)
    vault.key = DataKey.from_secret(template.data_secret)  # as the passphrase would, minus scrypt
    return vault


def _exports(vault: Vault, work: Path) -> list[str]:
    found = []
    for n, doc in enumerate(vault.documents()):
        vault.export(doc["id"], work / f"out-{n}")
        found.append(_sha(work / f"out-{n}"))
    return sorted(found)


def _forge(vault: Vault, work: Path, *, key: signing.SigningKey | None) -> str:
    """What someone holding only keys/data.pub can write: an object, an
    unsigned manifest and a journal line (signed with ``key``, if any)."""
    court = make_pdf(work / "forged.pdf", "court order, family F-0042")
    original = vault.objects.put_file(court, [vault.recipient])
    doc = Manifest(
        "D-FFFFFF", original.id, "court.pdf", "application/pdf", 10, "2026-01-01T00:00:00+00:00"
    )
    record = vault.manifests.put_bytes(doc.to_json(), [vault.recipient])
    entry = journal.new_entry(record.id, record.size, original.objects, signed=False, key=key)
    journal.append(vault.root / journal.JOURNAL, entry)
    return record.id


# --- whole lines ----------------------------------------------------------------


def test_a_torn_tail_is_cut_before_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "journal.log"
    first = journal.new_entry("a" * 64, 1, {"b" * 64: 2}, signed=False, key=None)
    journal.append(path, first)
    with open(path, "ab") as f:  # a crash in the middle of the next append
        f.write(b'{"manifest": "c')
    second = journal.new_entry("d" * 64, 3, {"e" * 64: 4}, signed=False, key=None)
    journal.append(path, second)
    assert path.read_bytes().endswith(b"\n")
    assert journal.read(path).records == [first, second]
    assert journal.read(path).damaged == []


def test_a_whole_record_that_lost_its_line_end_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "journal.log"
    first = journal.new_entry("a" * 64, 1, {}, signed=False, key=None)
    path.write_bytes(json.dumps(first).encode())  # no line end
    second = journal.new_entry("d" * 64, 3, {}, signed=False, key=None)
    journal.append(path, second)
    assert journal.read(path).records == [first, second]


def test_entries_glued_to_a_torn_line_are_not_dropped(tmp_path: Path) -> None:
    """An older version glued the next entry onto a torn line: both the
    complete entry and the damage are found."""
    path = tmp_path / "journal.log"
    glued = journal.new_entry("d" * 64, 3, {"e" * 64: 4}, signed=False, key=None)
    torn = b'{"manifest": "' + b"a" * 64 + b'", "size": 1, "objects": {"' + b"b" * 30
    path.write_bytes(torn + json.dumps(glued).encode() + b"\n")
    found = journal.read(path)
    assert found.records == [glued]
    assert len(found.damaged) == 1


def test_append_line_refuses_a_part_of_a_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        append_line(tmp_path / "x", b"one\ntw")


def test_audit_log_goes_on_after_a_torn_tail_and_a_damaged_line(vault_dir: Path) -> None:
    vault = Vault.open(vault_dir)
    vault.audit.append("verify", [], ok=True)
    with open(vault.audit.path, "ab") as f:  # torn by a crash: cut off by the next append
        f.write(b'{"detail":{},"event":"ver')
    vault.audit.append("verify", [], ok=True)
    assert vault.audit.verify() == []
    assert [e.event for e in vault.audit.entries()][-2:] == ["verify", "verify"]

    with open(vault.audit.path, "ab") as f:  # a whole line of junk: damage, shown
        f.write(b"this is not an entry\n")
    after = vault.audit.append("verify", [], ok=True)
    entries = list(vault.audit.entries())
    assert entries[-1] == after, "the entry after the damage was lost"
    problems = vault.audit.verify()
    assert len(problems) == 1 and "damaged" in problems[0].problem

    from sync.status import gather_status

    assert any("audit log" in w for w in gather_status(vault).warnings)


# --- the fold -------------------------------------------------------------------


def test_a_fold_replayed_after_its_head_was_saved_loses_nothing(
    template_vault: Template, vault_dir: Path, tmp_path: Path
) -> None:
    """Killed after the new head was renamed into place, before the journal
    was emptied: the next fold must not take the documents for duplicates of
    themselves and delete them."""
    sources = [make_pdf(tmp_path / f"{n}.pdf", f"letter {n}") for n in "ab"]
    vault = Vault.open(vault_dir)
    for source in sources:
        _store(vault, source)
    journaled = (vault_dir / journal.JOURNAL).read_bytes()
    vault = _unlocked(vault_dir, template_vault)
    assert vault.catalog.count() == 2
    (vault_dir / journal.JOURNAL).write_bytes(journaled)  # as if killed before emptying it

    again = _unlocked(vault_dir, template_vault)
    assert again.catalog.count() == 2
    assert _exports(again, tmp_path) == sorted(_sha(s) for s in sources)
    assert again.verify().ok
    assert again.journal_entries() == []
    assert again.verify().unreferenced == 0, "the replaced unsigned manifests were kept"


def test_a_duplicate_is_dropped_without_touching_what_the_catalog_names(
    template_vault: Template, vault_dir: Path, tmp_path: Path
) -> None:
    source = make_pdf(tmp_path / "a.pdf", "twice")
    vault = Vault.open(vault_dir)
    _store(vault, source)
    _store(vault, source)
    vault = _unlocked(vault_dir, template_vault)
    assert vault.catalog.count() == 1
    result = vault.verify()
    assert result.ok and result.unreferenced == 0


# --- authentication of entries stored without the passphrase ------------------------


def test_the_signing_key_stays_on_this_computer(vault_dir: Path, tmp_path: Path) -> None:
    path = signing.key_path(vault_dir)
    assert path.stat().st_mode & 0o777 == 0o600
    key = signing.load(path)
    assert key is not None
    head = read_head(vault_dir / "head.json")
    assert head is not None and head[0].signer == key.public
    vault = Vault.open(vault_dir)
    _store(vault, make_pdf(tmp_path / "a.pdf", "signed"))
    (entry,) = vault.journal_entries()
    assert journal.check_entry(entry, key.public)
    snap = take_snapshot(vault)
    sent = [*snap.files, *snap.stored]
    assert sent and not [p for p in sent if "local" in p or "signing" in p], sent


def test_forged_journal_entries_are_set_aside_never_signed_or_listed(
    template_vault: Template, vault_dir: Path, tmp_path: Path
) -> None:
    vault = Vault.open(vault_dir)
    genuine = make_pdf(tmp_path / "genuine.pdf", "genuine referral")
    _store(vault, genuine)
    unsigned = _forge(vault, tmp_path, key=None)
    other = signing.create(tmp_path / "attacker.key")
    wrong_key = _forge(vault, tmp_path, key=other)
    entries = vault.journal_entries()
    tampered = dict(entries[0], size=entries[0]["size"] + 1)  # a genuine signature, altered entry
    journal.append(vault_dir / journal.JOURNAL, tampered)
    manifests_before = set(vault.manifests.ids())

    vault = _unlocked(vault_dir, template_vault)
    assert _exports(vault, tmp_path) == [_sha(genuine)]
    assert {m for m, _ in vault.set_aside} == {unsigned, wrong_key}
    assert all("not signed" in reason for _, reason in vault.set_aside)
    # Never signed: no new manifest for them; their files are kept, named.
    assert set(vault.manifests.ids()) - manifests_before <= {
        row["manifest"] for row in vault.documents()
    }
    assert vault.manifests.exists(unsigned) and vault.manifests.exists(wrong_key)
    assert {e["manifest"] for e in vault.set_aside_entries()} == {unsigned, wrong_key}
    assert all(e["reason"] for e in vault.set_aside_entries())
    assert vault.journal_entries() == []
    assert vault.verify().ok

    later = _unlocked(vault_dir, template_vault)
    assert later.catalog.count() == 1 and later.set_aside == []


def _make_legacy(vault_dir: Path, template: Template) -> None:
    """Make the vault as an older version left it: no signing key, a head naming none."""
    vault = _unlocked(vault_dir, template)
    head = read_head(vault_dir / "head.json")
    assert head is not None and vault.key is not None
    record = json.loads((vault_dir / "head.json").read_text())
    record.pop("signer")
    record["mac"] = vault.key.mac(replace(head[0], signer=None).body())
    (vault_dir / "head.json").write_text(json.dumps(record))
    shutil.rmtree(vault_dir / "local")
    for path in anchor.anchor_paths(vault_dir, vault.vault_id):  # came with signing keys
        path.unlink(missing_ok=True)


def test_a_vault_from_before_signing_keys_folds_its_entries_then_needs_signatures(
    template_vault: Template, vault_dir: Path, tmp_path: Path
) -> None:
    _make_legacy(vault_dir, template_vault)
    letter = make_pdf(tmp_path / "old.pdf", "stored before the upgrade")
    _store(Vault.open(vault_dir), letter)  # no key anywhere yet: an unsigned entry
    assert "sig" not in Vault.open(vault_dir).journal_entries()[0]

    upgraded = _unlocked(vault_dir, template_vault)
    assert _exports(upgraded, tmp_path) == [_sha(letter)]
    key = signing.load(signing.key_path(vault_dir))
    found = read_head(vault_dir / "head.json")
    assert key is not None and found is not None and found[0].signer == key.public

    unsigned = _forge(Vault.open(vault_dir), tmp_path, key=None)
    later = _unlocked(vault_dir, template_vault)
    assert later.catalog.count() == 1
    assert [m for m, _ in later.set_aside] == [unsigned]


def test_storing_without_the_named_signing_key_is_refused(
    template_vault: Template, vault_dir: Path, tmp_path: Path
) -> None:
    os.remove(signing.key_path(vault_dir))
    vault = Vault.open(vault_dir)
    with pytest.raises(MissingSigningKeyError):
        _store(vault, make_pdf(tmp_path / "a.pdf", "refused"))
    assert list(vault.objects.ids()) == [] and vault.journal_entries() == []

    _unlocked(vault_dir, template_vault).catalog
    key = signing.load(signing.key_path(vault_dir))
    found = read_head(vault_dir / "head.json")
    assert key is not None and found is not None and found[0].signer == key.public
    _store(Vault.open(vault_dir), make_pdf(tmp_path / "b.pdf", "accepted"))
    assert _unlocked(vault_dir, template_vault).catalog.count() == 1


def test_a_swapped_public_key_is_refused_before_anything_is_stored(
    vault_dir: Path, tmp_path: Path
) -> None:
    _, attacker = crypto.generate_identity()
    (vault_dir / "keys" / "data.pub").write_text(attacker + "\n")
    vault = Vault.open(vault_dir)
    with pytest.raises(IntegrityError, match=r"data\.pub"):
        _store(vault, make_pdf(tmp_path / "a.pdf", "not to the attacker"))
    assert list(vault.objects.ids()) == [] and vault.journal_entries() == []


def test_an_undecryptable_entry_is_set_aside_and_blocks_nothing(
    template_vault: Template, vault_dir: Path, tmp_path: Path
) -> None:
    genuine = make_pdf(tmp_path / "genuine.pdf", "genuine")
    _store(Vault.open(vault_dir), genuine)
    public = vault_dir / "keys" / "data.pub"
    real = public.read_text()
    _, attacker = crypto.generate_identity()
    public.write_text(attacker + "\n")
    foreign = Vault.open(vault_dir)
    foreign.config["vault_id"] = ""  # as the code before the vault-id check did
    _store(foreign, make_pdf(tmp_path / "f.pdf", "to the attacker"))
    foreign_manifest = foreign.journal_entries()[-1]["manifest"]
    public.write_text(real)

    vault = _unlocked(vault_dir, template_vault)
    assert _exports(vault, tmp_path) == [_sha(genuine)]
    assert [m for m, _ in vault.set_aside] == [foreign_manifest]
    assert "not encrypted to this vault's key" in vault.set_aside[0][1]
    assert _unlocked(vault_dir, template_vault).set_aside == []


def test_verify_entry_is_exposed_for_recovery() -> None:
    key = signing.create(Path(os.environ.get("TMPDIR", "/tmp")) / f"k-{os.getpid()}")
    entry = journal.new_entry("a" * 64, 1, {"b" * 64: 2}, signed=False, key=key)
    assert journal.check_entry(entry, key.public)
    assert not journal.check_entry(entry, None)
    assert not journal.check_entry({**entry, "objects": {}}, key.public)
    assert not journal.check_entry({**entry, "sig": "ed25519:AAAA"}, key.public)


def test_a_damaged_journal_line_is_set_aside_and_the_entries_around_it_folded(
    template_vault: Template, vault_dir: Path, tmp_path: Path
) -> None:
    sources = [make_pdf(tmp_path / f"{n}.pdf", f"letter {n}") for n in "ab"]
    vault = Vault.open(vault_dir)
    _store(vault, sources[0])
    with open(vault_dir / journal.JOURNAL, "ab") as f:
        f.write(b'{"manifest": "0123\n')
    _store(vault, sources[1])
    assert vault.journal_damage() == 1

    from sync.status import gather_status

    assert any("journal has 1 damaged" in w for w in gather_status(vault).warnings)
    unlocked = _unlocked(vault_dir, template_vault)
    assert _exports(unlocked, tmp_path) == sorted(_sha(s) for s in sources)
    assert unlocked.set_aside == [("damaged line", "a damaged journal line")]
    assert any("set aside" in w for w in gather_status(Vault.open(vault_dir)).warnings)


def test_lines_an_older_version_tore_on_a_full_disk_are_folded_from_their_manifests(
    template_vault: Template, vault_dir: Path, tmp_path: Path
) -> None:
    """The older version said "Stored" for a document whose journal line was
    torn, and glued the next one onto it: both documents are found."""
    _make_legacy(vault_dir, template_vault)
    sources = [make_pdf(tmp_path / f"{n}.pdf", f"letter {n}") for n in "abc"]
    vault = Vault.open(vault_dir)
    for source in sources:
        _store(vault, source)
    path = vault_dir / journal.JOURNAL
    first, torn, glued = path.read_bytes().splitlines()
    path.write_bytes(first + b"\n" + torn[: len(torn) * 2 // 3] + glued + b"\n")
    assert len(vault.journal_entries()) == 2

    unlocked = _unlocked(vault_dir, template_vault)
    assert _exports(unlocked, tmp_path) == sorted(_sha(s) for s in sources)
    assert unlocked.set_aside == []
    assert unlocked.verify().ok
