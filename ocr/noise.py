"""Salt-and-pepper noise: measuring it and taking it out (3x3 median); how
much ink a page has, and where."""

from __future__ import annotations

from PIL import Image, ImageFilter

DARK = 128
NOISY_SHARE = 0.005  # share of pixels a median filter changes from dark to light
SAMPLE_SIDE = 384  # pixels; the square from the middle of a page that is looked at first
BOUNDS_REDUCTION = 4  # ink is looked for on a copy this many times smaller
FAINT = 230  # on that copy, anything darker than this may be ink


def _dark_pixels(image: Image.Image) -> int:
    return sum(image.convert("L").histogram()[:DARK])


def despeckle(page: Image.Image) -> tuple[Image.Image, float]:
    """The page through a 3x3 median filter, and the share of pixels that were
    isolated dark specks (about 0 for a clean scan). Half a second or more
    for an A4 page at 300 dpi."""
    source = page.convert("L") if page.mode == "1" else page
    filtered = source.filter(ImageFilter.MedianFilter(3))
    removed = _dark_pixels(source) - _dark_pixels(filtered)
    return filtered, max(removed, 0) / (page.width * page.height)


def looks_speckled(page: Image.Image) -> bool:
    """``despeckle``'s measure on a square from the middle of the page (about
    15 ms): a noisy scan is noisy all over, margins included."""
    side = min(SAMPLE_SIDE, page.width, page.height)
    left, top = (page.width - side) // 2, (page.height - side) // 2
    _, speckle = despeckle(page.crop((left, top, left + side, top + side)))
    return speckle >= NOISY_SHARE


def ink_share(page: Image.Image) -> float:
    """Share of dark pixels: about 0 for a blank page."""
    return _dark_pixels(page) / (page.width * page.height)


def ink_bounds(page: Image.Image, margin: int) -> tuple[int, int, int, int] | None:
    """The box (left, top, right, bottom) round everything darker than
    paper on ``page``, widened by ``margin`` pixels (within the page); None
    for a blank page. Looked for on a small copy, in a few milliseconds."""
    grey = page if page.mode == "L" else page.convert("L")
    small = grey.reduce(BOUNDS_REDUCTION)
    box = small.point(lambda v: 255 if v < FAINT else 0).getbbox()
    if box is None:
        return None
    left, top, right, bottom = (v * BOUNDS_REDUCTION for v in box)
    return (
        max(0, left - margin),
        max(0, top - margin),
        min(page.width, right + margin),
        min(page.height, bottom + margin),
    )
