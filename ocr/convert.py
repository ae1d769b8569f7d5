"""Phone and web pictures (WebP, HEIC/HEIF, GIF, BMP) made into pages that
the rest of OCR reads as it reads any photo: one JPEG or PNG a frame.

Each frame of a GIF or animated WebP, and each image of a HEIF file, is
decoded once, in order (a GIF frame is drawn over the ones before it, so
decoding frames out of order would decode the earlier ones again), turned
upright by its EXIF orientation, and written into the document's private
work folder. A picture whose coding is already lossy (HEIC, WebP's VP8)
becomes a JPEG at quality 90: a phone's 12 MP photo is a few megabytes
instead of tens as PNG, and a second JPEG generation at that quality does
not change what tesseract reads; the searchable PDF then takes that JPEG
byte for byte. A lossless one (GIF, BMP, lossless WebP) becomes a PNG, its
pixels exactly. The vault keeps the original file as the document.

This runs in a child process of its own (``document`` starts it and kills
it at its time limit): a decoder stuck or crashed on a hostile file takes
only the child with it.
"""

from __future__ import annotations

import os
from multiprocessing.connection import Connection
from pathlib import Path

from PIL import Image

from ocr import images, source
from vault.errors import UnreadableInputError
from vault.fsutil import FILE_MODE
from vault.workers import start_worker

JPEG_QUALITY = 90
PNG_LEVEL = 1  # the PNG lives only until the searchable PDF is made: fast over small
_WEBP_CHUNKS = 64  # chunks looked at to find how a WebP is coded

Page = tuple[Path, str]  # a page's file and its media type (JPEG or PNG)


def lossy(path: Path, media_type: str) -> bool:
    """Whether the picture's pixels were stored lossily (JPEG is written for it)."""
    if media_type in images.HEIF_TYPES:
        return True
    if media_type != source.WEBP:
        return False
    with open(path, "rb") as f:  # RIFF chunks after "RIFF", size, "WEBP"
        f.seek(12)
        for _ in range(_WEBP_CHUNKS):
            header = f.read(8)
            if len(header) < 8:
                return True
            tag, size = header[:4], int.from_bytes(header[4:], "little")
            if tag in (b"VP8 ", b"VP8L"):
                return tag == b"VP8 "
            if tag == b"ANMF":  # an animation frame: its own chunk follows 16 bytes in
                f.seek(16, os.SEEK_CUR)
                return f.read(4) != b"VP8L"
            f.seek(size + (size & 1), os.SEEK_CUR)
    return True


def _write(picture: Image.Image, dpi: tuple[float, float], out: Path, photo: bool) -> Page:
    flat = images.flatten(picture)
    if photo and flat.mode != "1":
        path, media_type = out.with_suffix(".jpg"), source.JPEG
        flat.save(path, "JPEG", quality=JPEG_QUALITY, dpi=dpi)
    else:
        path, media_type = out.with_suffix(".png"), source.PNG
        flat.save(path, "PNG", compress_level=PNG_LEVEL, dpi=dpi)
    os.chmod(path, FILE_MODE)
    return path, media_type


def write_pages(path: Path, media_type: str, folder: Path, page_count: int) -> list[Page]:
    """One JPEG or PNG in ``folder`` for each of the first ``page_count``
    frames of ``path``, upright, with the frame's resolution."""
    photo = lossy(path, media_type)
    pages: list[Page] = []
    what = images.kind(media_type)
    with images.open_image(path, media_type=media_type) as image, images.decoding(what):
        for index in range(page_count):
            image.seek(index)
            images.check_pixels(*image.size)
            image.load()
            dpi = images.resolution(image)
            upright = images.upright_by_exif(image)
            if upright.size != image.size:
                dpi = (dpi[1], dpi[0])
            pages.append(_write(upright, dpi, folder / f"picture-{index + 1:04d}", photo))
    return pages


def run_child(
    conn: Connection, path: Path, media_type: str, folder: Path, page_count: int, parent: int
) -> None:
    """The child process: write the pages, send back ``("ok", pages)`` or
    ``("unreadable", reason)``."""
    start_worker(parent)
    try:
        try:
            reply: tuple[str, object] = (
                "ok",
                write_pages(path, media_type, folder, page_count),
            )
        except UnreadableInputError as exc:
            reply = ("unreadable", exc.message)
        except RuntimeError:  # libheif's errors while decoding
            reply = ("unreadable", f"{images.kind(media_type)} cannot be decoded (damaged)")
        conn.send(reply)
    finally:
        conn.close()
