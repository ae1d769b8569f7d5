"""A searchable PDF made from a document's text (fpdf2), for documents that
come as text rather than pages: a text file, a web page, a Word document.

It is a rendition, not a copy: A4 pages of the text in one plain font,
line after line, wrapped at the margin, each section after a blank line.
Any PDF reader opens, searches and copies it, and `vault export
--searchable` writes it. Text that Windows-1252 can write (English and
Western European text, typographic quotes and dashes, £ and €) is set in
Helvetica, one of the fonts every PDF reader has (nothing embedded: small
and quick to make). Any other text is set in DejaVu Sans (Debian's
``fonts-dejavu-core``, installed by ``scripts/setup``), embedded, which
covers the Latin, Greek and Cyrillic alphabets and many symbols; a
character it lacks shows as a box (the vault's own index still has it). On
a computer without that font, such characters are written as "?" in the
PDF (the index keeps them).

``render_pdf`` returns the text of each page it laid out: the manifest
keeps those, so "page 3" in `vault show` is page 3 of the PDF.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Callable
from pathlib import Path

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
BASELINE = 3.8  # millimetres from the top of a line to its baseline
MARGIN = 20  # millimetres
TAB = "    "
WESTERN = "windows-1252"


def font_file() -> Path | None:
    return next((path for path in FONT_FILES if path.is_file()), None)


def _printable_lines(text: str) -> str:
    """``text`` without control characters (a tab as spaces), lines kept."""
    text = text.replace("\t", TAB)
    return "\n".join(
        line.rstrip()
        if line.isprintable()  # holds no character of those categories: most lines, quickly
        else "".join(c for c in line if unicodedata.category(c) not in _DROPPED).rstrip()
        for line in text.split("\n")
    )


_DROPPED = ("Cc", "Cf", "Cs", "Co")  # control, format, surrogate and private-use characters
# The width of each character measured so far, in millimetres at FONT_SIZE, by
# font: measuring through fpdf2 costs more than the rest of a short rendition.
_WIDTHS: dict[str, dict[str, float]] = {}


def _western(text: str) -> bool:
    try:
        text.encode(WESTERN)
    except UnicodeEncodeError:
        return False
    return True


def _wrapped(text: str, room: float, width: Callable[[str], float]) -> list[str]:
    """``text`` in lines no wider than ``room`` (at spaces; a word too long
    for a line is cut)."""
    lines: list[str] = []
    line, used = "", 0.0
    space = width(" ")
    for word in text.split(" "):
        size = width(word)
        while size > room:  # a word wider than the line: cut it where it fills the line
            if line:
                lines.append(line)
                line, used = "", 0.0
            cut = max(1, next((n for n in range(1, len(word) + 1) if width(word[:n]) > room),
                              len(word) + 1) - 1)  # fmt: skip
            lines.append(word[:cut])
            word = word[cut:]
            size = width(word)
        if line and used + space + size > room:
            lines.append(line)
            line, used = "", 0.0
        if line:
            line, used = f"{line} {word}", used + space + size
        else:
            line, used = word, size
    lines.append(line)
    return lines


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
    sections = [_printable_lines(section) for section in sections]
    font = None if all(_western(section) for section in sections) else font_file()
    if font is not None:
        pdf.add_font("DejaVuSans", "", str(font))
        pdf.set_font("DejaVuSans", size=FONT_SIZE)
    else:
        pdf.core_fonts_encoding = WESTERN
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
    widths = _WIDTHS.setdefault(str(font or "Helvetica"), {})

    def width(text: str) -> float:
        try:
            return sum(map(widths.__getitem__, text), 0.0)
        except KeyError:  # a character not measured yet
            for char in set(text).difference(widths):
                widths[char] = pdf.get_string_width(char)
            return sum(map(widths.__getitem__, text), 0.0)

    for number, section in enumerate(sections):
        lines = [""] if number else []
        for paragraph in section.split("\n"):
            text = paragraph
            if font is None:
                text = text.encode(WESTERN, "replace").decode(WESTERN)
            lines.extend(_wrapped(text, pdf.epw, width))
        for line in lines:
            if pdf.get_y() + LINE_HEIGHT > bottom:
                new_page()
            if line:
                pdf.text(MARGIN, pdf.get_y() + BASELINE, line)
            pdf.set_y(pdf.get_y() + LINE_HEIGHT)
            pages[-1].append(line)
    data = bytes(pdf.output())
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return ["\n".join(page).strip("\n") for page in pages]
