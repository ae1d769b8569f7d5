"""A searchable PDF made from a document's text (fpdf2), for documents that
come as text rather than pages: a text file, a web page, a Word document.

It is a rendition, not a copy: A4 pages of the text in one plain font,
line after line, wrapped at the margin, each section after a blank line.
Any PDF reader opens, searches and copies it, and `vault export
--searchable` writes it. The text is set in DejaVu Sans (Debian's
``fonts-dejavu-core``, installed by ``scripts/setup``), which covers the
Latin, Greek and Cyrillic alphabets and many symbols; a character it lacks
shows as a box (the vault's own index still has it). On a computer without
that font, text that Latin-1 can write is set in the PDF's built-in
Helvetica, and other characters as "?" (the index keeps them).

``render_pdf`` returns the text of each page it laid out: the manifest
keeps those, so "page 3" in `vault show` is page 3 of the PDF.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from pathlib import Path
from typing import cast

from vault.errors import UnreadableInputError
from vault.fsutil import FILE_MODE

FONT_FILES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/local/share/fonts/DejaVuSans.ttf"),
    Path("/Library/Fonts/DejaVuSans.ttf"),
    Path(os.environ.get("WINDIR", "C:/Windows")) / "Fonts" / "DejaVuSans.ttf",
)
FONT_SIZE = 10  # points
LINE_HEIGHT = 5  # millimetres
MARGIN = 20  # millimetres
TAB = "    "


def font_file() -> Path | None:
    return next((path for path in FONT_FILES if path.is_file()), None)


def _printable(line: str) -> str:
    """``line`` without control characters (a tab as spaces)."""
    line = line.replace("\t", TAB)
    return "".join(c for c in line if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co"))


def render_pdf(sections: list[str], out: Path, *, max_pages: int) -> list[str]:
    """Lay ``sections`` out as a PDF at ``out`` (mode 0600); the text of each
    page. Refuses (``UnreadableInputError``) text longer than ``max_pages``."""
    from fpdf import FPDF

    logging.getLogger("fpdf").setLevel(logging.ERROR)  # missing glyphs: boxes, said above
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_creator("centre vault")
    pdf.set_producer("centre vault")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(False)
    font = font_file()
    if font is not None:
        pdf.add_font("DejaVuSans", "", str(font))
        pdf.set_font("DejaVuSans", size=FONT_SIZE)
    else:
        pdf.set_font("Helvetica", size=FONT_SIZE)
    bottom = pdf.h - MARGIN
    pages: list[list[str]] = []

    def new_page() -> None:
        if len(pages) >= max_pages:
            raise UnreadableInputError(
                f"its text runs to more than {max_pages} pages (the most the vault takes; "
                "see --max-pages)"
            )
        pdf.add_page()
        pages.append([])

    new_page()
    first = True
    for section in sections:
        if not first:
            lines = [""]
        else:
            lines, first = [], False
        for paragraph in section.split("\n"):
            text = _printable(paragraph).rstrip()
            if font is None:
                text = text.encode("latin-1", "replace").decode("latin-1")
            if not text:
                lines.append("")
                continue
            wrapped = pdf.multi_cell(0, LINE_HEIGHT, text, dry_run=True, output="LINES")
            lines.extend(cast("list[str]", wrapped))
        for line in lines:
            if pdf.get_y() + LINE_HEIGHT > bottom:
                new_page()
            pdf.cell(0, LINE_HEIGHT, line, new_x="LMARGIN", new_y="NEXT")
            pages[-1].append(line)
    data = bytes(pdf.output())
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return ["\n".join(page).strip("\n") for page in pages]
