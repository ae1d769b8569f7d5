"""A PDF of image pages, built from a TIFF, JPEG or PNG, pixels kept as they are
(a WebP, HEIC, GIF or BMP comes as its JPEG or PNG pages, see ``convert``).

A JPEG goes in byte for byte (DCTDecode): no second lossy compression. If
its EXIF orientation is a plain turn, the page's /Rotate shows it upright.
Other images (and mirrored or CMYK JPEGs) are decoded and stored losslessly
(Flate), 1-bit pages as 1-bit. Page size comes from the image resolution.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import pikepdf
from PIL import Image

from ocr import images, source

FLATE_LEVEL = 6
_COLOUR_SPACES = {"1": pikepdf.Name.DeviceGray, "L": pikepdf.Name.DeviceGray}


def _add_page(
    pdf: pikepdf.Pdf, xobject: pikepdf.Stream, size: tuple[int, int], dpi: tuple[float, float]
) -> pikepdf.Page:
    width, height = size[0] / dpi[0] * 72, size[1] / dpi[1] * 72
    page = pdf.add_blank_page(page_size=(width, height))
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobject))
    page.obj.Contents = pdf.make_stream(f"q {width:.4f} 0 0 {height:.4f} 0 0 cm /Im0 Do Q".encode())
    return page


def _image_stream(
    pdf: pikepdf.Pdf, data: bytes, size: tuple[int, int], mode: str, codec: pikepdf.Name
) -> pikepdf.Stream:
    stream = pikepdf.Stream(pdf, b"")
    stream.write(data, filter=codec)
    stream.Type = pikepdf.Name.XObject
    stream.Subtype = pikepdf.Name.Image
    stream.Width, stream.Height = size
    stream.ColorSpace = _COLOUR_SPACES.get(mode, pikepdf.Name.DeviceRGB)
    stream.BitsPerComponent = 1 if mode == "1" else 8
    return stream


def _add_decoded(pdf: pikepdf.Pdf, picture: Image.Image, dpi: tuple[float, float]) -> None:
    flat = images.flatten(picture)
    data = zlib.compress(flat.tobytes(), FLATE_LEVEL)
    xobject = _image_stream(pdf, data, flat.size, flat.mode, pikepdf.Name.FlateDecode)
    _add_page(pdf, xobject, flat.size, dpi)


def _add_photo(pdf: pikepdf.Pdf, path: Path, media_type: str) -> None:
    with images.open_image(path, media_type=media_type) as photo, images.decoding("the image"):
        dpi = images.resolution(photo)
        turn = images.EXIF_TURNS.get(images.exif_orientation(photo))
        if media_type == source.JPEG and photo.mode in ("L", "RGB") and turn is not None:
            xobject = _image_stream(
                pdf, path.read_bytes(), photo.size, photo.mode, pikepdf.Name.DCTDecode
            )
            page = _add_page(pdf, xobject, photo.size, dpi)
            if turn:
                page.obj.Rotate = turn
            return
        photo.load()
        upright = images.upright_by_exif(photo)
        if upright.size != photo.size:
            dpi = (dpi[1], dpi[0])
        _add_decoded(pdf, upright, dpi)


def build_image_pdf(path: Path, media_type: str, page_count: int) -> pikepdf.Pdf:
    """A new (unsaved) PDF with one page per image or TIFF frame."""
    pdf = pikepdf.new()
    if media_type == source.TIFF:
        with images.open_image(path, what="TIFF", media_type=source.TIFF) as tiff:
            for index in range(page_count):
                frame = images.tiff_frame(tiff, index)
                _add_decoded(pdf, frame, images.resolution(frame))
    else:
        _add_photo(pdf, path, media_type)
    return pdf


def build_tiff_frames_pdf(path: Path, indexes: Sequence[int]) -> pikepdf.Pdf:
    """A new (unsaved) PDF of these frames of a TIFF (a part of a batch scan),
    each frame's pixels exactly as decoded, compressed losslessly."""
    pdf = pikepdf.new()
    with images.open_image(path, what="TIFF", media_type=source.TIFF) as tiff:
        for index in indexes:
            frame = images.tiff_frame(tiff, index)
            _add_decoded(pdf, frame, images.resolution(frame))
    return pdf


def build_pages_pdf(pages: Sequence[tuple[Path, str]]) -> pikepdf.Pdf:
    """A new (unsaved) PDF with one page for each JPEG or PNG file."""
    pdf = pikepdf.new()
    for path, media_type in pages:
        _add_photo(pdf, path, media_type)
    return pdf
