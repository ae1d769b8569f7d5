"""Phone and web pictures (WebP, HEIC/HEIF, GIF, BMP) are recognised by
their content, OCR'd as scans are (each frame a page, turned upright by
their EXIF orientation, never twice), and refused with a reason when they
are cut short, claim a huge size, take too long or have no reader."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from ingest.detect import SUPPORTED, detect_media_type, unsupported_reason
from ocr import convert, document, images, ocr_document, source
from tests import pictures
from tests.ocr import poppler
from tests.ocr.conftest import leftovers
from vault.errors import UnreadableInputError

# --- detection ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(pictures.FORMATS))
def test_each_format_is_detected_by_its_content(kind: str, tmp_path: Path) -> None:
    media_type = pictures.FORMATS[kind][2]
    path = pictures.write(tmp_path / "scan.dat", pictures.strip(), kind)
    assert detect_media_type(path) == media_type
    assert media_type in SUPPORTED and media_type in source.MEDIA_TYPES


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA"])
def test_bmp_of_every_mode_is_detected(mode: str, tmp_path: Path) -> None:
    path = tmp_path / "scan.dat"
    pictures.strip().convert(mode).save(path, "BMP")
    assert detect_media_type(path) == "image/bmp"


def test_gif87a_and_a_multi_image_heif_are_detected(tmp_path: Path) -> None:
    gif = tmp_path / "old.dat"
    gif.write_bytes(
        b"GIF87a" + pictures.write(tmp_path / "a.gif", pictures.strip(), "gif").read_bytes()[6:]
    )
    assert detect_media_type(gif) == "image/gif"
    heif = pictures.write_frames(tmp_path / "two.heic", "heic", ["one", "two"])
    assert detect_media_type(heif) in ("image/heic", "image/heif")


@pytest.mark.parametrize(
    "head",
    [
        b"BM" + b"\x00" * 40,  # "BM" and nothing plausible after it
        b"BMW is a car maker. " * 4,
        b"BM" + struct.pack("<IHHII", 1000, 0, 0, 54, 41) + b"\x00" * 40,  # odd info header
        b"BM" + struct.pack("<IHHII", 1000, 0, 0, 20, 40) + b"\x00" * 40,  # pixels inside it
        b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40,  # a sound file
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 40,  # a video
        b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1" + b"\x00" * 40,  # AVIF: no reader
        b"GIF88a" + b"\x00" * 40,
    ],
)
def test_look_alikes_are_not_taken_for_pictures(head: bytes, tmp_path: Path) -> None:
    path = tmp_path / "file.dat"
    path.write_bytes(head)
    found = detect_media_type(path)
    if found is None:
        assert "not a type the vault reads" in unsupported_reason(path)
    else:  # "BMW is a car maker..." is a text file, stored as text
        assert found == "text/plain" and head.startswith(b"BMW")


def test_the_refusal_of_another_file_names_the_pictures_taken(tmp_path: Path) -> None:
    path = tmp_path / "notes.docx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    assert "HEIC, WebP, GIF, BMP" in unsupported_reason(path)


# --- OCR ------------------------------------------------------------------------------


def _words(text: str) -> set[str]:
    return set(text.split())


@pytest.mark.parametrize("kind", list(pictures.FORMATS))
def test_each_format_is_read_and_made_searchable(kind: str, tmp_path: Path, workdir: Path) -> None:
    path = pictures.write(tmp_path / f"scan.{kind}", pictures.strip(), kind)
    result = ocr_document(path, pictures.FORMATS[kind][2], workdir, jobs=1)
    assert len(result.pages) == 1
    assert _words(pictures.WORDS) <= _words(result.pages[0].text)
    assert result.searchable_pdf is not None and not result.born_digital
    assert _words(pictures.WORDS) <= _words(poppler.pdftotext(result.searchable_pdf))
    assert leftovers(workdir) == [result.searchable_pdf.name]  # the page files are gone


def _image_filters(pdf_path: Path) -> list[str]:
    with pikepdf.open(pdf_path) as pdf:
        return [
            str(xobject.Filter)
            for page in pdf.pages
            for xobject in page.Resources.XObject.values()
            if xobject.Subtype == pikepdf.Name.Image
        ]


def test_a_lossy_photo_is_kept_as_jpeg_and_a_lossless_picture_exactly(
    tmp_path: Path, workdir: Path
) -> None:
    """HEIC and lossy WebP become JPEG pages; GIF, BMP and lossless WebP are
    stored losslessly (Flate), pixel for pixel."""
    filters = {}
    for kind in pictures.FORMATS:
        path = pictures.write(tmp_path / f"scan.{kind}", pictures.strip(), kind)
        filters[kind] = convert.lossy(path, pictures.FORMATS[kind][2])
    assert filters == {
        "webp": True,
        "lossless.webp": False,
        "heic": True,
        "gif": False,
        "bmp": False,
    }
    heic = pictures.write(tmp_path / "photo.heic", pictures.strip().convert("RGB"), "heic")
    gif = pictures.write(tmp_path / "page.gif", pictures.strip(), "gif")
    for path, media_type, expected in (
        (heic, "image/heic", "/DCTDecode"),
        (gif, "image/gif", "/FlateDecode"),
    ):
        work = tmp_path / f"work-{path.suffix[1:]}"
        work.mkdir(mode=0o700)
        result = ocr_document(path, media_type, work, jobs=1)
        assert result.searchable_pdf is not None
        assert _image_filters(result.searchable_pdf) == [expected]


@pytest.mark.parametrize(
    ("kind", "orientation"),
    [("jpeg", 6), ("tiff", 6), ("tiff", 8), ("webp", 6), ("webp", 8), ("heic", 6), ("heic", 8)],
)
def test_a_sideways_photo_is_read_upright(
    kind: str, orientation: int, tmp_path: Path, workdir: Path
) -> None:
    """The pixels lie sideways; EXIF (HEIC: its rotation box) says how to turn
    them. The text is found, and the searchable page stands upright."""
    path = pictures.write_sideways(tmp_path / f"photo.{kind}", kind, orientation)
    with Image.open(path) as stored:
        assert stored.height > stored.width or kind in ("heic", "tiff")  # shown turned
    media_type = detect_media_type(path)
    assert media_type is not None
    result = ocr_document(path, media_type, workdir, jobs=1)
    assert _words(pictures.WORDS) <= _words(result.pages[0].text)
    assert result.pages[0].rotation == 0  # upright once turned by EXIF: not turned again
    assert result.searchable_pdf is not None
    with pikepdf.open(result.searchable_pdf) as pdf:
        box = pdf.pages[0].mediabox
        shown_wide = (float(box[2]) > float(box[3])) != (
            int(pdf.pages[0].get("/Rotate", 0)) % 180 == 90
        )
        assert shown_wide  # the strip is wider than tall, as a viewer shows it


@pytest.mark.parametrize("kind", ["gif", "heic"])
def test_each_frame_is_a_page(kind: str, tmp_path: Path, workdir: Path) -> None:
    path = pictures.write_frames(
        tmp_path / f"two.{kind}", kind, [pictures.WORDS, pictures.OTHER_WORDS]
    )
    media_type = detect_media_type(path)
    assert media_type is not None
    result = ocr_document(path, media_type, workdir, jobs=2)
    assert [page.number for page in result.pages] == [1, 2]
    assert _words(pictures.WORDS) <= _words(result.pages[0].text)
    assert _words(pictures.OTHER_WORDS) <= _words(result.pages[1].text)
    assert result.searchable_pdf is not None
    assert "marmalade" in poppler.pdftotext(result.searchable_pdf, 2)


@pytest.mark.parametrize("kind", ["gif", "heic"])
def test_more_frames_than_pages_allowed_is_refused(
    kind: str, tmp_path: Path, workdir: Path
) -> None:
    path = pictures.write_frames(tmp_path / f"three.{kind}", kind, ["one", "two", "three"])
    media_type = detect_media_type(path)
    assert media_type is not None
    with pytest.raises(UnreadableInputError, match="more than 2 pages"):
        ocr_document(path, media_type, workdir, max_pages=2)
    assert leftovers(workdir) == []


# --- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["webp", "heic", "gif", "bmp"])
def test_a_huge_declared_size_is_refused_before_decoding(
    kind: str, tmp_path: Path, workdir: Path
) -> None:
    path = pictures.write_bomb(tmp_path / f"bomb.{kind}", kind)
    assert path.stat().st_size < 10_000
    media_type = detect_media_type(path)
    assert media_type is not None
    with pytest.raises(UnreadableInputError, match="decompression bomb"):
        source.plan_document(path, media_type, 200)  # headers only
    with pytest.raises(UnreadableInputError, match="decompression bomb"):
        ocr_document(path, media_type, workdir)
    assert leftovers(workdir) == []


@pytest.mark.parametrize("kind", list(pictures.FORMATS))
def test_a_file_cut_short_is_refused_with_a_reason(
    kind: str, tmp_path: Path, workdir: Path
) -> None:
    path = pictures.write_truncated(tmp_path / f"cut.{kind}", kind)
    media_type = pictures.FORMATS[kind][2]
    assert detect_media_type(path) == media_type
    with pytest.raises(UnreadableInputError) as caught:
        ocr_document(path, media_type, workdir, jobs=1)
    message = caught.value.message
    assert "cannot be" in message and len(message) < 60
    assert leftovers(workdir) == []


def test_decoding_past_its_time_limit_is_stopped(
    tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = pictures.write(tmp_path / "scan.webp", pictures.strip(), "webp")
    monkeypatch.setattr(document, "CONVERT_TIMEOUT", 0.0)
    monkeypatch.setattr(document, "CONVERT_TIMEOUT_PER_PAGE", 0.0)
    with pytest.raises(UnreadableInputError, match="too long to decode"):
        ocr_document(path, "image/webp", workdir)
    assert leftovers(workdir) == []


def test_a_heic_without_its_reader_is_refused_naming_the_type(
    tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = pictures.write(tmp_path / "photo.heic", pictures.strip(), "heic")
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # as if it were not installed
    images._heif_registered.cache_clear()
    try:
        with pytest.raises(UnreadableInputError, match="a HEIC image, and no reader"):
            ocr_document(path, "image/heic", workdir)
    finally:
        images._heif_registered.cache_clear()
    assert leftovers(workdir) == []


def test_a_picture_is_parsed_by_the_reader_of_its_detected_type_only(tmp_path: Path) -> None:
    """A BMP said to be a GIF is not handed to the BMP reader."""
    path = pictures.write(tmp_path / "scan.png", pictures.strip(), "bmp")
    with pytest.raises(UnreadableInputError, match="cannot be read"):
        source.plan_document(path, "image/gif", 200)
