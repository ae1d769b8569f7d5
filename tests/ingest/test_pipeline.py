"""Ingesting files into a real vault with the real OCR (tesseract): bad input
is left where it is (or, for the watched inbox, quarantined) and the batch
goes on; documents get a type, family and fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ingest.pipeline import (
    Ingested,
    IngestReport,
    Quarantined,
    Refused,
    Skipped,
    collect,
    ingest_paths,
)
from ingest.quarantine import export_quarantined, reason_file
from ingest.settings import ingest_settings
from tests.conftest import CANARY, PASSPHRASE, make_pdf
from tests.ingest.inputs import BAD_INPUTS, pages_pdf, scan_png, write_bad_inputs
from vault.repository import Vault

REFERRAL = "REFERRAL FORM. Referral number: REF-2026-0193. F-0042. 12/11/2026"


@pytest.fixture(autouse=True)
def private_tmpfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """OCR work folders go here, so the tests can see they are removed."""
    folder = tmp_path / "runtime"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    return folder


def run(
    vault_dir: Path,
    paths: list[Path],
    *,
    unlock: bool = False,
    quarantine_refused: bool = False,
    **options: Any,
) -> IngestReport:
    vault = Vault.open(vault_dir)
    settings = ingest_settings(vault_dir, vault.config, **options)
    with vault.lock:
        if unlock:
            vault.unlock(PASSPHRASE)
        report = ingest_paths(
            vault, collect(paths), settings, quarantine_refused=quarantine_refused
        )
        if unlock:
            vault.fold_journal()
    return report


def documents(vault_dir: Path) -> list[dict[str, object]]:
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        return list(vault.documents())


def no_plaintext_in(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def test_bad_inputs_are_left_where_they_are_and_the_rest_stored(
    vault_dir: Path, tmp_path: Path, private_tmpfs: Path
) -> None:
    inbox = tmp_path / "in"
    bad = write_bad_inputs(inbox)
    before = {name: path.read_bytes() for name, path in bad.items()}
    make_pdf(inbox / "good.pdf", REFERRAL)

    report = run(vault_dir, [inbox])

    assert [o.path.name for o in report.stored] == ["good.pdf"]
    refused = {o.path.name: o for o in report.refused}
    assert set(refused) == set(BAD_INPUTS) and not report.quarantined and not report.skipped
    for name, outcome in refused.items():
        assert isinstance(outcome, Refused)
        assert bad[name].read_bytes() == before[name]  # untouched, byte for byte
        assert BAD_INPUTS[name][1] in outcome.reason
        assert outcome.message() == f"not stored: {name}: {outcome.reason}"
    assert not (tmp_path / "quarantine").exists()
    no_plaintext_in(vault_dir)
    assert list(private_tmpfs.iterdir()) == []  # OCR work folders removed
    assert [d["name"] for d in documents(vault_dir)] == ["good.pdf"]


def test_bad_inputs_are_quarantined_when_asked_and_the_rest_stored(
    vault_dir: Path, tmp_path: Path, private_tmpfs: Path
) -> None:
    inbox = tmp_path / "in"
    bad = write_bad_inputs(inbox)
    make_pdf(inbox / "good.pdf", REFERRAL)

    report = run(vault_dir, [inbox], quarantine_refused=True)

    assert [o.path.name for o in report.stored] == ["good.pdf"]
    quarantined = {o.path.name: o for o in report.quarantined}
    assert set(quarantined) == set(BAD_INPUTS)
    assert not report.skipped
    folder = tmp_path / "quarantine"
    for name, outcome in quarantined.items():
        assert not bad[name].exists()
        assert outcome.moved_to == folder / f"{name}.age"  # kept encrypted
        note = reason_file(outcome.moved_to).read_text()
        assert outcome.reason in note and outcome.reason.strip()
        assert BAD_INPUTS[name][1] in outcome.reason
        assert CANARY not in note
        assert (outcome.moved_to.stat().st_mode & 0o777) == 0o600
    assert (folder.stat().st_mode & 0o777) == 0o700
    no_plaintext_in(folder)
    assert (inbox / "good.pdf").exists()  # stored sources stay where they are
    no_plaintext_in(vault_dir)
    assert list(private_tmpfs.iterdir()) == []  # OCR work folders removed
    assert [d["name"] for d in documents(vault_dir)] == ["good.pdf"]


def test_locked_ingest_reads_type_family_and_fields(vault_dir: Path, tmp_path: Path) -> None:
    report = run(vault_dir, [make_pdf(tmp_path / "r.pdf", REFERRAL)])
    assert len(report.stored) == 1
    (doc,) = documents(vault_dir)
    assert doc["id"] == report.stored[0].stored.doc_id
    assert (doc["doc_type"], doc["family"], doc["pages"]) == ("referral", "F-0042", 1)
    fields = doc["fields"]
    assert isinstance(fields, dict)
    assert fields["referral_number"] == "REF-2026-0193"
    assert fields["dates"] == ["2026-11-12"]
    assert fields["ocr_confidence"] == [None]  # born-digital text: no OCR


def test_given_type_and_family_win(vault_dir: Path, tmp_path: Path) -> None:
    run(
        vault_dir,
        [make_pdf(tmp_path / "r.pdf", REFERRAL)],
        doc_type="letter",
        family="F-9999",
    )
    (doc,) = documents(vault_dir)
    assert (doc["doc_type"], doc["family"]) == ("letter", "F-9999")


def test_max_pages(vault_dir: Path, tmp_path: Path) -> None:
    long = pages_pdf(tmp_path / "bundle.pdf", 3)
    report = run(vault_dir, [long], max_pages=2, quarantine_refused=True)
    (outcome,) = report.outcomes
    assert isinstance(outcome, Quarantined) and not long.exists()
    back = tmp_path / "back.pdf"
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        export_quarantined(vault, outcome.moved_to, back)
    (refused,) = run(vault_dir, [back], max_pages=2).outcomes
    assert isinstance(refused, Refused) and "more than 2 pages" in refused.reason
    report = run(vault_dir, [back], max_pages=3)
    assert isinstance(report.outcomes[0], Ingested)
    assert documents(vault_dir)[0]["pages"] == 3


def test_same_content_twice_in_one_batch_is_stored_once(vault_dir: Path, tmp_path: Path) -> None:
    a = make_pdf(tmp_path / "a.pdf", "the same letter")
    b = tmp_path / "b.pdf"
    b.write_bytes(a.read_bytes())
    report = run(vault_dir, [a, b])
    first, second = report.outcomes
    assert isinstance(first, Ingested) and isinstance(second, Ingested)
    assert second.duplicate and second.stored.doc_id == first.stored.doc_id
    assert len(Vault.open(vault_dir).journal_entries()) == 1


def test_unlocked_ingest_finds_what_is_already_stored(vault_dir: Path, tmp_path: Path) -> None:
    a = make_pdf(tmp_path / "a.pdf", "stored before")
    first = run(vault_dir, [a], unlock=True).outcomes[0]
    again = run(vault_dir, [a], unlock=True).outcomes[0]
    assert isinstance(first, Ingested) and isinstance(again, Ingested)
    assert again.duplicate and again.stored.doc_id == first.stored.doc_id
    assert f"a duplicate of {first.stored.doc_id}" in again.message()


def test_symlinks_and_missing_paths_are_skipped_not_moved(vault_dir: Path, tmp_path: Path) -> None:
    target = make_pdf(tmp_path / "target.pdf", "x")
    link = tmp_path / "link.pdf"
    link.symlink_to(target)
    report = run(vault_dir, [link, tmp_path / "missing.pdf"])
    assert [type(o) for o in report.outcomes] == [Skipped, Skipped]
    assert link.is_symlink() and not (tmp_path / "quarantine").exists()


def test_a_scan_is_read_and_understood(vault_dir: Path, tmp_path: Path) -> None:
    """One real OCR run (tesseract) on a small 150 dpi scan."""
    scan = scan_png(tmp_path / "order.png")
    report = run(vault_dir, [scan])
    assert len(report.stored) == 1, report.outcomes
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        (doc,) = vault.documents()
        text = "\n".join(vault.text(doc["id"]))
    assert "FAMILY COURT" in text
    assert (doc["doc_type"], doc["family"], doc["media_type"]) == (
        "court-order",
        "F-0042",
        "image/png",
    )
    assert doc["fields"]["case_number"] == "NT26P00412"
    assert "2026-11-12" in doc["fields"]["dates"]
    (confidence,) = doc["fields"]["ocr_confidence"]
    assert 50 < confidence <= 100
    assert doc["searchable"] is not None
    assert json.dumps(doc["fields"])  # manifest fields are plain JSON


def _first_commit_fails(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first group commit's journal write fails as on a full disk; the
    list it returns collects the number of entries each commit writes."""
    import errno

    from vault import group_commit

    real = group_commit.journals.append_all
    commits: list[int] = []

    def first_fails(path: Path, entries: list[dict[str, Any]]) -> None:
        commits.append(len(entries))
        if len(commits) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, entries)

    monkeypatch.setattr(group_commit.journals, "append_all", first_fails)
    return commits


