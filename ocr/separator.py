"""Separator sheets and blank pages of a scan, found before any OCR.

``look_at_pages`` gives each page of a PDF or TIFF one quick look (tens of
milliseconds; in the OCR worker processes of the batch, ``OcrPool``, a few
pages a job, when it is given them, else in the calling process): a small
grey picture of it (a page
that is only its JPEG scan is decoded at a fraction of its size, Pillow's
JPEG "draft" mode; anything else is drawn by pdfium, or decoded from the
TIFF, at about ``LOOK_DPI``), read for barcodes (``vault.barcodes``:
zxing-cpp, QR and Code 128, any quarter turn, a little skewed) and
measured for ink.

A page is a **separator sheet** when a barcode on it is one
(``vault.separator_sheet.parse``: the vault's own payload, or ``PATCHT``).
A page is **blank** when it carries almost no ink (``noise.looks_blank``,
the measure the OCR worker takes too, so a blank page is never given to
tesseract).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pikepdf
import pypdfium2 as pdfium
from PIL import Image

from ocr import images, pdfpages, source
from ocr.embedded import only_image
from ocr.noise import looks_blank
from ocr.textcheck import is_real_text
from vault.barcodes import CODE128, QR, read_codes
from vault.errors import UnreadableInputError
from vault.separator_sheet import Sheet, parse

if TYPE_CHECKING:
    from ocr.document import OcrPool

LOOK_DPI = 150  # about the resolution pages are looked at
MAX_LOOK_PIXELS = 4_000_000  # A4 at 150 dpi is 2.2 MP; a larger page is looked at coarser
PAGES_A_JOB = 4  # pages a worker looks at in one job (the file opened once for them)


EMPTY_PAGE = Image.new("L", (8, 8), 255)  # a page that draws nothing at all


@dataclass(frozen=True)
class PageLook:
    index: int  # 0-based
    sheet: Sheet | None  # a separator sheet: what it says
    blank: bool


def sheet_on(picture: Image.Image) -> Sheet | None:
    """The separator sheet the picture is, if it is one."""
    for text in read_codes(picture, (QR, CODE128)):
        sheet = parse(text)
        if sheet is not None:
            return sheet
    return None


def look_at_pages(path: Path, media_type: str, pool: OcrPool | None = None) -> list[PageLook]:
    """A quick look at every page of a PDF or TIFF (``UnreadableInputError``
    for a page that cannot be drawn or decoded). A file of one page is
    not looked at (it splits into nothing), nor is a PDF page with text of
    its own (born digital: no scanned sheet). With ``pool``, the pages are
    looked at in its workers, ``PAGES_A_JOB`` at a time, all at once."""
    count = page_count(path, media_type)
    if count < 2:
        return [PageLook(0, None, False)]
    if pool is None:
        return look_at_range(path, media_type, 0, count)
    jobs = [
        pool.submit(look_at_range, path, media_type, start, min(count, start + PAGES_A_JOB))
        for start in range(0, count, PAGES_A_JOB)
    ]
    looks: list[PageLook] = []
    try:
        for job in jobs:
            looks += job.result()
    finally:
        for job in jobs:
            job.cancel()
    return looks


def look_at_range(path: Path, media_type: str, start: int, stop: int) -> list[PageLook]:
    """The look at pages ``start`` to ``stop`` (0-based, ``stop`` not
    included), in this process."""
    looks = []
    for index, found in enumerate(_pictures(path, media_type, start, stop), start):
        if found is None:
            looks.append(PageLook(index, None, False))
            continue
        picture, dpi = found
        sheet = sheet_on(picture)
        looks.append(PageLook(index, sheet, sheet is None and looks_blank(picture, dpi)))
    return looks


def page_count(path: Path, media_type: str) -> int:
    if media_type == source.PDF:
        document = pdfpages.open_pdf(path)
        try:
            return len(document)
        finally:
            document.close()
    with images.open_image(path, what="TIFF", media_type=source.TIFF) as tiff:
        return int(getattr(tiff, "n_frames", 1))


def _pictures(
    path: Path, media_type: str, start: int, stop: int
) -> Iterator[tuple[Image.Image, float] | None]:
    """Pages ``start`` to ``stop``, small, with their resolution (one held at a time)."""
    if media_type == source.TIFF:
        return _tiff_pictures(path, start, stop)
    if media_type == source.PDF:
        return _pdf_pictures(path, start, stop)
    raise UnreadableInputError(f"cannot look for separator sheets in {media_type}")


def _tiff_pictures(path: Path, start: int, stop: int) -> Iterator[tuple[Image.Image, float] | None]:
    with images.open_image(path, what="TIFF", media_type=source.TIFF) as tiff:
        index = start
        while index < stop:
            try:
                tiff.seek(index)
            except EOFError:
                return
            frame = images.tiff_frame(tiff, index)
            dpi = max(images.resolution(frame))
            factor = max(1, int(dpi // LOOK_DPI))
            picture = images.for_ocr(frame)
            if factor > 1:
                picture = picture.convert("L").reduce(factor)
            yield picture, dpi / factor
            index += 1


def _pdf_pictures(path: Path, start: int, stop: int) -> Iterator[tuple[Image.Image, float] | None]:
    document = pdfpages.open_pdf(path)
    try:
        with pikepdf.open(path) as pdf:
            for index in range(start, min(stop, len(document))):
                found = _stored_jpeg(pdf, index)
                if found is not None:
                    yield found
                    continue
                page = pdfpages.get_page(document, index)
                try:
                    if pdfpages.is_empty(page):  # draws nothing: blank, not drawn
                        yield EMPTY_PAGE, float(LOOK_DPI)
                    elif is_real_text(pdfpages.page_text(page)):
                        yield None
                    else:
                        dpi = _look_dpi(page)
                        yield pdfpages.render(page, dpi), float(dpi)
                finally:
                    page.close()
    except pikepdf.PdfError as exc:
        raise UnreadableInputError("PDF cannot be read (damaged or not a PDF)") from exc
    finally:
        document.close()


def _look_dpi(page: pdfium.PdfPage) -> int:
    """``LOOK_DPI``, or less for a page so large its picture would pass
    ``MAX_LOOK_PIXELS`` (a hostile page a few metres wide)."""
    width, height = page.get_size()
    area = max(width, 1.0) / 72 * max(height, 1.0) / 72  # square inches
    return max(1, min(LOOK_DPI, math.floor(math.sqrt(MAX_LOOK_PIXELS / area))))


def _stored_jpeg(pdf: pikepdf.Pdf, index: int) -> tuple[Image.Image, float] | None:
    """The page's only image, when it is a JPEG, decoded at a fraction of its
    size (the way up and placement do not matter to a barcode or to ink)."""
    page = pikepdf.Page(pdf.pages[index])
    image = only_image(page)
    if image is None or image.get(pikepdf.Name.Filter) != pikepdf.Name.DCTDecode:
        return None
    try:
        box = [float(v) if isinstance(v, int | float | Decimal) else 0.0 for v in page.mediabox]
        width_in = abs(box[2] - box[0]) / 72
        picture = Image.open(io.BytesIO(image.read_raw_bytes()), formats=["JPEG"])
        images.check_pixels(*picture.size)
        dpi = picture.width / width_in if width_in > 0 else LOOK_DPI
        factor = 1
        while factor < 8 and dpi / (factor * 2) >= LOOK_DPI * 0.9:
            factor *= 2
        picture.draft("L", (picture.width // factor, picture.height // factor))
        picture.load()
        scale = picture.width / max(1, int(image.Width))
        return picture.convert("L"), dpi * scale
    except (
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        pikepdf.PdfError,
        Image.DecompressionBombError,
    ):
        return None
