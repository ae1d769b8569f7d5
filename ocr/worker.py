"""OCR of one page, in a worker process.

The page is straightened first if it is tilted a degree or more, then read
by tesseract (``--psm 3``). When that reads poorly (low mean confidence, no
words on a page with ink, or lines still tilted), one retry on a cleaned
copy: 3x3 median filter if the page is speckled, straightened again if need
be, and ``--psm 1`` so tesseract finds pages that are upside down or
sideways. Of the two runs, the one with more confidently read text is kept.

Every file goes into the document's private folder, including pytesseract's
and tesseract's own temporary files (TMPDIR points there in the worker).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ocr import layout, noise, pageimage, skew, tesseract
from vault.fsutil import remove_quietly

GOOD_CONFIDENCE = 70.0  # mean word confidence below which a page is retried
RETRY_SKEW = 2.0  # degrees of tilt left in the lines read that call for a retry
MIN_INK = 0.002  # share of dark pixels below which a page with no words is blank


@dataclass(frozen=True)
class PageJob:
    number: int  # 1-based
    path: Path
    media_type: str
    index: int  # 0-based page or frame
    folder: Path  # the document's private work folder
    languages: str
    timeout: float


@dataclass(frozen=True)
class PageOutcome:
    number: int
    text: str
    confidence: float
    rotation: int  # clockwise turn that makes the page upright, relative to the image
    skew: float  # tilt found (and corrected before or by tesseract), degrees
    straightened: float  # degrees the image was turned back before OCR
    text_pdf: Path  # tesseract's text-only page for the image as OCR'd


def init_worker(folder: str) -> None:
    """Process initialiser: one tesseract thread, temporary files in ``folder``."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    for name in ("TMPDIR", "TEMP", "TMP"):
        os.environ[name] = folder
    tempfile.tempdir = folder


def _recognise(
    job: PageJob, picture: Image.Image, dpi: int, attempt: str, psm: int
) -> tesseract.Recognition:
    suffix = ".pbm" if picture.mode == "1" else ".pgm"
    image_path = job.folder / f"page-{job.number:04d}{attempt}{suffix}"
    try:
        picture.save(image_path, "PPM")
        return tesseract.recognise(
            image_path,
            job.folder / f"page-{job.number:04d}{attempt}",
            dpi=dpi,
            languages=job.languages,
            psm=psm,
            timeout=job.timeout,
        )
    finally:
        remove_quietly(image_path)


def _reads_well(result: tesseract.Recognition, picture: Image.Image) -> bool:
    if result.words:
        return result.confidence >= GOOD_CONFIDENCE
    return noise.ink_share(picture) < MIN_INK


def _outcome(job: PageJob, result: tesseract.Recognition, straightened: float) -> PageOutcome:
    turn = layout.rotation(result.words)
    tilt = straightened + layout.skew(result.words, turn)
    return PageOutcome(
        job.number, result.text, result.confidence, turn, tilt, straightened, result.text_pdf
    )


def ocr_page(job: PageJob) -> PageOutcome:
    picture, dpi = pageimage.load_page(job.path, job.media_type, job.index)
    straightened = 0.0
    tilt = skew.measure_skew(picture)
    if skew.needs_straightening(tilt):
        picture, straightened = skew.straighten(picture, tilt), tilt
    first = _recognise(job, picture, dpi, "a", tesseract.PSM_AUTO)
    first_tilt = layout.skew(first.words, layout.rotation(first.words))
    if _reads_well(first, picture) and abs(first_tilt) < RETRY_SKEW:
        return _outcome(job, first, straightened)

    cleaned, speckle = noise.despeckle(picture)
    if speckle < noise.NOISY_SHARE:
        cleaned = picture
    extra = skew.measure_skew(cleaned)
    if not skew.needs_straightening(extra):
        trusted = first.confidence >= GOOD_CONFIDENCE and abs(first_tilt) >= RETRY_SKEW
        extra = first_tilt if trusted else 0.0
    if extra:
        cleaned = skew.straighten(cleaned, extra)
    second = _recognise(job, cleaned, dpi, "b", tesseract.PSM_AUTO_OSD)
    if second.score > first.score:
        remove_quietly(first.text_pdf)
        return _outcome(job, second, straightened + extra)
    remove_quietly(second.text_pdf)
    return _outcome(job, first, straightened)
