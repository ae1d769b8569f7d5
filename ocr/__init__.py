"""OCR of scanned documents: page images from PDFs, TIFFs and photos;
orientation and skew; tesseract (ocr/tesseract.py), pages in parallel with
one thread per process; per-page text and a searchable PDF; born-digital
PDFs keep their own text.

    ocr_document(path, media_type, workdir) -> OcrResult(pages, searchable_pdf, born_digital)

Modules: ``document`` (the entry point and the process pool), ``source``
(planning, refusing unreadable input), ``pdfpages`` and ``images`` (pdfium
and Pillow), ``convert`` (WebP, HEIC, GIF and BMP made into JPEG or PNG
pages), ``embedded`` (a PDF page that is only its JPEG scan, taken as
stored), ``pageimage`` and ``worker`` (one page, in a worker),
``tesseract`` (every tesseract run), ``layout`` (orientation and skew read
from tesseract's words), ``skew`` (straightening before OCR), ``upright``
(which way up a page stands, from its ink), ``noise`` (specks taken out of
speckled pages; where the ink is), ``textcheck`` (real words or font
garbage), ``imagepdf`` and ``searchable`` (the searchable PDF), ``result``
(what is handed back). Errors are ``vault.errors.UnreadableInputError`` (the input)
and ``OcrEngineError`` (tesseract).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from ocr.result import OcrResult, PageResult

if TYPE_CHECKING:
    from ocr.document import ocr_document

__all__ = ["OcrResult", "PageResult", "ocr_document"]


def __getattr__(name: str) -> object:
    # Imported on first use, so that worker processes (which import
    # ocr.worker, and so this package) do not load pikepdf and the rest.
    if name == "ocr_document":
        with _ctrl_c_after_loading():
            from ocr.document import ocr_document

        return ocr_document
    raise AttributeError(f"module 'ocr' has no attribute {name!r}")


@contextmanager
def _ctrl_c_after_loading() -> Iterator[None]:
    """A Ctrl-C while the PDF library (pikepdf) loads is acted on once it has
    loaded: its compiled part ends the whole program with a crash report when
    interrupted half-way, instead of letting the interruption through."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    pressed: list[FrameType | None] = []

    def note(signum: int, frame: FrameType | None) -> None:
        pressed.append(frame)

    signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        previous(signal.SIGINT, pressed[0])
