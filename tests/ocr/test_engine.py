"""Tesseract failing (bad language, missing, too slow) is an OcrEngineError,
never a traceback, and the work folder is left empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocr import ocr_document
from tests import scans
from tests.ocr.conftest import leftovers, without_tesseract
from vault.errors import ExitCode, OcrEngineError, UsageError

PDF = "application/pdf"


@pytest.fixture
def scan_pdf(tmp_path: Path) -> Path:
    pages = [scans.scan("clean", dpi=200), scans.scan("skewed", dpi=200)]
    return scans.write_image_pdf(tmp_path / "scan.pdf", pages, dpi=200)


def test_unknown_language_is_an_engine_error(
    scan_pdf: Path, workdir: Path, system_tmp: Path
) -> None:
    with pytest.raises(OcrEngineError) as caught:
        ocr_document(scan_pdf, PDF, workdir, languages="xxx")
    assert "tesseract failed" in caught.value.message
    assert caught.value.hint and "tesseract-ocr-xxx" in caught.value.hint
    assert caught.value.exit_code == ExitCode.FAILURE
    assert leftovers(workdir) == []
    assert leftovers(system_tmp) == []


def test_malformed_languages_are_a_usage_error(scan_pdf: Path, workdir: Path) -> None:
    with pytest.raises(UsageError):
        ocr_document(scan_pdf, PDF, workdir, languages="eng -c x=1")


def test_missing_tesseract_is_an_engine_error(
    scan_pdf: Path, workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_tesseract(monkeypatch, tmp_path)
    with pytest.raises(OcrEngineError, match="not installed") as caught:
        ocr_document(scan_pdf, PDF, workdir)
    assert caught.value.hint and "tesseract-ocr" in caught.value.hint
    assert leftovers(workdir) == []


def test_timeout_is_an_engine_error(scan_pdf: Path, workdir: Path, system_tmp: Path) -> None:
    with pytest.raises(OcrEngineError, match="timed out"):
        ocr_document(scan_pdf, PDF, workdir, page_timeout=0.3)
    assert leftovers(workdir) == []
    assert leftovers(system_tmp) == []


def test_born_digital_pdf_needs_no_tesseract(
    tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proof that born-digital pages are not OCR'd: it works without tesseract."""
    path = scans.write_born_digital(tmp_path / "letter.pdf")
    without_tesseract(monkeypatch, tmp_path)
    result = ocr_document(path, PDF, workdir)
    assert [p.text for p in result.pages] == [scans.LETTER]
    assert result.born_digital
