"""Opening raster images safely: the pixel cap, modes, resolution, EXIF turns.

Both the planning step (headers only) and the workers (pixels) open images
through here, so a decompression bomb is refused before anything decodes it.
An image of a known type is opened by that type's reader alone (a file
found to be a GIF is never handed to another of Pillow's parsers). HEIC and
HEIF are read by pillow-heif (libheif), loaded only when such a file is
opened, with its security limits on, no embedded thumbnails, depth or
auxiliary images, and one decoding thread; it turns the pixels by the
file's own rotation and mirroring boxes and sets the EXIF orientation to 1,
so the EXIF turn applied to every image here is never applied twice.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageOps, features

from vault.errors import UnreadableInputError

# Pillow itself refuses images over 2 x Image.MAX_IMAGE_PIXELS (about 179 MP);
# we refuse a little earlier and say why. A4 at 600 dpi is 35 MP.
MAX_PIXELS = 150_000_000
DEFAULT_DPI = 300
MIN_TRUSTED_DPI = 100  # below this a resolution tag is a camera default, not a scan
MAX_TRUSTED_DPI = 2400
A4_LONG_SIDE_INCHES = 11.69
BOMB_REASON = "image too large (decompression bomb?)"

# EXIF Orientation values that are a pure turn, and the clockwise degrees a
# viewer turns the stored pixels by to show them upright.
EXIF_ORIENTATION = 0x0112
EXIF_TURNS = {1: 0, 3: 180, 6: 90, 8: 270}


# Media type -> the Pillow reader allowed to parse it, and its name in messages.
_READERS = {
    "image/tiff": ("TIFF", "TIFF"),
    "image/jpeg": ("JPEG", "JPEG"),
    "image/png": ("PNG", "PNG"),
    "image/webp": ("WEBP", "WebP"),
    "image/gif": ("GIF", "GIF"),
    "image/bmp": ("BMP", "BMP"),
    "image/heic": ("HEIF", "HEIC"),
    "image/heif": ("HEIF", "HEIF"),
}
HEIF_TYPES = ("image/heic", "image/heif")


@functools.cache
def _heif_registered() -> bool:
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener(
        thumbnails=False, depth_images=False, aux_images=False, decode_threads=1
    )
    return True


def kind(media_type: str) -> str:
    """``media_type`` in words, as messages name it: ``WebP image``."""
    return f"{_READERS.get(media_type, ('', media_type))[1]} image"


def check_reader(media_type: str) -> None:
    """Refuse, naming the type, an image whose reader this computer lacks."""
    format_name = _READERS.get(media_type, ("", ""))[0]
    if media_type in HEIF_TYPES:
        ready = _heif_registered()
    elif media_type == "image/webp":
        ready = bool(features.check("webp"))
    else:
        ready = bool(format_name)
    if not ready:
        raise UnreadableInputError(f"a {kind(media_type)}, and no reader for it is installed")


def check_pixels(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise UnreadableInputError("image has no pixels")
    if width * height > MAX_PIXELS:
        raise UnreadableInputError(BOMB_REASON)


@contextmanager
def open_image(
    path: Path, *, what: str = "image", media_type: str | None = None
) -> Iterator[Image.Image]:
    """Open ``path`` (header only) with the pixel cap checked, by the reader
    of ``media_type`` alone if given; Pillow's own failures become
    ``UnreadableInputError``."""
    formats = None
    if media_type is not None:
        check_reader(media_type)
        formats = [_READERS[media_type][0]]
        if what == "image":
            what = kind(media_type)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path, formats=formats)
    except Image.DecompressionBombError as exc:
        raise UnreadableInputError(BOMB_REASON) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UnreadableInputError(f"{what} cannot be read (damaged or not an image)") from exc
    with image:
        check_pixels(*image.size)
        yield image


@contextmanager
def decoding(what: str) -> Iterator[None]:
    """Turn Pillow's errors while decoding pixels into ``UnreadableInputError``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except Image.DecompressionBombError as exc:
        raise UnreadableInputError(BOMB_REASON) from exc
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        raise UnreadableInputError(f"{what} cannot be decoded (damaged image)") from exc


def tiff_frame(tiff: Image.Image, index: int) -> Image.Image:
    """Frame ``index`` of an open TIFF, decoded, pixel cap checked."""
    with decoding("a TIFF page"):
        tiff.seek(index)
        check_pixels(*tiff.size)
        tiff.load()
        return tiff.copy()


def resolution(image: Image.Image) -> tuple[float, float]:
    """Horizontal and vertical dots per inch, trusted only when plausible;
    otherwise assumed from an A4 page filling the image."""
    dpi = image.info.get("dpi")
    try:
        x, y = (float(dpi[0]), float(dpi[1])) if dpi else (0.0, 0.0)
    except (TypeError, ValueError, IndexError):
        x = y = 0.0
    if MIN_TRUSTED_DPI <= x <= MAX_TRUSTED_DPI and MIN_TRUSTED_DPI <= y <= MAX_TRUSTED_DPI:
        return x, y
    guess = max(image.size) / A4_LONG_SIDE_INCHES
    guess = min(max(guess, MIN_TRUSTED_DPI), MAX_TRUSTED_DPI)
    return guess, guess


def exif_orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(EXIF_ORIENTATION, 1)
    except (OSError, ValueError, SyntaxError):
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright_by_exif(image: Image.Image) -> Image.Image:
    """The image as a viewer shows it (EXIF orientation applied)."""
    turned = ImageOps.exif_transpose(image)
    return image if turned is None else turned


def flatten(image: Image.Image) -> Image.Image:
    """The same picture in mode 1, L or RGB (alpha laid on white, 16-bit scaled)."""
    mode = image.mode
    if mode in ("1", "L", "RGB"):
        return image
    if mode.startswith("I"):  # 16- or 32-bit grey: keep the top 8 bits of 16
        return image.convert("I").point(lambda v: v / 256).convert("L")
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "La", "RGBa", "PA"):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", image.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white.convert("L") if mode in ("LA", "La") else white
    return image.convert("RGB")


def for_ocr(image: Image.Image) -> Image.Image:
    """What tesseract gets: bilevel pages stay 1-bit, everything else grey."""
    flat = flatten(image)
    return flat if flat.mode in ("1", "L") else flat.convert("L")
