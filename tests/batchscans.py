"""Batch scans for the tests: letters with separator sheets between them,
drawn with the scan generator (``tests.scans``) so tesseract really reads
them. Each letter has words of its own, so a search finds it and no other."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

from tests import scans

# Three letters, each with a word no other has (and a case number of its own).
LETTERS = {
    "Quillfeather": 2,  # pages
    "Bramblewick": 3,
    "Thistledown": 2,
}


def letter_pages(word: str, pages: int, *, dpi: int = 300) -> list[Image.Image]:
    return [
        scans.draw_page(
            f"Letter about the {word} family, page {n} of {pages}\n"
            + "\n".join(
                f"{word} {line}"
                for line in scans.dense_text(sum(map(ord, word)) + n, lines=5).splitlines()
            ),
            dpi=dpi,
        )
        for n in range(1, pages + 1)
    ]


Spoil = Callable[[Image.Image], Image.Image]


def nine_pages(
    *, dpi: int = 300, spoil_sheet: Spoil | None = None, sheet_back: bool = False
) -> tuple[list[Image.Image], dict[str, tuple[int, int]]]:
    """Letter (2 pages), a sheet with type court-order and family F-0042,
    letter (3), a plain sheet, letter (2): 9 pages; with ``sheet_back``,
    the plain sheet is the back of a duplex page (a blank front before it,
    10 pages). The pages of each letter, 1-based."""
    words = list(LETTERS)
    sheet1 = scans.separator_page(doc_type="court-order", family="F-0042", dpi=dpi)
    sheet2 = scans.separator_page(dpi=dpi)
    if spoil_sheet is not None:
        sheet1, sheet2 = spoil_sheet(sheet1), spoil_sheet(sheet2)
    pages = [*letter_pages(words[0], 2, dpi=dpi), sheet1, *letter_pages(words[1], 3, dpi=dpi)]
    if sheet_back:
        pages.append(scans.blank_page(dpi=dpi, noisy=True))
    pages += [sheet2, *letter_pages(words[2], 2, dpi=dpi)]
    extra = 1 if sheet_back else 0
    where = {words[0]: (1, 2), words[1]: (4, 6), words[2]: (8 + extra, 9 + extra)}
    return pages, where


def write(path: Path, pages: Sequence[Image.Image], *, dpi: int = 300, kind: str = "pdf") -> Path:
    if kind == "pdf":
        return scans.write_image_pdf(path, pages, dpi=dpi)
    if kind == "g4pdf":
        return scans.write_image_pdf(path, pages, dpi=dpi, bilevel=True)
    if kind == "tiff":
        return scans.write_tiff_g4(path, pages, dpi=dpi)
    raise ValueError(kind)
