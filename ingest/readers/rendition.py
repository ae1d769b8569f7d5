"""A searchable PDF made from a document's text, for documents that come as
text rather than pages: a text file, a web page, a Word document, an e-mail.

It is a rendition, not a copy: A4 pages of the text in one plain font,
line after line, wrapped at the margin, each section after a blank line.
Any PDF reader opens, searches and copies it, and `vault export
--searchable` writes it. Text that Windows-1252 can write (English and
Western European text, typographic quotes and dashes, £ and €) is set in
Helvetica, one of the fonts every PDF reader has (nothing embedded: small
and quick to make), and that PDF is written here (``_helvetica_pdf``: a
handful of objects; fpdf2's general machinery took most of the time of
storing a short document). Any other text is set by fpdf2 in DejaVu Sans
(Debian's ``fonts-dejavu-core``, installed by ``scripts/setup``), embedded,
which covers the Latin, Greek and Cyrillic alphabets and many symbols; a
character it lacks shows as a box (the vault's own index still has it). On
a computer without that font, such characters are written as "?" in the
PDF (the index keeps them).

``render_pdf`` returns the text of each page it laid out: the manifest
keeps those, so "page 3" in `vault show` is page 3 of the PDF.
"""

from __future__ import annotations

import contextlib
import logging
import os
import unicodedata
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
A4 = (595.28, 841.89)  # points, as fpdf2 has it
POINTS = 72 / 25.4  # in a millimetre
PRODUCER = "centre vault"


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
# Helvetica's advance widths, in thousandths of the font's size, of the
# characters of Windows-1252 from code 32 (space) to 255: Adobe's metrics of
# the font, as every PDF reader has them (fpdf2 measures the same; a test
# checks each). Text in Helvetica is measured with these, without loading
# fpdf2 (a quarter of a second).
HELVETICA = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,  # 0x20
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,  # 0x30
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,  # 0x40
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,  # 0x50
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,  # 0x60
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 350,  # 0x70
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,  # 0x80
    0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667,  # 0x90
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,  # 0xa0
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,  # 0xb0
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,  # 0xc0
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,  # 0xd0
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,  # 0xe0
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,  # 0xf0
)  # fmt: skip


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
    sections = [_printable_lines(section) for section in sections]
    font = None if all(_western(section) for section in sections) else font_file()
    width = _measure(font)
    room = A4[0] / POINTS - 2 * MARGIN
    bottom = A4[1] / POINTS - MARGIN
    pages: list[list[str]] = []
    y = bottom  # no page yet

    for number, section in enumerate(sections):
        lines = [""] if number else []
        for paragraph in section.split("\n"):
            text = paragraph
            if font is None:
                text = text.encode(WESTERN, "replace").decode(WESTERN)
            lines.extend(_wrapped(text, room, width))
        for line in lines:
            if y + LINE_HEIGHT > bottom:
                if len(pages) >= max_pages:
                    raise UnreadableInputError(
                        f"its text runs to more than {max_pages} pages (the most the vault "
                        "takes; see --max-pages)"
                    )
                pages.append([])
                y = MARGIN
            pages[-1].append(line)
            y += LINE_HEIGHT
    if not pages:
        pages.append([])
    data = _helvetica_pdf(pages) if font is None else _embedded_font_pdf(pages, font)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return ["\n".join(page).strip("\n") for page in pages]


def _measure(font: Path | None) -> Callable[[str], float]:
    """The width in millimetres of a text set in ``font`` (None: Helvetica) at
    FONT_SIZE: Helvetica's from its metrics (``HELVETICA``), any other font's
    measured by fpdf2, each character once (``_WIDTHS``)."""
    widths = _WIDTHS.get(str(font or "Helvetica"))
    if widths is None:
        widths = _WIDTHS[str(font or "Helvetica")] = {}
        if font is None:
            for code, thousandths in enumerate(HELVETICA, 32):
                with contextlib.suppress(UnicodeDecodeError):  # the five codes with no character
                    widths[bytes([code]).decode(WESTERN)] = thousandths * FONT_SIZE * 0.001 / POINTS
    measurer: list[Any] = []

    def width(text: str) -> float:
        try:
            return sum(map(widths.__getitem__, text), 0.0)
        except KeyError:  # a character not measured yet
            if not measurer:
                measurer.append(_fpdf(font))
            for char in set(text).difference(widths):
                widths[char] = measurer[0].get_string_width(char)
            return sum(map(widths.__getitem__, text), 0.0)

    return width


def _fpdf(font: Path | None) -> Any:
    """An fpdf2 document in A4 with ``font`` (None: Helvetica) at FONT_SIZE."""
    from fpdf import FPDF

    logging.getLogger("fpdf").setLevel(logging.ERROR)  # missing glyphs: boxes, said above
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_creator(PRODUCER)
    pdf.set_producer(PRODUCER)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(False)
    if font is not None:
        pdf.add_font("DejaVuSans", "", str(font))
        pdf.set_font("DejaVuSans", size=FONT_SIZE)
    else:
        pdf.core_fonts_encoding = WESTERN
        pdf.set_font("Helvetica", size=FONT_SIZE)
    return pdf


def _embedded_font_pdf(pages: list[list[str]], font: Path) -> bytes:
    """``pages`` set in ``font``, embedded (its characters used), by fpdf2."""
    pdf = _fpdf(font)
    for lines in pages:
        pdf.add_page()
        for number, line in enumerate(lines):
            if line:
                pdf.text(MARGIN, MARGIN + number * LINE_HEIGHT + BASELINE, line)
    return bytes(pdf.output())


def _helvetica_pdf(pages: list[list[str]]) -> bytes:
    """``pages`` of lines that Windows-1252 can write, set in Helvetica.

    Written here rather than by fpdf2, whose general machinery took most of
    the time of storing a short document: the PDF (ISO 32000-1) of text in
    one of the standard fonts every reader has is a catalog, a page tree, the
    font (WinAnsiEncoding: Windows-1252), the document's information, and
    each page with a compressed stream of its lines (``Tj``, a line down
    with ``T*``), then the table of where each object starts."""
    count = len(pages)
    kids = " ".join(f"{5 + 2 * n} 0 R" for n in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 %.2f %.2f] >>"
        % (kids.encode(), count, *A4),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Producer (%s) /Creator (%s) >>" % (PRODUCER.encode(), PRODUCER.encode()),
    ]
    start = b"BT /F1 %d Tf %.4f TL %.2f %.4f Td" % (
        FONT_SIZE,
        LINE_HEIGHT * POINTS,
        MARGIN * POINTS,
        A4[1] - (MARGIN + BASELINE) * POINTS,
    )
    for number, lines in enumerate(pages):
        text = [start, *(b"(%s) Tj T*" % _pdf_string(line) if line else b"T*" for line in lines)]
        stream = zlib.compress(b"\n".join([*text, b"ET"]))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (6 + 2 * number)
        )
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream)
        )
    pdf = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    table = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        table,
    )
    return bytes(pdf)


def _pdf_string(line: str) -> bytes:
    """``line`` in Windows-1252 as the inside of a PDF literal string."""
    data = line.encode(WESTERN)
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
