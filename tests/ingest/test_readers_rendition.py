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
