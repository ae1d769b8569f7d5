"""Salt-and-pepper noise: measuring it and taking it out (3x3 median)."""

from __future__ import annotations

from PIL import Image, ImageFilter

DARK = 128
NOISY_SHARE = 0.005  # share of pixels a median filter changes from dark to light


def _dark_pixels(image: Image.Image) -> int:
    return sum(image.convert("L").histogram()[:DARK])


def despeckle(page: Image.Image) -> tuple[Image.Image, float]:
    """The page through a 3x3 median filter, and the share of pixels that were
    isolated dark specks (about 0 for a clean scan)."""
    source = page.convert("L") if page.mode == "1" else page
    filtered = source.filter(ImageFilter.MedianFilter(3))
    removed = _dark_pixels(source) - _dark_pixels(filtered)
    return filtered, max(removed, 0) / (page.width * page.height)


def ink_share(page: Image.Image) -> float:
    """Share of dark pixels: about 0 for a blank page."""
    return _dark_pixels(page) / (page.width * page.height)
