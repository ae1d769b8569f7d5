"""Reading a page's orientation and skew back from tesseract's word boxes.

Tesseract (``--psm 1``, and ``--psm 3`` for vertical lines) turns a page
internally but reports word boxes in the coordinates of the image it was
given. The direction in which the words of a line follow each other says
how the page lies; the slope of a line through their centres says its skew.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

from ocr.tesseract import Word

# Direction in which a line's words advance, in image coordinates (y down),
# mapped to the clockwise turn that makes the page upright.
_TURN_FOR_DIRECTION = {(1, 0): 0, (0, -1): 90, (-1, 0): 180, (0, 1): 270}
MIN_WORDS_FOR_SKEW = 3


def _lines(words: list[Word]) -> list[list[Word]]:
    grouped: dict[tuple[int, int, int], list[Word]] = defaultdict(list)
    for word in words:
        grouped[word.line].append(word)
    return [line for line in grouped.values() if len(line) >= 2]


def _centre(word: Word) -> tuple[float, float]:
    return word.left + word.width / 2, word.top + word.height / 2


def _direction(line: list[Word]) -> tuple[int, int]:
    (x0, y0), (x1, y1) = _centre(line[0]), _centre(line[-1])
    dx, dy = x1 - x0, y1 - y0
    if abs(dx) >= abs(dy):
        return (1 if dx >= 0 else -1, 0)
    return (0, 1 if dy >= 0 else -1)


def rotation(words: list[Word]) -> int:
    """Clockwise degrees (0/90/180/270) that turn the page upright; 0 if unsure."""
    votes: dict[tuple[int, int], int] = defaultdict(int)
    for line in _lines(words):
        votes[_direction(line)] += len(line)
    if not votes:
        return 0
    return _TURN_FOR_DIRECTION[max(votes, key=lambda d: votes[d])]


def _upright(point: tuple[float, float], turn: int) -> tuple[float, float]:
    """A point in a frame turned clockwise by ``turn`` (y down), up to a shift."""
    x, y = point
    return {0: (x, y), 90: (-y, x), 180: (-x, -y), 270: (y, -x)}[turn]


def skew(words: list[Word], turn: int) -> float:
    """Median tilt of the lines in degrees, counter-clockwise positive."""
    slopes = []
    for line in _lines(words):
        if len(line) < MIN_WORDS_FOR_SKEW:
            continue
        points = [_upright(_centre(w), turn) for w in line]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
        spread = sum((x - mean_x) ** 2 for x in xs)
        if spread == 0:
            continue
        slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
        slopes.append(slope)
    if not slopes:
        return 0.0
    return -math.degrees(math.atan(statistics.median(slopes)))  # y grows downwards
