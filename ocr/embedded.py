"""A scanned PDF page's own image, taken as it is stored (pikepdf, in the
calling process).

Scanners and phone apps mostly make each PDF page one JPEG drawn over the
whole page. When a page is exactly that, drawing it (pdfium) would only copy
the image's pixels, so the worker decodes the stored JPEG instead: the same
picture in 30-40 ms instead of 60-140 ms. Anything else (other content, a
turn, a crop, a mask, a /Decode array, a colour space other than plain grey
or RGB, a resolution the page would not be drawn at, annotations or form
fields) leaves the page to pdfium. The original PDF is only read.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import TracebackType

import pikepdf

from ocr.pageimage import EmbeddedScan
from ocr.pdfpages import MAX_RENDER_PIXELS, MIN_NATIVE_DPI, RENDER_DPI
from ocr.searchable import inherited_rotate

COLOUR_SPACES = ("/DeviceGray", "/DeviceRGB")
PLACEMENT_TOLERANCE = 0.01  # points
SQUARE_TOLERANCE = 0.01  # horizontal and vertical resolution may differ this much
DPI_TOLERANCE = 0.5  # the resolution must be this close to whole dots per inch


class StoredScans:
    """The stored JPEG of each page of a PDF that is nothing but one; opened
    with pikepdf (if pikepdf cannot open the file, every page is drawn)."""

    def __init__(self, path: Path) -> None:
        try:
            self._pdf: pikepdf.Pdf | None = pikepdf.open(path)
        except (pikepdf.PdfError, OSError, ValueError):
            self._pdf = None

    def __enter__(self) -> StoredScans:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._pdf is not None:
            self._pdf.close()

    def scan(self, index: int) -> EmbeddedScan | None:
        """Page ``index`` (0-based) as its stored JPEG, or None to draw it."""
        if self._pdf is None:
            return None
        try:
            return _page_scan(pikepdf.Page(self._pdf.pages[index]))
        except (pikepdf.PdfError, AttributeError, IndexError, KeyError, TypeError, ValueError):
            return None


def only_image(page: pikepdf.Page) -> pikepdf.Stream | None:
    """The image a page draws when it draws nothing else (anywhere, at any
    size or turn), or None."""
    try:
        drawn = _drawn_image(page)
        resources = page.obj.get(pikepdf.Name.Resources)
        if drawn is None or not isinstance(resources, pikepdf.Dictionary):
            return None
        image = resources.XObject[drawn[0]]
    except (pikepdf.PdfError, AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None
    return image if isinstance(image, pikepdf.Stream) else None


def _number(value: object) -> float:
    if isinstance(value, int | float | Decimal):
        return float(value)
    raise TypeError("not a number")


def _box(page: pikepdf.Page, name: str) -> tuple[float, float, float, float]:
    box = page.cropbox if name == "crop" else page.mediabox
    left, bottom, right, top = (_number(v) for v in box)
    return min(left, right), min(bottom, top), max(left, right), max(bottom, top)


def _drawn_image(page: pikepdf.Page) -> tuple[pikepdf.Name, list[float]] | None:
    """The image name and matrix of a content stream that is only
    ``[q] a 0 0 d e f cm /Name Do [Q]``."""
    ops = pikepdf.parse_content_stream(page)
    names = [str(op.operator) for op in ops]
    if names[:1] == ["q"] and names[-1:] == ["Q"]:
        ops, names = ops[1:-1], names[1:-1]
    if names != ["cm", "Do"]:
        return None
    matrix = [_number(v) for v in ops[0].operands]
    (name,) = ops[1].operands
    if len(matrix) != 6 or not isinstance(name, pikepdf.Name):
        return None
    return name, matrix


def _page_scan(page: pikepdf.Page) -> EmbeddedScan | None:
    obj = page.obj
    if inherited_rotate(obj) or len(obj.get(pikepdf.Name.Annots, pikepdf.Array())) > 0:
        return None
    crop = _box(page, "crop")
    if crop != _box(page, "media"):
        return None
    drawn = _drawn_image(page)
    resources = obj.get(pikepdf.Name.Resources)
    if drawn is None or not isinstance(resources, pikepdf.Dictionary):
        return None
    name, (a, b, c, d, e, f) = drawn
    placed = (e, f, e + a, f + d)
    if b or c or any(abs(p - q) > PLACEMENT_TOLERANCE for p, q in zip(placed, crop, strict=True)):
        return None
    image = resources.XObject[name]
    if not _plain_jpeg(image):
        return None
    width, height = int(image.Width), int(image.Height)
    if width <= 0 or height <= 0 or a <= 0 or d <= 0:
        return None
    x_dpi, y_dpi = width / (a / 72), height / (d / 72)
    dpi = round((x_dpi + y_dpi) / 2)
    if (
        abs(x_dpi - y_dpi) > SQUARE_TOLERANCE * dpi
        or abs((x_dpi + y_dpi) / 2 - dpi) > DPI_TOLERANCE
        or not MIN_NATIVE_DPI <= dpi <= RENDER_DPI
        or width * height > MAX_RENDER_PIXELS
    ):
        return None
    mode = "L" if image.ColorSpace == pikepdf.Name.DeviceGray else "RGB"
    return EmbeddedScan(image.read_raw_bytes(), (width, height), mode, dpi)


def _plain_jpeg(image: object) -> bool:
    """An 8-bit grey or RGB JPEG image with nothing that changes how it shows."""
    if not isinstance(image, pikepdf.Stream) or image.get(pikepdf.Name.Subtype) != "/Image":
        return False
    extra = ("/ImageMask", "/Mask", "/SMask", "/Decode", "/DecodeParms", "/OC", "/Alternates")
    if any(key in image for key in extra):
        return False
    filters = image.get(pikepdf.Name.Filter)
    if isinstance(filters, pikepdf.Array):
        filters = filters[0] if len(filters) == 1 else None
    return (
        filters == "/DCTDecode"
        and image.get(pikepdf.Name.ColorSpace) in COLOUR_SPACES
        and image.get(pikepdf.Name.BitsPerComponent) == 8
    )
