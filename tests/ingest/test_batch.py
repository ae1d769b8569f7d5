"""Splitting a batch scan (``ingest.batch``) without OCR: where the sheets
and blank pages are found, in every way a scanner delivers them, and the
parts written from the batch without re-encoding a page."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from ingest.batch import describe, plan_split, write_part
from tests import batchscans, scans
from vault.separator_sheet import Sheet, parse, payload

NINE = {"Quillfeather": (1, 2), "Bramblewick": (4, 6), "Thistledown": (8, 9)}


def _pages(plan_parts: list) -> list[tuple[int, int]]:  # type: ignore[type-arg]
    return [part.pages for part in plan_parts]


@pytest.mark.parametrize(
    ("kind", "dpi", "spoil"),
    [
        ("pdf", 300, None),
        ("pdf", 300, "upside-down"),
        ("pdf", 300, "skewed"),
        ("pdf", 150, None),
        ("pdf", 600, None),
        ("g4pdf", 300, "upside-down"),
        ("tiff", 150, "skewed"),
        ("colour", 200, None),
    ],
)
def test_the_nine_page_batch_splits_into_its_three_letters(
    kind: str, dpi: int, spoil: str | None, tmp_path: Path
) -> None:
    pages, where = batchscans.nine_pages(
        dpi=dpi, spoil_sheet=(lambda p: scans.spoil(p, spoil)) if spoil else None
    )
    if kind == "colour":
        pages, kind = [p.convert("RGB") for p in pages], "pdf"
    path = batchscans.write(tmp_path / "batch", pages, dpi=dpi, kind=kind)
    media = "image/tiff" if kind == "tiff" else "application/pdf"
    plan = plan_split(path, media)
    assert plan.is_batch and not plan.empty
    assert _pages(plan.parts) == list(where.values())
    assert plan.parts[0].sheet is None
    assert plan.parts[1].sheet == Sheet("court-order", "F-0042")
    assert plan.parts[2].sheet == Sheet()
    assert describe("batch.pdf", plan) == "batch.pdf: 3 documents, pages 1-2, 4-6, 8-9"


def test_a_sheet_on_the_back_of_a_duplex_page_takes_its_blank_front(tmp_path: Path) -> None:
    pages, where = batchscans.nine_pages(sheet_back=True)
    plan = plan_split(batchscans.write(tmp_path / "batch.pdf", pages), "application/pdf")
    assert _pages(plan.parts) == list(where.values()) == [(1, 2), (4, 6), (9, 10)]
    assert plan.separators == [2, 6, 7]  # the second sheet and its blank front


def test_a_patch_t_sheet_made_with_a_code_128_writer_separates(tmp_path: Path) -> None:
    for dpi in (300, 150):
        a = batchscans.letter_pages("Quillfeather", 1, dpi=dpi)[0]
        b = batchscans.letter_pages("Bramblewick", 1, dpi=dpi)[0]
        sheet = scans.spoil(scans.patch_t_page(dpi=dpi), "upside-down")
        path = batchscans.write(tmp_path / f"patch{dpi}.pdf", [a, sheet, b], dpi=dpi)
        plan = plan_split(path, "application/pdf")
        assert _pages(plan.parts) == [(1, 1), (3, 3)], dpi
        assert plan.parts[1].sheet == Sheet()


def test_blank_backs_stay_in_their_document_unless_asked(tmp_path: Path) -> None:
    a, b = (
        batchscans.letter_pages("Quillfeather", 1)[0],
        batchscans.letter_pages("Bramblewick", 1)[0],
    )
    one_line = scans.draw_page("Yours sincerely", dpi=300)
    pages = [a, scans.blank_page(noisy=True), b, one_line, scans.blank_page()]
    path = batchscans.write(tmp_path / "simplex.pdf", pages)
    plan = plan_split(path, "application/pdf")
    assert plan.blank == [1, 4]
    assert not plan.is_batch  # no sheet: stored whole, blank pages and all
    plan = plan_split(path, "application/pdf", split_on_blank=True)
    assert _pages(plan.parts) == [(1, 1), (3, 4)]
    assert plan.empty == ["no pages after the separator on page 5"]


def test_parts_with_no_page_are_named_and_the_rest_is_kept(tmp_path: Path) -> None:
    a = batchscans.letter_pages("Quillfeather", 1)[0]
    sheet = scans.separator_page(dpi=200)
    path = batchscans.write(tmp_path / "b.pdf", [sheet, a, sheet, sheet, a, sheet], dpi=200)
    plan = plan_split(path, "application/pdf")
    assert _pages(plan.parts) == [(2, 2), (5, 5)]
    assert plan.empty == [
        "no pages between the separators on pages 3 and 4",
        "no pages after the separator on page 6",
    ]


def test_a_file_of_sheets_alone_or_of_one_page_is_no_batch(tmp_path: Path) -> None:
    sheet = scans.separator_page(dpi=200)
    assert not plan_split(
        batchscans.write(tmp_path / "s.pdf", [sheet, sheet], dpi=200), "application/pdf"
    ).is_batch
    assert not plan_split(
        batchscans.write(tmp_path / "one.pdf", [sheet], dpi=200), "application/pdf"
    ).is_batch


def test_parts_are_copied_byte_for_byte_and_alike_each_time(tmp_path: Path) -> None:
    pages, _ = batchscans.nine_pages(dpi=200)
    for kind in ("pdf", "g4pdf"):
        path = batchscans.write(tmp_path / f"batch-{kind}.pdf", pages, dpi=200, kind=kind)
        plan = plan_split(path, "application/pdf")
        part = plan.parts[1]
        first = write_part(path, "application/pdf", part, tmp_path / "a.pdf")
        again = write_part(path, "application/pdf", part, tmp_path / "b.pdf")
        assert first.read_bytes() == again.read_bytes()
        with pikepdf.open(path) as batch, pikepdf.open(first) as out:
            assert len(out.pages) == 3
            for n, index in enumerate(part.indexes):
                want = [x.read_raw_bytes() for x in batch.pages[index].get_images().values()]
                got = [x.read_raw_bytes() for x in out.pages[n].get_images().values()]
                assert got == want  # the scan's own JPEG or CCITT bytes: nothing re-encoded


def test_tiff_parts_keep_every_pixel(tmp_path: Path) -> None:
    pages, _ = batchscans.nine_pages(dpi=200)
    path = batchscans.write(tmp_path / "batch.tif", pages, dpi=200, kind="tiff")
    plan = plan_split(path, "image/tiff")
    out = write_part(path, "image/tiff", plan.parts[0], tmp_path / "p.pdf")
    assert (
        out.read_bytes()
        == write_part(path, "image/tiff", plan.parts[0], tmp_path / "q.pdf").read_bytes()
    )
    with pikepdf.open(out) as pdf, Image.open(path) as tiff:
        for n, index in enumerate(plan.parts[0].indexes):
            tiff.seek(index)
            image = pikepdf.PdfImage(next(iter(pdf.pages[n].get_images().values()))).as_pil_image()
            assert image.tobytes() == tiff.convert("1").tobytes()


def test_the_payload_is_short_holds_no_name_and_reads_back() -> None:
    text = payload(Sheet("court-order", "f42"))
    assert text == "VAULTSEP1;T=court-order;F=F-0042"
    assert parse(text) == Sheet("court-order", "F-0042")
    assert parse("VAULTSEP1") == Sheet()
    assert parse("PATCHT") == Sheet()
    assert parse("VAULTSEP1;F=Smith;X=new") == Sheet()  # a name is never taken as a family
    assert parse("https://example.org") is None
    with pytest.raises(Exception, match="family reference"):
        payload(Sheet(None, "Smith"))


# --- hostile and clumsy batches ------------------------------------------------------


def _empty_pages_pdf(path: Path, count: int) -> Path:
    with pikepdf.new() as pdf:
        for _ in range(count):
            pdf.add_blank_page(page_size=(595, 842))
        pdf.save(path)
    return path


def test_a_thousand_blank_pages_are_looked_at_without_drawing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocr import pdfpages

    drawn: list[int] = []
    real = pdfpages.render
    monkeypatch.setattr(pdfpages, "render", lambda page, dpi: drawn.append(dpi) or real(page, dpi))
    path = _empty_pages_pdf(tmp_path / "blank.pdf", 1000)
    plan = plan_split(path, "application/pdf")
    assert (plan.page_count, len(plan.blank), plan.is_batch) == (1000, 1000, False)
    assert drawn == []  # a page that draws nothing is blank without being drawn
    plan = plan_split(path, "application/pdf", split_on_blank=True)
    assert plan.only_separators and not plan.parts
    assert plan.empty == [  # one warning for a run, not one a page
        "no pages between the separators on pages 1 and 1000",
        "no pages after the separator on page 1000",
    ]


def test_a_file_of_nothing_but_sheets_is_said_to_be_so(tmp_path: Path) -> None:
    sheet = scans.separator_page(dpi=150)
    path = batchscans.write(tmp_path / "s.pdf", [sheet, sheet, sheet], dpi=150)
    plan = plan_split(path, "application/pdf")
    assert plan.only_separators and plan.separators == [0, 1, 2] and not plan.blank


def test_a_huge_page_is_looked_at_coarser(tmp_path: Path) -> None:
    from ocr import separator

    path = tmp_path / "huge.pdf"
    with pikepdf.new() as pdf:
        for _ in range(2):  # 5 m square (the largest PDF allows), a line drawn on it
            page = pdf.add_blank_page(page_size=(14400, 14400))
            page.obj.Contents = pdf.make_stream(b"0 0 0 RG 50 w 100 100 m 14000 14000 l S")
        pdf.save(path)
    found = list(separator._pdf_pictures(path, 0, 2))
    for item in found:
        assert item is not None
        picture, dpi = item
        assert picture.width * picture.height <= separator.MAX_LOOK_PIXELS and dpi <= 10


HOSTILE = [
    "VAULTSEP1;T=../../x;F=<script>alert(1)</script>",
    "VAULTSEP1;T=" + "A" * 1200 + ";F=" + "9" * 1200,
    "VAULTSEP1;F=Jane Smith;T=court-order\u202e",
    "VAULTSEP1;" + ";".join(["T=x/y"] * 300),
]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_sheet_still_separates_and_gives_nothing(text: str, tmp_path: Path) -> None:
    import segno

    assert parse(text) == Sheet()
    code = tmp_path / "qr.png"
    segno.make(text, error="l").save(code, kind="png", scale=6, border=4)
    sheet = Image.new("L", (1240, 1754), 255)
    with Image.open(code) as qr:
        qr = qr.convert("L")
        qr.thumbnail((1100, 1100))
        sheet.paste(qr, (70, 300))
    a = batchscans.letter_pages("Quillfeather", 1, dpi=150)[0]
    path = batchscans.write(tmp_path / "b.pdf", [a, sheet, a], dpi=150)
    plan = plan_split(path, "application/pdf")
    assert _pages(plan.parts) == [(1, 1), (3, 3)]
    assert plan.parts[1].sheet == Sheet()


def _shared_resources_batch(path: Path, pages: int, *, inherited: bool) -> int:
    """A hostile batch: each page draws its own image, but every page's
    resources (its own, or inherited from the page tree) name every image,
    and page 1 has a link to the last page. Returns the bytes of the images."""
    import io
    import os

    with pikepdf.new() as pdf:
        names, total = {}, 0
        for n in range(pages):
            noise = Image.frombytes("L", (300, 300), os.urandom(90000))
            data = io.BytesIO()
            noise.save(data, "JPEG", quality=90)
            total += len(data.getvalue())
            names[f"/Im{n}"] = pdf.make_stream(
                data.getvalue(), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                Width=300, Height=300, ColorSpace=pikepdf.Name.DeviceGray,
                BitsPerComponent=8, Filter=pikepdf.Name.DCTDecode,
            )  # fmt: skip
        shared = pdf.make_indirect(pikepdf.Dictionary(XObject=pikepdf.Dictionary(names)))
        for n in range(pages):
            page = pdf.add_blank_page(page_size=(300, 300))
            page.obj.Contents = pdf.make_stream(f"q 300 0 0 300 0 0 cm /Im{n} Do Q".encode())
            if inherited:
                del page.obj["/Resources"]
            else:
                page.obj.Resources = shared
        if inherited:
            pdf.Root.Pages.Resources = shared
        first, last = pdf.pages[0], pdf.pages[-1]
        first.obj.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 10, 10],
            Dest=pikepdf.Array([last.obj, pikepdf.Name.Fit]), P=last.obj,
        ))]))  # fmt: skip
        pdf.save(path)
    return total


@pytest.mark.parametrize("inherited", [False, True])
def test_a_part_holds_its_own_pages_not_the_whole_batch(inherited: bool, tmp_path: Path) -> None:
    import pypdfium2

    from ingest.batch import Part

    path = tmp_path / "hostile.pdf"
    images = _shared_resources_batch(path, 20, inherited=inherited)
    assert path.stat().st_size > images
    out = write_part(path, "application/pdf", Part((0, 1)), tmp_path / "part.pdf")
    assert out.stat().st_size < images / 20 * 2 + 5000  # two pages' images, and a little
    with pikepdf.open(out) as part, pikepdf.open(path) as batch:
        assert len(part.pages) == 2
        for n in range(2):
            (image,) = part.pages[n].images.values()
            assert image.read_raw_bytes() == batch.pages[n].images[f"/Im{n}"].read_raw_bytes()
    document = pypdfium2.PdfDocument(out)
    try:
        assert len(document) == 2
        assert document[1].render(scale=0.2).to_pil().getextrema() != (255, 255)  # drawn
    finally:
        document.close()
