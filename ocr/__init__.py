"""OCR of scanned documents: page images from PDFs, TIFFs and photos;
orientation and skew; tesseract through pytesseract, pages in parallel with
one thread per process; per-page text and a searchable PDF; born-digital
PDFs keep their own text.

    ocr_document(path, media_type, workdir) -> OcrResult(pages, searchable_pdf, born_digital)

Modules: ``document`` (the entry point and the process pool), ``source``
(planning, refusing unreadable input), ``pdfpages`` and ``images`` (pdfium
and Pillow), ``pageimage`` and ``worker`` (one page, in a worker),
``tesseract`` (every tesseract run), ``layout`` (orientation and skew read
from tesseract's words), ``skew`` and ``noise`` (clean-up before a retry),
``textcheck`` (real words or font garbage), ``imagepdf`` and ``searchable``
(the searchable PDF), ``result`` (what is handed back).
"""

from ocr.document import ocr_document
from ocr.result import OcrResult, PageResult

__all__ = ["OcrResult", "PageResult", "ocr_document"]
