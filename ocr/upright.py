"""Which way up the text of a page stands, judged from its ink.

Latin letters reach above the lower-case band far more often than below it
(b d f h k l t, capitals and digits against g j p q y), so in each text
line the ink above the band outweighs the ink below it; upside down it is
the other way round. Measured on a copy about 1200 pixels high, turned
straight by the tilt already found, in four strips (so that what is left
of a tilt does not smear the lines), both ways (lines across or up and
down the page): about 15 ms a page.

Only a hint, for speed: a page whose way up is clear is turned upright and
read without tesseract's orientation detection (``--psm 3``); any other
page with it (``--psm 1``, which costs tesseract a tenth more on an A4
page). A page turned the wrong way reads poorly and is read again, as it
lies, with orientation detection.
"""

from __future__ import annotations

from PIL import Image

WORKING_SIDE = 1200  # pixels on the long side of the copy that is measured
STRIPS = 4
BLANK_ROW = 2  # mean ink (0-255) of a strip row below which it is a gap between lines
CORE_SHARE = 0.5  # rows of a line with this share of its densest row form its band
MIN_LINES = 8  # line pieces (lines x strips) needed for a verdict
MIN_LEAN = 0.15  # (ink above - ink below) / (both) that counts as clearly upright
CLEAR_MAJORITY = 2  # times more line pieces one way than the other that settles it


def _lean(profile: list[int]) -> tuple[float, float, int]:
    """Ink above and below the band of each line of a row profile, and the lines."""
    above = below = 0.0
    lines = 0
    y, height = 0, len(profile)
    while y < height:
        if profile[y] <= BLANK_ROW:
            y += 1
            continue
        start = y
        while y < height and profile[y] > BLANK_ROW:
            y += 1
        line = profile[start:y]
        floor = max(line) * CORE_SHARE
        band = [i for i, v in enumerate(line) if v >= floor]
        above += sum(line[: band[0]])
        below += sum(line[band[-1] + 1 :])
        lines += 1
    return above, below, lines


def _lines_of(ink: Image.Image) -> tuple[int, float]:
    """The line pieces found in the rows of ``ink`` (lines x strips), and
    (ink above - ink below) / both over them (0.0 if there is none)."""
    width, height = ink.size
    above = below = 0.0
    lines = 0
    for k in range(STRIPS):
        strip = ink.crop((k * width // STRIPS, 0, (k + 1) * width // STRIPS, height))
        column = strip.resize((1, height), Image.Resampling.BOX)
        profile = list(column.tobytes())  # one byte per row: its mean ink
        a, b, n = _lean(profile)
        above, below, lines = above + a, below + b, lines + n
    return lines, (above - below) / (above + below) if above + below else 0.0


def turn_to_upright(page: Image.Image, skew: float, across: bool) -> int | None:
    """The clockwise turn (0, 90, 180 or 270 degrees) that clearly stands
    the text of ``page`` upright, or None when that is not clear. ``skew``
    is the tilt of its lines (degrees, counter-clockwise positive) and
    ``across`` whether they run across the page or up and down it, as the
    skew measure sees them: on its small copy the lines of small print blur,
    so it is believed only when the line pieces found here do not clearly
    say otherwise (text cut the wrong way makes few, long pieces)."""
    factor = max(1, max(page.size) // WORKING_SIDE)
    grey = page if page.mode == "L" else page.convert("L")
    small = grey.reduce(factor) if factor > 1 else grey
    ink = small.point(lambda v: 255 if v < 180 else 0)
    if skew:
        ink = ink.rotate(-skew, resample=Image.Resampling.NEAREST)  # fills with 0: no ink
    rows, row_lean = _lines_of(ink)
    columns, column_lean = _lines_of(ink.transpose(Image.Transpose.ROTATE_270))
    if rows >= CLEAR_MAJORITY * columns:
        across = True
    elif columns >= CLEAR_MAJORITY * rows:
        across = False
    elif across != (rows > columns):
        return None
    lines, lean = (rows, row_lean) if across else (columns, column_lean)
    if lines < MIN_LINES or abs(lean) < MIN_LEAN:
        return None
    # A clockwise quarter turn (Pillow's ROTATE_270) stood the columns across.
    return (0 if across else 90) + (0 if lean > 0 else 180)
