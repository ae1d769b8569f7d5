"""The image of one page, as tesseract is to see it (runs in a worker).

PDF pages are drawn by pdfium at 300 dpi (less for huge pages), except a
page that is only its scan, whose stored JPEG (``EmbeddedScan``, found by
``embedded``) is decoded by Pillow; TIFF frames and photos are decoded by
Pillow, with EXIF orientation applied and non-square fax pixels made square.
The result is 1-bit or grey, with the resolution to pass as ``--dpi``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

from ocr import images, pdfpages, source

SQUARE_TOLERANCE = 0.05

_open_pdf: tuple[Path, pdfium.PdfDocument] | None = None


@dataclass(frozen=True)
class EmbeddedScan:
    """A PDF page that is one JPEG drawn over the whole page, at its own
    resolution: drawing the page would show exactly these pixels."""

    data: bytes  # the JPEG as stored in the PDF
    size: tuple[int, int]  # its /Width and /Height
    mode: str  # "L" or "RGB", from its colour space
    dpi: int


def _pdf(path: Path) -> pdfium.PdfDocument:
    """The document, kept open for the next page of the same file."""
    global _open_pdf
    if _open_pdf is None or _open_pdf[0] != path:
        if _open_pdf is not None:
            _open_pdf[1].close()
        document = pdfpages.open_pdf(path)
        document.init_forms()  # so that filled-in form fields are drawn too
        _open_pdf = (path, document)
    return _open_pdf[1]


def _square(image: Image.Image, x_dpi: float, y_dpi: float) -> tuple[Image.Image, int]:
    dpi = max(x_dpi, y_dpi)
    if abs(x_dpi - y_dpi) <= SQUARE_TOLERANCE * dpi:
        return image, round(dpi)
    size = (round(image.width * dpi / x_dpi), round(image.height * dpi / y_dpi))
    images.check_pixels(*size)
    grey = image.convert("L")
    return grey.resize(size, Image.Resampling.BICUBIC), round(dpi)


def _decode(scan: EmbeddedScan) -> Image.Image | None:
    """The scan's pixels in grey; None if Pillow does not see the JPEG the PDF
    describes, or cannot decode it (pdfium then draws the page)."""
    images.check_pixels(*scan.size)
    try:
        image = Image.open(io.BytesIO(scan.data), formats=["JPEG"])
        if image.size != scan.size or image.mode != scan.mode:
            return None
        image.load()
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        return None
    return image if image.mode == "L" else image.convert("L")


def load_page(
    path: Path, media_type: str, index: int, scan: EmbeddedScan | None = None
) -> tuple[Image.Image, int]:
    """Page ``index`` (0-based) of the input, and its resolution in dpi."""
    if scan is not None:
        picture = _decode(scan)
        if picture is not None:
            return picture, scan.dpi
    if media_type == source.PDF:
        page = pdfpages.get_page(_pdf(path), index)
        try:
            dpi = pdfpages.render_dpi(page)
            return pdfpages.render(page, dpi), dpi
        finally:
            page.close()
    if media_type == source.TIFF:
        with images.open_image(path, what="TIFF", media_type=source.TIFF) as tiff:
            frame = images.tiff_frame(tiff, index)
        picture, dpi = _square(images.for_ocr(frame), *images.resolution(frame))
        return images.for_ocr(picture), dpi
    with images.open_image(path, media_type=media_type) as photo, images.decoding("the image"):
        photo.load()
        x_dpi, y_dpi = images.resolution(photo)
        upright = images.upright_by_exif(photo)
        if upright.size != photo.size:
            x_dpi, y_dpi = y_dpi, x_dpi
        picture, dpi = _square(images.for_ocr(upright), x_dpi, y_dpi)
    return images.for_ocr(picture), dpi
