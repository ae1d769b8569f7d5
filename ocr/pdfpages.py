"""PDF pages through pdfium: opening, born-digital text, drawing for OCR.

pdfium is fast (text of a page in well under a millisecond) and tolerant of
sloppy files; what it cannot open is corrupt, truncated or locked, and the
input is refused with that reason.

Pages are drawn at 300 dpi, except a scan made at 200-300 dpi, which is drawn
at its own resolution: scaling a scan up adds nothing and blurs its noise
into blobs (a noisy 200 dpi JPEG page: 10.6% character errors drawn at 300
dpi, 1.6% at 200, and a third less tesseract time).
"""

from __future__ import annotations

import math
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from ocr.images import BOMB_REASON, MAX_PIXELS
from vault.errors import UnreadableInputError

RENDER_DPI = 300
MIN_NATIVE_DPI = 200  # a scan below this is drawn at RENDER_DPI all the same
SCAN_COVERAGE = 0.5  # share of the page an image must cover to count as its scan
MAX_RENDER_PIXELS = 60_000_000  # A4 at 300 dpi is 8.7 MP; bigger pages are drawn coarser
MIN_RENDER_DPI = 30
FPDF_ERR_PASSWORD = 4
BILEVEL_THRESHOLD = 128


def open_pdf(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == FPDF_ERR_PASSWORD:
            raise UnreadableInputError("password-protected PDF") from exc
        raise UnreadableInputError("PDF cannot be read (damaged or not a PDF)") from exc
    except (OSError, ValueError) as exc:
        raise UnreadableInputError("PDF cannot be read (damaged or not a PDF)") from exc


def get_page(document: pdfium.PdfDocument, index: int) -> pdfium.PdfPage:
    try:
        return document[index]
    except pdfium.PdfiumError as exc:
        raise UnreadableInputError("a PDF page cannot be read") from exc


def page_text(page: pdfium.PdfPage) -> str:
    """The text a PDF page carries, line breaks as ``\\n``; empty if pdfium
    cannot read it (the page is then OCR'd)."""
    try:
        textpage = page.get_textpage()
    except pdfium.PdfiumError:
        return ""
    try:
        text: str = textpage.get_text_bounded()
    except pdfium.PdfiumError:
        return ""
    finally:
        textpage.close()
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()


def image_count(page: pdfium.PdfPage) -> int:
    """How many images the page draws; refuses one that would decode to a bomb."""
    count = 0
    try:
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
            count += 1
            try:
                width, height = obj.get_px_size()
            except pdfium.PdfiumError:
                continue  # drawn as nothing; not a reason to refuse the page
            if width * height > MAX_PIXELS:
                raise UnreadableInputError(BOMB_REASON)
    except pdfium.PdfiumError as exc:
        raise UnreadableInputError("a PDF page cannot be read") from exc
    return count


def is_bilevel(page: pdfium.PdfPage) -> bool:
    """True for a page drawn from 1-bit images only (fax-mode, CCITT or JBIG2
    scans): thresholding its drawing loses nothing, and tesseract reads a
    1-bit page about 10% faster than a grey one."""
    try:
        bits = [
            obj.get_metadata().bits_per_pixel
            for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])
        ]
    except pdfium.PdfiumError:
        return False
    return bool(bits) and all(b == 1 for b in bits)


def is_empty(page: pdfium.PdfPage) -> bool:
    """True for a page that draws nothing at all (nothing to OCR)."""
    return not any(True for _ in page.get_objects(max_depth=1))


def _scan_resolution(page: pdfium.PdfPage, page_area: float) -> float | None:
    """Resolution of the image covering most of the page (a scan), if any."""
    best: tuple[float, float] | None = None  # (area in square inches, dpi)
    try:
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
            left, bottom, right, top = obj.get_bounds()
            area = (right - left) / 72 * (top - bottom) / 72
            pixels = obj.get_px_size()
            if area > 0 and (best is None or area > best[0]):
                best = (area, math.sqrt(pixels[0] * pixels[1] / area))
    except pdfium.PdfiumError:
        return None
    if best is None or best[0] < SCAN_COVERAGE * page_area:
        return None
    return best[1]


def render_dpi(page: pdfium.PdfPage) -> int:
    """300 dpi, or the scan's own resolution if that is 200-300 dpi; less
    for a page so big that its pixels would pass the cap."""
    width, height = page.get_size()
    if width <= 0 or height <= 0:
        raise UnreadableInputError("PDF page has no size")
    area = width / 72 * height / 72  # square inches
    dpi = RENDER_DPI
    native = _scan_resolution(page, area)
    if native is not None and MIN_NATIVE_DPI <= native < RENDER_DPI:
        dpi = round(native)
    dpi = min(dpi, math.floor(math.sqrt(MAX_RENDER_PIXELS / area)))
    if dpi < MIN_RENDER_DPI:
        raise UnreadableInputError("PDF page too large to draw")
    return dpi


def render(page: pdfium.PdfPage, dpi: int) -> Image.Image:
    """The page as pdfium shows it (its /Rotate applied), in grey, or in
    black and white if it is a bilevel scan."""
    try:
        bitmap = page.render(scale=dpi / 72, may_draw_forms=True)
        image: Image.Image = bitmap.to_pil()
    except pdfium.PdfiumError as exc:
        raise UnreadableInputError("a PDF page cannot be drawn") from exc
    grey = image.convert("L")
    if is_bilevel(page):
        return grey.point(lambda v: 255 if v >= BILEVEL_THRESHOLD else 0, mode="1")
    return grey
