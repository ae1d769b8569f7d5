"""Batch scans through the CLI with the real tesseract: a pile of letters
scanned in one go with separator sheets is stored as one document per
letter, each found by its own words only; the batch file is kept whole;
blank backs are never given to tesseract; a watched inbox lets the batch
go only once every part is stored, and a run killed half way is finished
by the next one, storing every part once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from tests import batchscans, scans
from tests.conftest import PASSPHRASE
from vault.cli import cli

WORDS = list(batchscans.LETTERS)


def run(runner: CliRunner, vault_dir: Path, *args: str, unlocked: bool = True) -> Result:
    env = {"VAULT_PASSPHRASE": PASSPHRASE} if unlocked else {}
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=env)
    assert "Traceback" not in result.output, result.output
    return result


def found(runner: CliRunner, vault_dir: Path, word: str) -> set[str]:
    result = run(runner, vault_dir, "search", word, "--exact", "--json")
    assert result.exit_code == 0, result.output
    return {row["id"] for row in json.loads(result.stdout)}


def documents(runner: CliRunner, vault_dir: Path) -> list[dict[str, object]]:
    listed = run(runner, vault_dir, "list", "--json")
    rows = [
        run(runner, vault_dir, "show", row["id"], "--json") for row in json.loads(listed.stdout)
    ]
    return [json.loads(r.stdout) for r in rows]


def test_a_nine_page_batch_is_three_documents(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    pages, where = batchscans.nine_pages()
    batch = batchscans.write(tmp_path / "batch.pdf", pages)
    result = run(runner, vault_dir, "ingest", str(batch), "--keep-source")
    assert result.exit_code == 0, result.output
    assert "batch.pdf: 3 documents, pages 1-2, 4-6, 8-9" in result.stderr
    assert "batch.pdf pages 4-6: court-order, family F-0042" in result.stdout

    docs = {str(doc["name"]): doc for doc in documents(runner, vault_dir)}
    assert sorted(docs) == ["batch-p1-2.pdf", "batch-p4-6.pdf", "batch-p8-9.pdf"]
    for word, (first, last) in where.items():
        doc = docs[f"batch-p{first}-{last}.pdf"]
        assert doc["pages"] == last - first + 1
        assert doc["batch"]["pages"] == [first, last]  # type: ignore[index]
        assert found(runner, vault_dir, word) == {doc["id"]}, word  # its own words, no other's
        assert "Vault separator" not in " ".join(doc["text"])  # type: ignore[arg-type]
    court = docs["batch-p4-6.pdf"]
    assert (court["doc_type"], court["family"]) == ("court-order", "F-0042")  # from the sheet
    assert docs["batch-p8-9.pdf"]["family"] is None  # a plain sheet gives nothing

    shown = run(runner, vault_dir, "show", str(court["id"]))
    assert "pages 4-6 of the batch scanned on" in shown.stdout
    out = tmp_path / "again.pdf"
    exported = run(runner, vault_dir, "export", str(court["id"]), "--batch", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert out.read_bytes() == batch.read_bytes()
    refs = {doc["batch"]["object"] for doc in docs.values()}  # type: ignore[index]
    assert len(refs) == 1  # the batch is kept once

    again = run(runner, vault_dir, "ingest", str(batch), "--keep-source")
    assert again.exit_code == 0, again.output
    assert "3 duplicates" in again.stderr
    assert len(documents(runner, vault_dir)) == 3


def test_no_split_stores_the_batch_whole(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    a, b = batchscans.letter_pages(WORDS[0], 1)[0], batchscans.letter_pages(WORDS[1], 1)[0]
    batch = batchscans.write(tmp_path / "batch.pdf", [a, scans.separator_page(), b])
    result = run(runner, vault_dir, "ingest", str(batch), "--keep-source", "--no-split")
    assert result.exit_code == 0, result.output
    (doc,) = documents(runner, vault_dir)
    assert (doc["pages"], doc["batch"], doc["name"]) == (3, None, "batch.pdf")
    assert found(runner, vault_dir, WORDS[0]) == found(runner, vault_dir, WORDS[1]) == {doc["id"]}


@pytest.fixture
def counted_tesseract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``tesseract`` first on PATH that notes the image it is given in a
    log, then runs the real one."""
    import shutil

    real = shutil.which("tesseract")
    assert real is not None
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "tesseract-calls.log"
    wrapper = folder / "tesseract"
    wrapper.write_text(
        f'#!/bin/sh\nbasename "$1" >> "{log}"\nexec "{real}" "$@"\n', encoding="utf-8"
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return log


def test_blank_backs_are_not_ocrd_and_split_only_when_asked(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, counted_tesseract: Path
) -> None:
    a, b = batchscans.letter_pages(WORDS[0], 1)[0], batchscans.letter_pages(WORDS[1], 1)[0]
    blank = scans.blank_page(noisy=True)
    duplex = batchscans.write(tmp_path / "duplex.pdf", [a, blank, scans.separator_page(), b, blank])
    result = run(runner, vault_dir, "ingest", str(duplex), "--keep-source")
    assert result.exit_code == 0, result.output
    assert "duplex.pdf: 2 documents, pages 1-2, 4-5" in result.stderr
    calls = counted_tesseract.read_text().split()
    assert calls and all(name.startswith("page-0001") for name in calls), calls  # page 2: blank
    docs = sorted(documents(runner, vault_dir), key=lambda d: str(d["name"]))
    assert [d["pages"] for d in docs] == [2, 2]  # blank backs stay in the original
    assert all(d["text"][1] == "" for d in docs)  # type: ignore[index]

    simplex = batchscans.write(
        tmp_path / "simplex.pdf", [batchscans.letter_pages(WORDS[2], 1)[0], blank, a]
    )
    split = run(runner, vault_dir, "ingest", str(simplex), "--keep-source", "--split-on-blank")
    assert "simplex.pdf: 2 documents, pages 1, 3" in split.stderr, split.output
    assert len(found(runner, vault_dir, WORDS[2])) == 1
    assert len(found(runner, vault_dir, WORDS[0])) == 2  # in the duplex batch and here


def test_empty_parts_are_warned_of_and_nothing_is_quarantined(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    sheet = scans.separator_page(dpi=200)
    a = batchscans.letter_pages(WORDS[0], 1, dpi=200)[0]
    batch = batchscans.write(tmp_path / "b.pdf", [sheet, a, sheet, sheet], dpi=200)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    batch.rename(inbox / "b.pdf")
    result = run(runner, vault_dir, "watch", str(inbox), "--once", "--settle", "0")
    assert result.exit_code == 0, result.output
    assert "warning: b.pdf: 1 document, pages 2" in result.stderr
    assert "no pages between the separators on pages 3 and 4" in result.stderr
    assert "no pages after the separator on page 4" in result.stderr
    assert list(inbox.iterdir()) == []  # stored: out of the inbox
    assert len(documents(runner, vault_dir)) == 1


def test_a_watched_batch_killed_half_way_is_finished_by_the_next_run(
    vault_dir: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pages = []
    for word in WORDS:
        pages += [scans.separator_page(dpi=200), batchscans.letter_pages(word, 1, dpi=200)[0]]
    batchscans.write(inbox / "batch.pdf", pages, dpi=200)
    argv = [sys.executable, "-m", "vault", "--vault", str(vault_dir), "watch", str(inbox)]
    argv += ["--once", "--settle", "0"]
    env = {**os.environ, "VAULT_PASSPHRASE": PASSPHRASE}
    objects = vault_dir / "objects"

    def count() -> int:
        return sum(1 for p in objects.rglob("*") if p.is_file())

    before = count()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and child.poll() is None:
        if count() >= before + 2:
            break  # the batch's object and the first part's are written, the rest not yet
        time.sleep(0.02)
    assert child.poll() is None, child.communicate()
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert (inbox / "batch.pdf").exists()  # not every part was stored: the batch stays

    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert not (inbox / "batch.pdf").exists()
    runner = CliRunner()
    docs = documents(runner, vault_dir)
    assert sorted(str(d["name"]) for d in docs) == ["batch-p2.pdf", "batch-p4.pdf", "batch-p6.pdf"]
    assert len({d["batch"]["object"] for d in docs}) == 1  # type: ignore[index]
    for word in WORDS:
        assert len(found(runner, vault_dir, word)) == 1


def test_separator_sheets_say_in_words_and_code_what_comes_next(
    runner: CliRunner, tmp_path: Path
) -> None:
    import pypdfium2

    from vault.barcodes import read_codes

    out = tmp_path / "sheets.pdf"
    made = runner.invoke(
        cli, ["separator-sheet", "--out", str(out), "--type", "court-order", "--family", "f42",
              "--copies", "3"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    document = pypdfium2.PdfDocument(out)
    try:
        assert len(document) == 3
        page = document[0]
        text = " ".join(page.get_textpage().get_text_bounded().split())
        assert "Vault separator" in text and "court order for family F-0042" in text
        assert read_codes(page.render(scale=150 / 72).to_pil()) == [
            "VAULTSEP1;T=court-order;F=F-0042"
        ]
    finally:
        document.close()
    named = runner.invoke(cli, ["separator-sheet", "--out", str(tmp_path / "x.pdf"),
                                "--family", "Smith"])  # fmt: skip
    assert named.exit_code == 2 and "a family reference is F- and digits" in named.output
    assert not (tmp_path / "x.pdf").exists()
    again = runner.invoke(cli, ["separator-sheet", "--out", str(out)])
    assert again.exit_code != 0 and "Traceback" not in again.output  # never overwritten


def test_a_scan_of_nothing_but_sheets_is_no_document(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    sheet = scans.separator_page(dpi=150)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sheets = batchscans.write(inbox / "sheets.pdf", [sheet, sheet, sheet], dpi=150)
    result = run(runner, vault_dir, "ingest", str(sheets), "--keep-source")
    assert result.exit_code == 6, result.output
    assert "nothing but separator sheets: no document in it" in result.output
    assert sheets.exists() and documents(runner, vault_dir) == []
    watched = run(runner, vault_dir, "watch", str(inbox), "--once", "--settle", "0")
    assert "nothing but separator sheets" in watched.output
    assert list(inbox.iterdir()) == [] and documents(runner, vault_dir) == []  # quarantined


def test_a_sheet_naming_a_person_or_an_unknown_type_gives_nothing(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    import segno

    code = tmp_path / "qr.png"
    segno.make("VAULTSEP1;T=JaneSmith;F=Jane Smith", error="m").save(code, kind="png", scale=12)
    sheet = scans.blank_page(dpi=200)
    with Image.open(code) as qr:
        sheet.paste(qr.convert("L"), (200, 400))
    a, b = (batchscans.letter_pages(word, 1, dpi=200)[0] for word in WORDS[:2])
    batch = batchscans.write(tmp_path / "b.pdf", [a, sheet, b], dpi=200)
    result = run(runner, vault_dir, "ingest", str(batch), "--keep-source")
    assert result.exit_code == 0, result.output
    assert "b.pdf: 2 documents, pages 1, 3" in result.stderr
    assert "JaneSmith" not in result.output and "Jane Smith" not in result.output
    docs = {str(d["name"]): d for d in documents(runner, vault_dir)}
    assert docs["b-p3.pdf"]["doc_type"] in ("referral", "court-order", "letter", "other")
    assert docs["b-p3.pdf"]["family"] is None
