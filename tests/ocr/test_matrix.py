"""Every spoilt variant, at 200 and 300 dpi, in each scanner format (an
image-only PDF, a CCITT G4 TIFF, a JPEG), read by the real tesseract: each
page under 3% character errors, with every needle and the right turn."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocr import ocr_document
from tests import scans
from tests.ocr.conftest import PDF, private_dir

MAX_CER = 0.03
VARIANTS = ("clean", "skewed", "noisy", "very-noisy", "upside-down", "sideways")
TURNS = {"upside-down": 180, "sideways": 90}


def _documents(folder: Path, kind: str, dpi: int) -> list[tuple[Path, str, list[str]]]:
    """(path, media type, variant of each page) of the documents to read."""
    pages = [scans.scan(v, dpi=dpi) for v in VARIANTS]
    if kind == "pdf":
        return [(scans.write_image_pdf(folder / "scan.pdf", pages, dpi=dpi), PDF, list(VARIANTS))]
    if kind == "tiff":
        path = scans.write_tiff_g4(folder / "scan.tif", pages, dpi=dpi)
        return [(path, "image/tiff", list(VARIANTS))]
    return [
        (scans.write_jpeg(folder / f"{v}.jpg", page, dpi=dpi), "image/jpeg", [v])
        for v, page in zip(VARIANTS, pages)
    ]


@pytest.mark.parametrize("dpi", [200, 300])
@pytest.mark.parametrize("kind", ["pdf", "tiff", "jpeg"])
def test_every_variant_reads_back_in_every_format(tmp_path: Path, kind: str, dpi: int) -> None:
    failures = []
    for path, media_type, variants in _documents(tmp_path, kind, dpi):
        workdir = private_dir(tmp_path / f"work-{path.stem}")
        result = ocr_document(path, media_type, workdir, jobs=2)
        assert len(result.pages) == len(variants)
        for page, variant in zip(result.pages, variants):
            error = scans.cer(scans.LETTER, page.text)
            missing = [n for n in scans.NEEDLES if n in scans.LETTER and n not in page.text]
            if error >= MAX_CER or missing or page.rotation != TURNS.get(variant, 0):
                failures.append(
                    f"{variant}: CER {error:.1%}, turned {page.rotation}, missing {missing}"
                )
    assert not failures, f"{kind} at {dpi} dpi: " + "; ".join(failures)
