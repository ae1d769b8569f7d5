"""Planning a document: which pages it has, which keep their own text, which
need OCR; and refusing inputs that cannot be read, before any work starts.

Runs in the calling process and reads headers only (for PDFs, pdfium's text
layer): cheap, and done before a page image is written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

from ocr import images, pdfpages
from ocr.textcheck import is_real_text
from vault.errors import UnreadableInputError

PDF = "application/pdf"
TIFF = "image/tiff"
JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
HEIC = "image/heic"
HEIF = "image/heif"
GIF = "image/gif"
BMP = "image/bmp"
# Phone and web pictures: each frame (or image of a HEIF file) is decoded once
# and turned into a JPEG or PNG page (``convert``) before OCR.
CONVERTED = (WEBP, HEIC, HEIF, GIF, BMP)
MEDIA_TYPES = (PDF, TIFF, JPEG, PNG, *CONVERTED)
# A page that draws images but carries only this much real text (a scan with a
# stamped header, say) is OCR'd all the same: the text is likely in the image.
MIN_TEXT_BESIDE_IMAGES = 200


@dataclass(frozen=True)
class Plan:
    page_count: int
    text_pages: dict[int, str] = field(default_factory=dict)  # 0-based index -> text
    ocr_pages: list[int] = field(default_factory=list)  # 0-based indexes

    @property
    def born_digital(self) -> bool:
        return not self.ocr_pages


def _too_many(max_pages: int) -> UnreadableInputError:
    return UnreadableInputError(f"more than {max_pages} pages")


def plan_document(path: Path, media_type: str, max_pages: int) -> Plan:
    if media_type == PDF:
        return _plan_pdf(path, max_pages)
    if media_type == TIFF:
        return _plan_tiff(path, max_pages)
    if media_type in (JPEG, PNG):
        with images.open_image(path, media_type=media_type):
            pass
        return Plan(1, ocr_pages=[0])
    if media_type in CONVERTED:
        return _plan_frames(path, media_type, max_pages)
    raise UnreadableInputError(f"cannot OCR {media_type or 'this type of file'}")


def _plan_pdf(path: Path, max_pages: int) -> Plan:
    document = pdfpages.open_pdf(path)
    try:
        page_count = len(document)
        if page_count == 0:
            raise UnreadableInputError("PDF has no pages")
        if page_count > max_pages:
            raise _too_many(max_pages)
        text_pages: dict[int, str] = {}
        ocr_pages: list[int] = []
        for index in range(page_count):
            page = pdfpages.get_page(document, index)
            try:
                text = pdfpages.page_text(page)
                pictures = pdfpages.image_count(page)
                blank = not text and pdfpages.is_empty(page)
                pdfpages.render_dpi(page)
            finally:
                page.close()
            real = is_real_text(text) and (not pictures or len(text) >= MIN_TEXT_BESIDE_IMAGES)
            if real or blank:
                text_pages[index] = text
            else:
                ocr_pages.append(index)
        return Plan(page_count, text_pages, ocr_pages)
    finally:
        document.close()


def _plan_tiff(path: Path, max_pages: int) -> Plan:
    with images.open_image(path, what="TIFF", media_type=TIFF) as image:
        frames = 0
        for frame in count():
            try:
                image.seek(frame)
            except EOFError:
                break
            except (OSError, ValueError, SyntaxError) as exc:
                raise UnreadableInputError("TIFF page directory is damaged") from exc
            frames += 1
            if frames > max_pages:
                raise _too_many(max_pages)
            images.check_pixels(*image.size)
    if frames == 0:
        raise UnreadableInputError("TIFF has no pages")
    return Plan(frames, ocr_pages=list(range(frames)))


def _plan_frames(path: Path, media_type: str, max_pages: int) -> Plan:
    """Frames of a GIF or WebP (one size: the canvas) or images of a HEIF file
    (each its own size, read from its header), counted without decoding."""
    with images.open_image(path, media_type=media_type) as image:
        try:
            frames = int(getattr(image, "n_frames", 1))
            if frames > max_pages:
                raise _too_many(max_pages)
            if media_type in images.HEIF_TYPES:
                for frame in range(frames):
                    image.seek(frame)
                    images.check_pixels(*image.size)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise UnreadableInputError("image cannot be read (damaged)") from exc
    if frames < 1:
        raise UnreadableInputError("image has no pictures")
    return Plan(frames, ocr_pages=list(range(frames)))