def test_a_batch_that_cannot_be_recorded_fails_each_of_its_files(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its outcomes are handed on only after the commit, as ``Failed``; a copy
    of one of its files met later in the run is stored, not taken for a
    duplicate of a document that never was."""
    from ingest.pipeline import Failed, Ingested, Ingester, Outcome, store_batches

    a = make_pdf(tmp_path / "a.pdf", "letter a")
    make_pdf(tmp_path / "b.pdf", "letter b")
    (tmp_path / "copy.pdf").write_bytes(a.read_bytes())
    (tmp_path / "again.pdf").write_bytes(a.read_bytes())
    commits = _first_commit_fails(monkeypatch)
    vault = Vault.open(vault_dir)
    ingester = Ingester(ingest_settings(vault_dir, vault.config))
    delivered: list[Outcome] = []
    with vault.lock, store_batches(vault, ingester, delivered.append, size=2) as batches:
        for name in ("a.pdf", "copy.pdf"):
            batches.add(ingester.ingest_file(vault, tmp_path / name))
        assert delivered == []  # nothing handed on before the batch's commit
        batches.add(ingester.ingest_file(vault, tmp_path / "b.pdf"))  # two stored: commit
        assert len(delivered) == 3
        batches.add(ingester.ingest_file(vault, tmp_path / "again.pdf"))
    assert [type(o) for o in delivered] == [Failed, Failed, Failed, Ingested]
    assert all("disk full" in o.reason for o in delivered[:3] if isinstance(o, Failed))
    again = delivered[3]
    assert isinstance(again, Ingested) and not again.duplicate
    assert commits == [2, 1]
    assert len(Vault.open(vault_dir).journal_entries()) == 1


def test_a_batch_scan_in_a_batch_that_cannot_be_recorded_fails_whole(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch scan split into documents is handed on as ``Failed`` when the
    batch its parts are in cannot be recorded (so ``vault watch`` keeps the
    scan in the inbox), and the same scan met again is split and stored."""
    from ingest.batch import Split
    from ingest.pipeline import Failed, Ingester, Outcome, store_batches
    from tests import batchscans, scans

    first, second = list(batchscans.LETTERS)[:2]
    a, b = batchscans.letter_pages(first, 1)[0], batchscans.letter_pages(second, 1)[0]
    batch = batchscans.write(tmp_path / "batch.pdf", [a, scans.separator_page(), b])
    (tmp_path / "again.pdf").write_bytes(batch.read_bytes())
    commits = _first_commit_fails(monkeypatch)
    vault = Vault.open(vault_dir)
    ingester = Ingester(ingest_settings(vault_dir, vault.config))
    delivered: list[Outcome] = []
    with vault.lock, store_batches(vault, ingester, delivered.append, size=2) as batches:
        batches.add(ingester.ingest_file(vault, batch))
        assert len(delivered) == 1 and isinstance(delivered[0], Failed)
        batches.add(ingester.ingest_file(vault, tmp_path / "again.pdf"))
    again = delivered[1]
    assert isinstance(again, Split) and not again.duplicate and len(again.parts) == 2
    assert commits == [2, 2]
