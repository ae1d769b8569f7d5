"""Input that cannot be read is refused with a short reason, and leaves
nothing behind in the work folder or the system temp dir."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest

from ocr import ocr_document
from tests import scans
from tests.ocr.conftest import leftovers
from vault.errors import UnreadableInputError

PDF = "application/pdf"


def _truncated_pdf(folder: Path) -> tuple[Path, str]:
    whole = scans.write_image_pdf(folder / "whole.pdf", [scans.scan("clean", dpi=200)], dpi=200)
    cut = folder / "cut.pdf"
    cut.write_bytes(whole.read_bytes()[:4000])
    return cut, PDF


def _random_pdf(folder: Path) -> tuple[Path, str]:
    path = folder / "random.pdf"
    path.write_bytes(b"%PDF-1.7\n" + os.urandom(20_000))
    return path, PDF


def _locked_pdf(folder: Path) -> tuple[Path, str]:
    plain = scans.write_born_digital(folder / "plain.pdf")
    return scans.write_encrypted_pdf(folder / "locked.pdf", plain), PDF


def _png_bomb(folder: Path) -> tuple[Path, str]:
    return scans.write_png_bomb(folder / "bomb.png"), "image/png"


def _pdf_bomb(folder: Path) -> tuple[Path, str]:
    """A PDF page drawing an image that claims 40000 x 40000 pixels."""
    path = folder / "bomb.pdf"
    with pikepdf.new() as pdf:
        page = pdf.add_blank_page(page_size=(595, 842))
        image = pikepdf.Stream(pdf, b"\x00" * 1000)
        image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        image.Width = image.Height = 40_000
        image.ColorSpace, image.BitsPerComponent = pikepdf.Name.DeviceGray, 8
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
        page.obj.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
        pdf.save(path)
    return path, PDF


def _not_an_image(folder: Path) -> tuple[Path, str]:
    path = folder / "fake.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(5000))
    return path, "image/png"


def _truncated_jpeg(folder: Path) -> tuple[Path, str]:
    return scans.write_truncated_jpeg(folder / "cut.jpg", scans.scan("clean", dpi=200)), (
        "image/jpeg"
    )


def _broken_tiff_page(folder: Path) -> tuple[Path, str]:
    pages = [scans.scan("clean", dpi=200)] * 3
    return scans.write_tiff_with_broken_page(folder / "broken.tif", pages, broken=1), "image/tiff"


CASES: dict[str, tuple[Callable[[Path], tuple[Path, str]], str]] = {
    "truncated PDF": (_truncated_pdf, "PDF cannot be read"),
    "random bytes PDF": (_random_pdf, "PDF cannot be read"),
    "password-protected PDF": (_locked_pdf, "password-protected PDF"),
    "PNG decompression bomb": (_png_bomb, "decompression bomb"),
    "PDF image decompression bomb": (_pdf_bomb, "decompression bomb"),
    "not an image": (_not_an_image, "cannot be read"),
    "truncated JPEG": (_truncated_jpeg, "cannot be decoded"),
    "TIFF with a broken page in the middle": (_broken_tiff_page, "cannot be decoded"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_unreadable_input_is_refused_with_a_reason(
    name: str, tmp_path: Path, workdir: Path, system_tmp: Path
) -> None:
    make, reason = CASES[name]
    path, media_type = make(tmp_path)
    with pytest.raises(UnreadableInputError) as caught:
        ocr_document(path, media_type, workdir, jobs=2)
    message = caught.value.message
    assert reason in message
    assert len(message) < 60 and "\n" not in message
    assert not any(needle in message for needle in scans.NEEDLES)
    assert leftovers(workdir) == []
    assert leftovers(system_tmp) == []


@pytest.mark.parametrize("media_type", [PDF, "image/tiff"])
def test_more_pages_than_allowed_is_refused(media_type: str, tmp_path: Path, workdir: Path) -> None:
    pages = [scans.scan("clean", dpi=100)] * 3
    if media_type == PDF:
        path = scans.write_image_pdf(tmp_path / "three.pdf", pages, dpi=100)
    else:
        path = scans.write_tiff_g4(tmp_path / "three.tif", pages, dpi=100)
    with pytest.raises(UnreadableInputError, match="more than 2 pages"):
        ocr_document(path, media_type, workdir, max_pages=2)
    assert leftovers(workdir) == []


def test_unknown_media_type_is_refused(tmp_path: Path, workdir: Path) -> None:
    path = scans.write_born_digital(tmp_path / "doc.pdf")
    with pytest.raises(UnreadableInputError):
        ocr_document(path, "application/msword", workdir)
