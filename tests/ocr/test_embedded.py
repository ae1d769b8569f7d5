"""A PDF page that is nothing but its JPEG scan is decoded from the stored
JPEG (the pixels pdfium would draw); any other page is left to pdfium."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageChops, ImageStat

from ocr import pageimage, pdfpages
from ocr.embedded import StoredScans
from tests import scans

PDF = "application/pdf"


@pytest.fixture(scope="module")
def scan_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two JPEG pages, as scanners make them: 300 dpi grey, 200 dpi colour."""
    folder = tmp_path_factory.mktemp("embedded")
    grey = scans.write_image_pdf(folder / "grey.pdf", [scans.scan("clean")])
    colour = scans.write_image_pdf(
        folder / "colour.pdf", [scans.scan("skewed", dpi=200).convert("RGB")], dpi=200
    )
    return scans.merge_pdfs(folder / "scan.pdf", [grey, colour])


def test_a_page_that_is_only_its_scan_is_taken_as_stored(scan_pdf: Path) -> None:
    with pikepdf.open(scan_pdf) as pdf:
        stored = [
            next(iter(pikepdf.Page(page).get_images().values())).read_raw_bytes()
            for page in pdf.pages
        ]
    with StoredScans(scan_pdf) as scans_in:
        grey, colour = scans_in.scan(0), scans_in.scan(1)
    assert grey is not None and colour is not None
    assert (grey.data, grey.mode, grey.dpi) == (stored[0], "L", 300)
    assert (colour.data, colour.mode, colour.dpi) == (stored[1], "RGB", 200)


@pytest.mark.parametrize("index", [0, 1])
def test_decoded_scan_is_what_pdfium_draws(scan_pdf: Path, index: int) -> None:
    with StoredScans(scan_pdf) as scans_in:
        scan = scans_in.scan(index)
    assert scan is not None
    decoded, dpi = pageimage.load_page(scan_pdf, PDF, index, scan)
    document = pdfpages.open_pdf(scan_pdf)
    try:
        page = pdfpages.get_page(document, index)
        assert pdfpages.render_dpi(page) == dpi
        drawn = pdfpages.render(page, dpi)
        page.close()
    finally:
        document.close()
    assert decoded.mode == "L"
    # pdfium's bitmap is a pixel wider (it rounds the page width up); compare what both have.
    width, height = min(decoded.width, drawn.width), min(decoded.height, drawn.height)
    assert abs(decoded.width - drawn.width) <= 1 and abs(decoded.height - drawn.height) <= 1
    box = (0, 0, width, height)
    difference = ImageChops.difference(decoded.crop(box), drawn.crop(box))
    assert ImageStat.Stat(difference).mean[0] < 2.0


def test_a_damaged_stored_jpeg_is_drawn_by_pdfium(scan_pdf: Path) -> None:
    with StoredScans(scan_pdf) as scans_in:
        scan = scans_in.scan(0)
    assert scan is not None
    broken = pageimage.EmbeddedScan(scan.data[:2000], scan.size, scan.mode, scan.dpi)
    picture, dpi = pageimage.load_page(scan_pdf, PDF, 0, broken)
    assert (picture.mode, dpi) == ("L", 300)
    assert abs(picture.width - scan.size[0]) <= 1 and abs(picture.height - scan.size[1]) <= 1


def _first_page(pdf: pikepdf.Pdf) -> tuple[pikepdf.Page, pikepdf.Stream]:
    page = pikepdf.Page(pdf.pages[0])
    return page, next(iter(page.get_images().values()))


def _rotated(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].Rotate = 90


def _cropped(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].CropBox = [0, 0, 300, 400]


def _with_text(pdf: pikepdf.Pdf) -> None:
    page, _ = _first_page(pdf)
    page.contents_add(b"BT /F1 12 Tf 72 72 Td (stamp) Tj ET")


def _image_scaled_down(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].Contents = pdf.make_stream(b"q 297.72 0 0 420.84 0 0 cm /image Do Q")


def _with_decode_array(pdf: pikepdf.Pdf) -> None:
    _, image = _first_page(pdf)
    image.Decode = [1, 0]


def _with_soft_mask(pdf: pikepdf.Pdf) -> None:
    _, image = _first_page(pdf)
    mask = pikepdf.Stream(pdf, b"\xff" * 4)
    mask.Type, mask.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    mask.Width = mask.Height = 2
    mask.ColorSpace, mask.BitsPerComponent = pikepdf.Name.DeviceGray, 8
    image.SMask = mask


def _with_annotation(pdf: pikepdf.Pdf) -> None:
    note = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Square, Rect=[10, 10, 100, 100]
    )
    pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([note]))


def _in_icc_colour(pdf: pikepdf.Pdf) -> None:
    _, image = _first_page(pdf)
    profile = pikepdf.Stream(pdf, b"")
    profile.N = 1
    image.ColorSpace = pikepdf.Array([pikepdf.Name.ICCBased, profile])


@pytest.mark.parametrize(
    "change",
    [
        _rotated,
        _cropped,
        _with_text,
        _image_scaled_down,
        _with_decode_array,
        _with_soft_mask,
        _with_annotation,
        _in_icc_colour,
    ],
)
def test_any_other_page_is_left_to_pdfium(
    tmp_path: Path, change: Callable[[pikepdf.Pdf], None]
) -> None:
    path = scans.write_image_pdf(tmp_path / "scan.pdf", [scans.scan("clean", dpi=200)], dpi=200)
    with StoredScans(path) as scans_in:
        assert scans_in.scan(0) is not None
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        change(pdf)
        pdf.save(path)
    with StoredScans(path) as scans_in:
        assert scans_in.scan(0) is None


@pytest.mark.parametrize("dpi", [150, 400])
def test_a_scan_not_drawn_at_its_own_resolution_is_left_to_pdfium(tmp_path: Path, dpi: int) -> None:
    """Below 200 dpi pages are drawn at 300 dpi, above 300 dpi at 300 dpi."""
    page = Image.new("L", (round(8.27 * dpi), round(11.69 * dpi)), 255)
    path = scans.write_image_pdf(tmp_path / "scan.pdf", [page], dpi=dpi)
    with StoredScans(path) as scans_in:
        assert scans_in.scan(0) is None


def test_bilevel_scans_are_left_to_pdfium(tmp_path: Path) -> None:
    path = scans.write_image_pdf(
        tmp_path / "fax.pdf", [scans.scan("clean", dpi=200)], dpi=200, bilevel=True
    )
    with StoredScans(path) as scans_in:
        assert scans_in.scan(0) is None


def test_a_pdf_pikepdf_cannot_open_is_left_to_pdfium(tmp_path: Path) -> None:
    path = tmp_path / "random.pdf"
    path.write_bytes(b"%PDF-1.7\nnot really")
    with StoredScans(path) as scans_in:
        assert scans_in.scan(0) is None
