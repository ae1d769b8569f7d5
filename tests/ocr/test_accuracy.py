"""Real tesseract on synthetic scans: every variant and format reads back
with under 3% character errors, needles found, pages turned and straightened."""

from __future__ import annotations

import pytest

from tests import scans
from tests.ocr.conftest import Case

MAX_CER = 0.03


def test_every_scanned_page_reads_back(ocr_case: Case) -> None:
    result = ocr_case.result
    assert [p.number for p in result.pages] == list(range(1, len(ocr_case.texts) + 1))
    for page, variant, expected in zip(result.pages, ocr_case.variants, ocr_case.texts):
        error = scans.cer(expected, page.text)
        assert error < MAX_CER, f"page {page.number} ({variant}): CER {error:.1%}"
        if variant == "text":
            assert page.source == "text"
            continue
        assert page.source == "ocr"
        assert page.confidence is not None and page.confidence > 80
        for needle in scans.NEEDLES:
            if needle in expected:
                assert needle in page.text, f"page {page.number} ({variant}) lacks {needle}"


def test_pages_are_turned_upright(
    pdf_300: Case, tiff_200: Case, jpeg_exif: Case, mixed_pdf: Case
) -> None:
    turns = {
        "clean": 0,
        "noisy": 0,
        "skewed": 0,
        "very-skewed": 0,
        "upside-down": 180,
        "sideways": 90,
        "sideways-skewed": 90,
    }
    for case in (pdf_300, tiff_200):
        for page, variant in zip(case.result.pages, case.variants):
            assert page.rotation == turns[variant], f"{variant} page turned {page.rotation}"
    # EXIF orientation is how the photo is shown, so nothing more to turn.
    assert jpeg_exif.result.pages[0].rotation == 0
    # Shown upside down by its own /Rotate: turned relative to how it was shown.
    assert mixed_pdf.result.pages[3].rotation == 180


@pytest.mark.parametrize(
    ("fixture", "page", "tilt"),
    [
        ("tiff_200", 3, 2.0),
        ("pdf_300", 4, -5.0),
        ("pdf_300", 1, 0.0),
        ("tiff_200", 2, 0.0),
        ("pdf_300", 5, 3.0),
    ],
)
def test_skew_is_measured(
    request: pytest.FixtureRequest, fixture: str, page: int, tilt: float
) -> None:
    case: Case = request.getfixturevalue(fixture)
    assert case.result.pages[page - 1].skew == pytest.approx(tilt, abs=0.4)


def test_progress_is_reported_after_each_page(ocr_case: Case) -> None:
    total = len(ocr_case.texts)
    assert ocr_case.progress == [(done, total) for done in range(1, total + 1)]


def test_born_digital_pdf_keeps_its_own_text(born_digital: Case) -> None:
    result = born_digital.result
    assert result.born_digital
    assert [p.source for p in result.pages] == ["text", "text"]
    assert [p.text for p in result.pages] == born_digital.texts
    assert all(p.confidence is None and p.rotation == 0 and p.skew == 0 for p in result.pages)


def test_mixed_pdf_ocrs_only_pages_without_real_text(mixed_pdf: Case) -> None:
    result = mixed_pdf.result
    assert not result.born_digital
    assert [p.source for p in result.pages] == ["text", "ocr", "ocr", "ocr"]
    assert result.pages[0].text == scans.SECOND_LETTER
