"""Opening raster images safely: the pixel cap, modes, resolution, EXIF turns.

Both the planning step (headers only) and the workers (pixels) open images
through here, so a decompression bomb is refused before anything decodes it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageOps

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


def check_pixels(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise UnreadableInputError("image has no pixels")
    if width * height > MAX_PIXELS:
        raise UnreadableInputError(BOMB_REASON)


@contextmanager
def open_image(path: Path, *, what: str = "image") -> Iterator[Image.Image]:
    """Open ``path`` (header only) with the pixel cap checked; Pillow's own
    failures become ``UnreadableInputError``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
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
