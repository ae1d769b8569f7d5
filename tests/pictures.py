"""Phone and web pictures of a few words of text, written by the real
writers (Pillow, pillow-heif): WebP (lossy and lossless), HEIC, GIF, BMP,
JPEG, TIFF; a photo stored sideways with an EXIF orientation; several frames;
files cut short; headers claiming huge sizes.

Small (a strip of text at 150 dpi) so that tesseract reads each in well
under a second.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import pillow_heif
from PIL import Image

from tests import scans

pillow_heif.register_heif_opener()  # the writer; the vault loads its reader itself

WORDS = "Przybylski quincunx NT26P00412"
OTHER_WORDS = "Wojciechowski marmalade NT26P00977"
DPI = 150
EXIF_ORIENTATION = 0x0112

# name -> (Pillow format, save options, media type the vault detects)
FORMATS: dict[str, tuple[str, dict[str, object], str]] = {
    "webp": ("WEBP", {"quality": 80}, "image/webp"),
    "lossless.webp": ("WEBP", {"lossless": True}, "image/webp"),
    "heic": ("HEIF", {"quality": 80}, "image/heic"),
    "gif": ("GIF", {}, "image/gif"),
    "bmp": ("BMP", {}, "image/bmp"),
}


def strip(text: str = WORDS) -> Image.Image:
    """A strip of an A4 page at 150 dpi with ``text`` on it, mode L."""
    page = scans.draw_page(text, dpi=DPI)
    return page.crop((0, 0, page.width, round(2.2 * DPI)))


def write(path: Path, picture: Image.Image, kind: str, *, exif: Image.Exif | None = None) -> Path:
    """``picture`` saved as ``kind`` (a key of FORMATS, "jpeg" or "tiff": an
    LZW one, whose orientation is a tag of its own, as in EXIF)."""
    if kind == "tiff":
        tags = {} if exif is None else {EXIF_ORIENTATION: exif[EXIF_ORIENTATION]}
        picture.save(path, "TIFF", compression="tiff_lzw", dpi=(DPI, DPI), tiffinfo=tags)
        return path
    if kind == "jpeg":
        fmt, options = "JPEG", {"quality": 85, "dpi": (DPI, DPI)}
    else:
        fmt, options, _ = FORMATS[kind]
    extra: dict[str, object] = {} if exif is None else {"exif": exif.tobytes()}
    picture.save(path, fmt, **options, **extra)
    return path


def write_sideways(path: Path, kind: str, orientation: int, text: str = WORDS) -> Path:
    """The strip stored turned, with the EXIF orientation (6 or 8) that tells a
    viewer how to turn it back; for HEIC pillow-heif stores that turn in the
    file's own rotation box."""
    turn = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}[orientation]
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    picture = strip(text).transpose(turn)
    if kind == "heic":
        picture = picture.convert("RGB")
    return write(path, picture, kind, exif=exif)


def write_frames(path: Path, kind: str, texts: Sequence[str]) -> Path:
    """An animated GIF or a HEIF file of several images, one text each."""
    fmt, options, _ = FORMATS[kind]
    frames = [strip(text) for text in texts]
    if kind == "heic":
        frames = [frame.convert("RGB") for frame in frames]
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], **options)
    return path


def write_truncated(path: Path, kind: str) -> Path:
    """A real file of ``kind``, cut after half its bytes."""
    whole = write(path.with_name("whole-" + path.name), strip(), kind)
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    whole.unlink()
    return path


def write_bomb(path: Path, kind: str) -> Path:
    """A small file whose header claims 12500 x 12500 pixels (156 MP, over the
    vault's cap and under Pillow's own refusal) or, for WebP, 16383 x 16383."""
    small = Image.new("L", (64, 64), 255)
    write(path, small, kind)
    data = bytearray(path.read_bytes())
    side = 12_500
    if kind == "gif":  # logical screen width and height
        data[6:10] = struct.pack("<HH", side, side)
    elif kind == "bmp":  # BITMAPINFOHEADER width and height
        data[18:26] = struct.pack("<ii", side, side)
    elif kind == "webp":  # the VP8 frame header after its start code 9d 01 2a
        start = data.index(b"\x9d\x01\x2a") + 3
        data[start : start + 4] = struct.pack("<HH", 16383, 16383)
    elif kind == "heic":  # the image's spatial extent property
        at = data.index(b"ispe") + 8
        data[at : at + 8] = struct.pack(">II", side, side)
    else:
        raise ValueError(kind)
    path.write_bytes(bytes(data))
    return path
