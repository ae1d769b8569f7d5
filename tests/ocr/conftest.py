"""Fixtures of the OCR tests: synthetic scans OCR'd once per session by the
real tesseract, and private work folders checked for leftovers."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from ocr import OcrResult, ocr_document
from tests import scans

PDF = "application/pdf"


@dataclass(frozen=True)
class Case:
    """An input, what each page should read, and what OCR made of it."""

    path: Path
    media_type: str
    variants: list[str]  # per page: a scans variant, "text" (born-digital) or "garbage"
    texts: list[str]  # per page: the expected text
    result: OcrResult
    progress: list[tuple[int, int]]
    workdir: Path


def private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True)
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    path = private_dir(tmp_path / "work")
    yield path


@pytest.fixture
def system_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder standing in for the system temp dir (this process and
    every process it starts)."""
    path = private_dir(tmp_path / "system-tmp")
    for name in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.setenv(name, str(path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return path


def _run(
    root: Path,
    name: str,
    path: Path,
    media_type: str,
    variants: list[str],
    texts: list[str],
    *,
    jobs: int | None = None,
) -> Case:
    workdir = private_dir(root / f"work-{name}")
    progress: list[tuple[int, int]] = []
    result = ocr_document(
        path,
        media_type,
        workdir,
        jobs=jobs,
        on_page=lambda done, total: progress.append((done, total)),
    )
    return Case(path, media_type, variants, texts, result, progress, workdir)


@pytest.fixture(scope="session")
def ocr_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ocr")


def _page(variant: str) -> Image.Image:
    if variant == "sideways-skewed":  # turned and straightened before OCR: both undone
        return scans.scan("sideways").rotate(3, resample=Image.Resampling.BICUBIC, fillcolor=255)
    return scans.scan(variant)


@pytest.fixture(scope="session")
def pdf_300(ocr_root: Path) -> Case:
    """An image-only PDF (JPEG pages) at 300 dpi."""
    variants = ["clean", "sideways", "noisy", "very-skewed", "sideways-skewed"]
    path = scans.write_image_pdf(ocr_root / "scan-300.pdf", [_page(v) for v in variants])
    return _run(ocr_root, "pdf", path, PDF, variants, [scans.LETTER] * len(variants))


@pytest.fixture(scope="session")
def tiff_200(ocr_root: Path) -> Case:
    """A CCITT G4 TIFF at 200 dpi."""
    variants = ["clean", "upside-down", "skewed"]
    pages = [scans.scan(v, dpi=200) for v in variants]
    path = scans.write_tiff_g4(ocr_root / "scan-200.tif", pages, dpi=200)
    return _run(ocr_root, "tiff", path, "image/tiff", variants, [scans.LETTER] * 3)


@pytest.fixture(scope="session")
def jpeg_exif(ocr_root: Path) -> Case:
    """A phone-style JPEG stored sideways with an EXIF orientation, 200 dpi, one worker."""
    path = scans.write_jpeg(
        ocr_root / "photo.jpg", scans.scan("clean", dpi=200), dpi=200, exif_rotate=True
    )
    return _run(ocr_root, "jpeg", path, "image/jpeg", ["clean"], [scans.LETTER], jobs=1)


@pytest.fixture(scope="session")
def png_noisy(ocr_root: Path) -> Case:
    """A PNG at 300 dpi so noisy that tesseract reads nothing until it is filtered."""
    path = scans.write_png(ocr_root / "noisy.png", scans.scan("very-noisy"))
    return _run(ocr_root, "png", path, "image/png", ["very-noisy"], [scans.LETTER])


@pytest.fixture(scope="session")
def born_digital(ocr_root: Path) -> Case:
    texts = [scans.LETTER, scans.SECOND_LETTER]
    path = scans.write_born_digital(ocr_root / "born.pdf", texts)
    return _run(ocr_root, "born", path, PDF, ["text", "text"], texts)


@pytest.fixture(scope="session")
def mixed_pdf(ocr_root: Path) -> Case:
    """A born-digital page, a bilevel (CCITT) scan, a scan whose text layer is font
    garbage (it must be OCR'd), and a sideways scan whose /Rotate 270 shows
    it upside down (OCR must turn it a further 180 degrees)."""
    digital = scans.write_born_digital(ocr_root / "mixed-part1.pdf", [scans.SECOND_LETTER])
    scanned = scans.write_image_pdf(
        ocr_root / "mixed-part2.pdf", [scans.scan("clean", dpi=200)], dpi=200, bilevel=True
    )
    garbage = scans.write_garbage_text_pdf(
        ocr_root / "mixed-part3.pdf", scans.scan("clean", dpi=200), dpi=200
    )
    turned = scans.write_image_pdf(
        ocr_root / "mixed-part4.pdf", [scans.scan("sideways", dpi=200)], dpi=200
    )
    scans.set_page_rotation(turned, {0: 270})
    path = scans.merge_pdfs(ocr_root / "mixed.pdf", [digital, scanned, garbage, turned])
    return _run(
        ocr_root,
        "mixed",
        path,
        PDF,
        ["text", "clean", "garbage", "turned"],
        [scans.SECOND_LETTER, scans.LETTER, scans.LETTER, scans.LETTER],
    )


@pytest.fixture(
    scope="session", params=["pdf_300", "tiff_200", "jpeg_exif", "png_noisy", "mixed_pdf"]
)
def ocr_case(request: pytest.FixtureRequest) -> Case:
    """Each scanned document in turn."""
    case: Case = request.getfixturevalue(request.param)
    return case


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def without_tesseract(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """PATH with no tesseract on it (for this process and its workers)."""
    monkeypatch.setenv("PATH", str(private_dir(tmp_path / "empty-bin")))


def small_print(dpi: int = 200, points: int = 6) -> tuple[Image.Image, str]:
    """A page full of small print (6 pt at 200 dpi), black and white, as a fax
    might bring, and its text."""
    page = Image.new("L", (round(8.27 * dpi), round(11.69 * dpi)), 255)
    size, step = round(points / 72 * dpi), round(points / 72 * dpi * 1.3)
    text = scans.dense_text(7, lines=(page.height - 280) // step)
    draw = ImageDraw.Draw(page)
    for number, line in enumerate(text.splitlines()):
        draw.text((140, 140 + number * step), line, font=scans.font(size), fill=0)
    return scans.to_bilevel(page), text
