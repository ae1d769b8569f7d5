"""Born-digital documents through `vault ingest` and `vault watch`: stored,
found by `vault search` on words of their body, exported as a searchable
PDF any reader opens; hostile ones refused with the reason, the batch going on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE, make_pdf
from tests.ingest.documents import (
    cp1252_text,
    hostile_html,
    lying_docx,
    not_really_word,
    open_odt,
    rtf_file,
    truncated_docx,
    utf16_text,
    word97_doc,
    word_docx,
)
from vault.cli import cli

ENV = {"VAULT_PASSPHRASE": PASSPHRASE}
# file -> words of its body a search must find
GOOD = {
    "referral.docx": ["walrus", "penguin", "otter", "badger"],
    "order.odt": ["llama", "koala", "hedgehog", "fox"],
    "fees.txt": ["marmot", "yak"],
    "letter.txt": ["zebra", "Zoë"],
    "visit.html": ["giraffe", "ibis"],
    "note.rtf": ["heron", "euro"],
    "letter.doc": ["narwhal", "pelican"],
    "minutes.md": ["quokka"],
    "rota.csv": ["Haddock"],
}
HIDDEN_IN_HTML = ["scriptword", "stylecolour", "noscriptword", "templateword", "commentword"]


def run(
    runner: CliRunner, vault_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def write_good(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    word_docx(folder / "referral.docx")
    open_odt(folder / "order.odt")
    cp1252_text(folder / "fees.txt")
    utf16_text(folder / "letter.txt")
    hostile_html(folder / "visit.html")
    rtf_file(folder / "note.rtf")
    word97_doc(folder / "letter.doc")
    (folder / "minutes.md").write_text("# Minutes\n\nThe quokka came to the centre.\n")
    (folder / "rota.csv").write_text("name,day\nHaddock,Monday\n")


def write_hostile(folder: Path, zip_bomb: Path) -> dict[str, str]:
    """Hostile files -> words their reason must contain."""
    truncated_docx(folder / "cut.docx")
    shutil.copyfile(zip_bomb, folder / "bomb.docx")
    lying_docx(folder / "liar.docx")
    return {"cut.docx": "damaged or cut short", "bomb.docx": "zip bomb", "liar.docx": "zip"}


def found(runner: CliRunner, vault_dir: Path, word: str) -> list[str]:
    result = run(runner, vault_dir, "search", word, "--json", env=ENV)
    assert result.exit_code == 0, result.output
    return [row["name"] for row in json.loads(result.stdout)]


def pdf_text(path: Path) -> str:
    with pikepdf.open(path) as pdf:  # a PDF any reader opens
        assert len(pdf.pages) >= 1
    document = pypdfium2.PdfDocument(path)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def ids_by_name(runner: CliRunner, vault_dir: Path) -> dict[str, str]:
    rows = json.loads(run(runner, vault_dir, "list", "--json", env=ENV).stdout)
    return {row["name"]: row["id"] for row in rows}


def test_ingest_stores_documents_searchable_and_leaves_hostile_ones_in_place(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, zip_bomb: Path
) -> None:
    folder = tmp_path / "post"
    write_good(folder)
    hostile = write_hostile(folder, zip_bomb)
    not_really_word(folder / "old.doc")  # antiword cannot read it: stored with a note
    before = {name: (folder / name).read_bytes() for name in hostile}

    result = run(runner, vault_dir, "ingest", str(folder))

    assert result.exit_code == 6, result.output
    for name, why in hostile.items():
        line = next(x for x in result.stderr.splitlines() if x.startswith(f"not stored: {name}: "))
        assert why in line, line
        assert (folder / name).read_bytes() == before[name]  # left in place, byte for byte
    assert not (tmp_path / "quarantine").exists()
    stored = ids_by_name(runner, vault_dir)
    assert set(stored) == {*GOOD, "old.doc"}  # the batch went on past each hostile file
    (doc_line,) = [x for x in result.stdout.splitlines() if "  old.doc: " in x]
    assert "(no text could be taken: " in doc_line
    for name, words in GOOD.items():
        for word in words:
            assert found(runner, vault_dir, word) == [name], (name, word)
    for word in HIDDEN_IN_HTML:
        assert found(runner, vault_dir, word) == []
    shown = run(runner, vault_dir, "show", stored["old.doc"], env=ENV)
    assert "Word 97-2003 document" in shown.output and "no text could be taken" in shown.output

    # every document with text has a searchable PDF that any reader opens
    for name, words in GOOD.items():
        out = tmp_path / "out" / f"{name}.pdf"
        out.parent.mkdir(exist_ok=True)
        got = run(runner, vault_dir, "export", stored[name], "--searchable", "--out", str(out),
                  "--purpose", "other", env=ENV)  # fmt: skip
        assert got.exit_code == 0, got.output
        text = pdf_text(out)
        for word in words:
            assert word in text, (name, word)
    original = tmp_path / "out" / "original.docx"
    got = run(runner, vault_dir, "export", stored["referral.docx"], "--out", str(original),
              "--purpose", "other", env=ENV)  # fmt: skip
    assert got.exit_code == 0 and original.read_bytes() == (folder / "referral.docx").read_bytes()


def test_a_pdf_with_its_own_text_exports_as_its_searchable_version(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    pdf = make_pdf(tmp_path / "born.pdf", "Born digital pelican")
    assert run(runner, vault_dir, "ingest", str(pdf)).exit_code == 0
    doc = ids_by_name(runner, vault_dir)["born.pdf"]
    out = tmp_path / "searchable.pdf"
    got = run(runner, vault_dir, "export", doc, "--searchable", "--out", str(out),
              "--purpose", "other", env=ENV)  # fmt: skip
    assert got.exit_code == 0, got.output
    assert "pelican" in pdf_text(out) and out.read_bytes() == pdf.read_bytes()


def test_watch_stores_documents_and_quarantines_hostile_ones(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, zip_bomb: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    word_docx(inbox / "referral.docx")
    hostile_html(inbox / "visit.html")
    hostile = write_hostile(inbox, zip_bomb)

    result = run(runner, vault_dir, "watch", str(inbox), "--once", "--settle", "0.1")

    assert result.exit_code == 6, result.output
    quarantine = tmp_path / "quarantine"
    for name, why in hostile.items():
        line = next(x for x in result.stderr.splitlines() if x.startswith(f"quarantined: {name}: "))
        assert why in line, line
        reason = (quarantine / f"{name}.age.reason.txt").read_text()
        assert why in reason
    assert list(inbox.iterdir()) == []  # stored ones deleted, hostile ones moved
    assert found(runner, vault_dir, "walrus") == ["referral.docx"]
    assert found(runner, vault_dir, "giraffe") == ["visit.html"]
    assert found(runner, vault_dir, "scriptword") == []


def test_ingest_help_lists_the_types(runner: CliRunner, vault_dir: Path) -> None:
    shown = " ".join(run(runner, vault_dir, "ingest", "--help").output.split())
    kinds = ("PDF", "TIFF", "JPEG", "PNG", "Text files", "HTML", "Word (.docx, .doc)",
             "OpenDocument (.odt)", "RTF", "not stored: NAME: why", "exit status 6")  # fmt: skip
    for kind in kinds:
        assert kind in shown, kind
    assert "--quarantine" not in shown  # ingest moves nothing there


@pytest.mark.parametrize("name", ["cut.docx", "bomb.docx"])
def test_one_hostile_file_alone_exit_6_and_untouched(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, zip_bomb: Path, name: str
) -> None:
    hostile = write_hostile(tmp_path, zip_bomb)
    path = tmp_path / name
    before = path.read_bytes()
    result = run(runner, vault_dir, "ingest", str(path), "--remove-source")
    assert result.exit_code == 6
    assert result.stderr.splitlines()[0].startswith(f"not stored: {name}: ")
    assert hostile[name] in result.stderr
    assert path.read_bytes() == before  # --remove-source deletes only what was stored
