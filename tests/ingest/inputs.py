"""Small inputs for ingest tests: one real scan to OCR, and hostile files.

Kept small so the suite stays fast: born-digital PDFs need no OCR, and the one
scan is a short page at 150 dpi.
"""

from __future__ import annotations

import os
from pathlib import Path

import pikepdf
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from tests.conftest import CANARY, make_pdf
from tests.scans import write_png_bomb

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

COURT_ORDER = [
    "IN THE FAMILY COURT AT NOTTINGHAM",
    "Case number: NT26P00412",
    "CHILD ARRANGEMENTS ORDER",
    "The Children Act 1989",
    "Family reference F-0042",
    "Made on 12 November 2026 by District Judge Ahmed",
    "IT IS ORDERED THAT contact takes place at the centre.",
]


def scan_png(path: Path, lines: list[str] = COURT_ORDER, *, dpi: int = 150) -> Path:
    """A clean scan of ``lines`` in DejaVu Sans (about 12 pt), as a PNG."""
    size = round(12 / 72 * dpi)
    face = ImageFont.truetype(str(FONT), size) if FONT.exists() else ImageFont.load_default(size)
    width = round(8.27 * dpi)
    step = round(size * 1.7)
    page = Image.new("L", (width, dpi + step * len(lines)), 255)
    draw = ImageDraw.Draw(page)
    y = dpi // 2
    for line in lines:
        draw.text((dpi * 3 // 4, y), line, font=face, fill=0)
        y += step
    page.save(path, "PNG", dpi=(dpi, dpi))
    return path


def pages_pdf(path: Path, pages: int) -> Path:
    """A born-digital PDF with ``pages`` short pages."""
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=12)
    for n in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(0, 10, f"Page {n} of a long bundle", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def password_pdf(path: Path) -> Path:
    source = make_pdf(path.with_name(path.name + ".src"), CANARY)
    with pikepdf.open(source) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user="s3cret", owner="s3cret"))
    source.unlink()
    return path


def truncated_pdf(path: Path) -> Path:
    whole = make_pdf(path, f"{CANARY} truncated").read_bytes()
    path.write_bytes(whole[: len(whole) // 3])
    return path


def random_pdf(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.7\n" + os.urandom(4096))
    return path


def binary_as_jpg(path: Path) -> Path:
    """No signature, and not text (NUL bytes): of no type the vault knows."""
    path.write_bytes(b"\x00\x01binary named .jpg\x00" + CANARY.encode() + bytes(range(256)))
    return path


def empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def png_bomb(path: Path) -> Path:
    """A valid 1-bit PNG of 30000 x 30000 pixels: ~100 KB on disk, ~1 GB decoded."""
    return write_png_bomb(path)


# name -> (writer, words the reason should contain)
BAD_INPUTS = {
    "empty.pdf": (empty_file, "empty"),
    "truncated.pdf": (truncated_pdf, "PDF"),
    "random.pdf": (random_pdf, "PDF"),
    "locked.pdf": (password_pdf, "password"),
    "notes.jpg": (binary_as_jpg, "judged by its content"),
    "bomb.png": (png_bomb, "image"),
}


def write_bad_inputs(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {name: writer(folder / name) for name, (writer, _) in BAD_INPUTS.items()}
