"""OCR of one page, in a worker process.

A page with no print on it (``noise.looks_blank``: the empty back of a
duplex page) is not given to tesseract at all: it has no text and no text
layer. Before tesseract, a quick look at the page (well under 0.1 s): a page
strewn with specks is cleaned (``noise.despeckle``), a page tilted a degree
or more is straightened, and a page whose way up is clear from its ink
(``upright``) is turned upright and read without orientation detection
(``--psm 3``); any other page is read as it lies with it (``--psm 1``, a
tenth slower). When that reads poorly (low mean confidence, no words on a
page with ink, or lines still tilted), one retry as the page lies, with
``--psm 1``, on the other copy (cleaned of specks if the first was not and the
page is speckled; unfiltered if it was), straightened again if need be; it
is skipped when it would read the same image the same way. Of the two runs,
the one with more confidently read text is kept.

Tesseract gets the part of the image with ink on it, with a sixth of an
inch of paper round it (its rule and blob finding costs grow with the area,
a tenth of a second for the margins of an A4 page), as an uncompressed TIFF
(leptonica reads that in a few milliseconds, a PGM byte by byte in 0.2 s).
The text layer it makes is placed back over the whole image.

Every file goes into the document's private folder, including
tesseract's own temporary files (TMPDIR points there in the worker).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ocr import layout, noise, pageimage, skew, tesseract, upright
from vault.fsutil import remove_quietly
from vault.workers import start_worker

GOOD_CONFIDENCE = 70.0  # mean word confidence below which a page is retried
CROP_MARGIN = 1 / 6  # inches of paper kept round the ink when the margins are cut off
MIN_CROP_GAIN = 0.05  # share of the image cutting off the margins must save to be done
RETRY_SKEW = 2.0  # degrees of tilt left in the lines read that call for a retry
MIN_INK = 0.002  # share of dark pixels below which a page with no words is blank


Frame = tuple[float, float, float, float]  # left, bottom, right, top in points


@dataclass(frozen=True)
class PageJob:
    number: int  # 1-based
    path: Path
    media_type: str
    index: int  # 0-based page or frame
    folder: Path  # the document's private work folder
    languages: str
    timeout: float
    scan: pageimage.EmbeddedScan | None = None  # the page's stored JPEG, if it is only that


@dataclass(frozen=True)
class PageOutcome:
    number: int
    text: str
    confidence: float
    rotation: int  # clockwise turn that makes the page upright, relative to the image
    skew: float  # tilt found (and corrected before or by tesseract), degrees
    straightened: float  # degrees the image was turned back before OCR
    text_pdf: Path | None  # tesseract's text-only page for the image as OCR'd; None: blank
    turned: int = 0  # clockwise degrees the straightened image was turned before OCR
    frame: Frame | None = None  # the whole image in text_pdf's coordinates, if cropped


@dataclass(frozen=True)
class _Reading:
    result: tesseract.Recognition
    frame: Frame | None  # the whole image in the coordinates of the text layer, if cropped


def init_worker(folder: str, parent: int) -> None:
    """Process initialiser: Ctrl-C left to the parent, death with it
    (``vault.workers``); one tesseract thread; temporary files in ``folder``."""
    start_worker(parent)
    os.environ["OMP_THREAD_LIMIT"] = "1"
    for name in ("TMPDIR", "TEMP", "TMP"):
        os.environ[name] = folder
    tempfile.tempdir = folder


def _recognise(job: PageJob, picture: Image.Image, dpi: int, attempt: str, psm: int) -> _Reading:
    """Tesseract on ``picture`` with its blank margins cut off: the time it
    spends finding rules and blobs grows with the area it is given."""
    frame: Frame | None = None
    box = noise.ink_bounds(picture, round(CROP_MARGIN * dpi))
    if box is not None:
        left, top, right, bottom = box
        if (right - left) * (bottom - top) < (1 - MIN_CROP_GAIN) * picture.width * picture.height:
            k = 72 / dpi  # points a pixel
            width, height = picture.width * k, picture.height * k
            frame = (-left * k, bottom * k - height, width - left * k, bottom * k)
            picture = picture.crop(box)
    image_path = job.folder / f"page-{job.number:04d}{attempt}.tif"
    try:
        picture.save(image_path, "TIFF", dpi=(dpi, dpi), compression="raw")
        result = tesseract.recognise(
            image_path,
            job.folder / f"page-{job.number:04d}{attempt}",
            dpi=dpi,
            languages=job.languages,
            psm=psm,
            timeout=job.timeout,
        )
    finally:
        remove_quietly(image_path)
    return _Reading(result, frame)


def _reads_well(result: tesseract.Recognition, picture: Image.Image) -> bool:
    if result.words:
        return result.confidence >= GOOD_CONFIDENCE
    return noise.ink_share(picture) < MIN_INK


_TRANSPOSE = {
    90: Image.Transpose.ROTATE_270,  # Pillow's turns are counter-clockwise
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


def _outcome(job: PageJob, reading: _Reading, straightened: float, turned: int = 0) -> PageOutcome:
    result = reading.result
    turn = layout.rotation(result.words)
    tilt = straightened + layout.skew(result.words, turn)
    return PageOutcome(
        job.number,
        result.text,
        result.confidence,
        (turned + turn) % 360,
        tilt,
        straightened,
        result.text_pdf,
        turned,
        reading.frame,
    )


def ocr_page(job: PageJob) -> PageOutcome:
    picture, dpi = pageimage.load_page(job.path, job.media_type, job.index, job.scan)
    if noise.looks_blank(picture, dpi):  # the empty back of a duplex page: not OCR'd
        return PageOutcome(job.number, "", 0.0, 0, 0.0, 0.0, None)
    unfiltered = None  # the page as loaded, if it was filtered
    speckled = noise.looks_speckled(picture)
    if speckled:
        filtered, speckle = noise.despeckle(picture, dpi)
        if speckle >= noise.NOISY_SHARE:
            picture, unfiltered = filtered, picture
    tilt, across = skew.measure_lines(picture)
    turn = upright.turn_to_upright(picture, tilt, across)
    straightened = 0.0
    if skew.needs_straightening(tilt):
        picture, straightened = skew.straighten(picture, tilt), tilt
    if turn is None:
        first = _recognise(job, picture, dpi, "a", tesseract.PSM_AUTO_OSD)
    else:
        shown = picture.transpose(_TRANSPOSE[turn]) if turn else picture
        first = _recognise(job, shown, dpi, "a", tesseract.PSM_AUTO)
    words = first.result.words
    first_tilt = layout.skew(words, layout.rotation(words))
    if _reads_well(first.result, picture) and abs(first_tilt) < RETRY_SKEW:
        return _outcome(job, first, straightened, turn or 0)

    # The retry reads the other copy: filtered if the first was not and the
    # page is speckled, unfiltered if it was (the filter may eat small print).
    retry = picture
    if unfiltered is not None:
        retry = skew.straighten(unfiltered, straightened) if straightened else unfiltered
    elif speckled:
        retry, _ = noise.despeckle(picture, dpi)
    extra = skew.measure_skew(retry)
    if not skew.needs_straightening(extra):
        confident = first.result.confidence >= GOOD_CONFIDENCE
        extra = first_tilt if confident and abs(first_tilt) >= RETRY_SKEW else 0.0
    if extra:
        retry = skew.straighten(retry, extra)
    if retry is picture and turn is None:
        return _outcome(job, first, straightened)  # a second run would read the same
    second = _recognise(job, retry, dpi, "b", tesseract.PSM_AUTO_OSD)
    if second.result.score > first.result.score:
        remove_quietly(first.result.text_pdf)
        return _outcome(job, second, straightened + extra)
    remove_quietly(second.result.text_pdf)
    return _outcome(job, first, straightened, turn or 0)
