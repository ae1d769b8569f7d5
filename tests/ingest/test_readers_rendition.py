"""The searchable PDF made from a document's text: any Unicode, pages of text."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pypdfium2
import pytest

from ingest.readers.rendition import render_pdf
from vault.errors import UnreadableInputError


def pdf_text(path: Path) -> list[str]:
    document = pypdfium2.PdfDocument(path)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def test_text_in_many_scripts_is_searchable(tmp_path: Path) -> None:
    out = tmp_path / "r.pdf"
    text = "Zoë’s “visit” £12 € — Ελένη Пётр\ttab\x07bell\u200b"
    pages = render_pdf([text, "second section"], out, max_pages=5)
    assert (out.stat().st_mode & 0o777) == 0o600
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 1 == len(pages)
    (shown,) = pdf_text(out)
    for word in ("Zoë’s", "“visit”", "£12", "€", "Ελένη", "Пётр", "second section"):
        assert word in shown and word in pages[0]
    assert "\x07" not in pages[0]


def test_long_text_runs_over_pages_and_each_page_has_its_own_text(tmp_path: Path) -> None:
    out = tmp_path / "r.pdf"
    lines = [f"line {n:03d} " + "word " * 30 for n in range(200)]
    pages = render_pdf(["\n".join(lines)], out, max_pages=50)
    shown = pdf_text(out)
    assert len(pages) == len(shown) > 1
    assert "line 000" in shown[0] and "line 199" in shown[-1] and "line 199" in pages[-1]
    assert "line 199" not in pages[0]


def test_too_many_pages(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match="more than 2 pages"):
        render_pdf(["x\n" * 500], tmp_path / "r.pdf", max_pages=2)


def test_helvetica_widths_are_fpdf2s() -> None:
    from fpdf import FPDF

    from ingest.readers.rendition import FONT_SIZE, HELVETICA, POINTS, WESTERN

    pdf = FPDF(unit="mm")
    pdf.core_fonts_encoding = WESTERN
    pdf.set_font("Helvetica", size=FONT_SIZE)
    measured = 0
    for code, thousandths in enumerate(HELVETICA, 32):
        try:
            char = bytes([code]).decode(WESTERN)
        except UnicodeDecodeError:
            assert thousandths == 0
            continue
        assert thousandths * FONT_SIZE * 0.001 / POINTS == pdf.get_string_width(char), char
        measured += 1
    assert measured == 219


def test_western_text_is_a_sound_pdf_set_where_fpdf2_sets_it(tmp_path: Path) -> None:
    """The Helvetica PDF written without fpdf2: every object where the table
    says, qpdf finds nothing wrong, the text comes back whole (escapes, € and
    £), and each line sits where fpdf2 puts the same line."""
    from fpdf import FPDF

    from ingest.readers.rendition import BASELINE, LINE_HEIGHT, MARGIN

    out = tmp_path / "r.pdf"
    tricky = "a (paren) and a \\ backslash: £12, €5, “quoted” — ‘done’ ()"
    pages = render_pdf([tricky + "\n" + "word " * 40, "line\n" * 60], out, max_pages=5)
    assert len(pages) == 2 and pages[0].startswith(tricky)
    data = out.read_bytes()
    table = data[int(data.rsplit(b"startxref\n", 1)[1].split()[0]) :]
    assert table.startswith(b"xref\n0 ")
    entries = table.split(b"\n")[3:]
    count = int(table.split(b"\n")[1].split()[1])
    for number, entry in enumerate(entries[: count - 1], 1):
        assert data[int(entry[:10]) :].startswith(b"%d 0 obj\n" % number)
    with pikepdf.open(out, attempt_recovery=False) as pdf:
        assert pdf.check_pdf_syntax() == []
        assert len(pdf.pages) == 2
        assert str(pdf.docinfo["/Producer"]) == "centre vault"
    shown = pdf_text(out)
    assert tricky in shown[0].replace("\r\n", "\n")
    assert shown[1].split() == pages[1].split()

    reference = FPDF(format="A4", unit="mm")
    reference.core_fonts_encoding = "windows-1252"
    reference.set_font("Helvetica", size=10)
    reference.add_page()
    for number, line in enumerate(pages[0].split("\n")):
        if line:
            reference.text(MARGIN, MARGIN + number * LINE_HEIGHT + BASELINE, line)
    reference.output(str(tmp_path / "fpdf.pdf"))
    ours, theirs = pypdfium2.PdfDocument(out), pypdfium2.PdfDocument(tmp_path / "fpdf.pdf")
    try:
        mine, expected = ours[0].get_textpage(), theirs[0].get_textpage()
        assert mine.get_text_range() == expected.get_text_range()
        for index in range(0, mine.count_chars(), 7):
            box, box_expected = mine.get_charbox(index), expected.get_charbox(index)
            assert all(abs(a - b) < 0.02 for a, b in zip(box, box_expected, strict=True))
    finally:
        ours.close()
        theirs.close()
