"""The searchable PDF: a valid PDF with one page per input page, its text
found by pdftotext, original scan bytes untouched, pages shown upright with
the invisible text over the words it belongs to."""

from __future__ import annotations

import stat
from pathlib import Path

import pikepdf
import pytest

from ocr import tesseract
from tests import scans
from tests.ocr import poppler
from tests.ocr.conftest import Case, leftovers

RENDER_DPI = 100
# The text layer of a tilted page is tilted with it (so it lies on its words).
# pdftotext's default mode rebuilds lines from positions: from 1 degree it
# shuffles the lines of such a page, from about 3 degrees it splits words.
# Its -raw mode (content order, as PDF viewers' search uses) reads them all.
POPPLER_MAX_TILT = 3.0


def _image_streams(pdf_path: Path) -> list[bytes]:
    with pikepdf.open(pdf_path) as pdf:
        return [
            image.read_raw_bytes()
            for page in pdf.pages
            for image in pikepdf.Page(page).get_images().values()
        ]


def test_searchable_pdf_is_valid_and_complete(ocr_case: Case) -> None:
    searchable = ocr_case.result.searchable_pdf
    assert searchable is not None
    assert searchable.parent == ocr_case.workdir
    assert leftovers(ocr_case.workdir) == [searchable.name]
    assert stat.S_IMODE(searchable.stat().st_mode) == 0o600
    with pikepdf.open(searchable) as pdf:
        assert len(pdf.pages) == len(ocr_case.texts)
        pdf.check_pdf_syntax()
    for page, expected, variant in zip(ocr_case.result.pages, ocr_case.texts, ocr_case.variants):
        needles = [n for n in scans.NEEDLES if n in expected]
        in_order = poppler.pdftotext(searchable, page.number, raw=True)
        if variant != "garbage":  # whose original (garbage) text layer is kept as it was
            assert scans.cer(expected, in_order) < 0.05, f"page {page.number}"
        assert all(n in in_order for n in needles), f"pdftotext -raw, page {page.number}"
        if abs(page.skew) < POPPLER_MAX_TILT:
            laid_out = poppler.pdftotext(searchable, page.number)
            assert all(n in laid_out for n in needles), f"pdftotext, page {page.number}"


@pytest.mark.parametrize("fixture", ["pdf_300", "mixed_pdf"])
def test_original_scan_bytes_are_kept(request: pytest.FixtureRequest, fixture: str) -> None:
    case: Case = request.getfixturevalue(fixture)
    assert case.result.searchable_pdf is not None
    original = _image_streams(case.path)
    assert original
    kept = _image_streams(case.result.searchable_pdf)
    for stream in original:
        assert stream in kept
    size = case.result.searchable_pdf.stat().st_size
    text_layers = size - case.path.stat().st_size
    assert text_layers < 20_000 * len(case.texts), "text layers should be a few KB a page"


def test_jpeg_goes_into_the_pdf_byte_for_byte(jpeg_exif: Case) -> None:
    assert jpeg_exif.result.searchable_pdf is not None
    assert _image_streams(jpeg_exif.result.searchable_pdf) == [jpeg_exif.path.read_bytes()]


def test_born_digital_searchable_pdf_is_the_original(born_digital: Case) -> None:
    searchable = born_digital.result.searchable_pdf
    assert searchable is not None
    assert searchable.read_bytes() == born_digital.path.read_bytes()
    assert stat.S_IMODE(searchable.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("fixture", "page"),
    [
        ("pdf_300", 2),
        ("pdf_300", 4),
        ("pdf_300", 5),
        ("tiff_200", 2),
        ("jpeg_exif", 1),
        ("mixed_pdf", 3),
        ("mixed_pdf", 4),
    ],
    ids=[
        "sideways",
        "very-skewed",
        "sideways-skewed",
        "upside-down",
        "exif-turned",
        "garbage-text",
        "had-rotate",
    ],
)
def test_page_shows_upright_with_text_over_its_words(
    request: pytest.FixtureRequest, fixture: str, page: int, tmp_path: Path
) -> None:
    """Draw the page as a viewer would (poppler) and OCR the drawing: it reads
    upright, and pdftotext's box for a needle lies on the drawn word."""
    case: Case = request.getfixturevalue(fixture)
    assert case.result.searchable_pdf is not None
    drawn = poppler.render_page(case.result.searchable_pdf, page, tmp_path / "page", dpi=RENDER_DPI)
    seen = tesseract.recognise(
        drawn,
        tmp_path / "seen",
        dpi=RENDER_DPI,
        languages="eng",
        psm=tesseract.PSM_AUTO,
        timeout=120,
    )
    assert seen.confidence > 80
    # (tesseract may misread a letter of the page drawn tilted; it is the place that counts)
    drawn_word = min(seen.words, key=lambda w: scans.levenshtein(w.text, "Przybylski,"))
    assert scans.levenshtein(drawn_word.text, "Przybylski,") <= 2
    # Poppler splits words of a tilted line, so compare where the word starts.
    layer_word = next(
        w for w in poppler.word_boxes(case.result.searchable_pdf, page) if w[0].startswith("Przy")
    )
    scale = 72 / RENDER_DPI
    drawn_start = (drawn_word.left * scale, (drawn_word.top + drawn_word.height / 2) * scale)
    layer_start = (layer_word[1], (layer_word[2] + layer_word[4]) / 2)
    assert drawn_start == pytest.approx(layer_start, abs=6), "text layer is off its word"
