"""What OCR hands back: the text of each page and the searchable PDF."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SOURCE_OCR = "ocr"
SOURCE_TEXT = "text"
SOURCE_BLANK = "blank"  # no print on it (``noise.looks_blank``): not OCR'd, no text


@dataclass(frozen=True)
class PageResult:
    """One page. ``rotation`` is the clockwise turn (0/90/180/270) that made the
    page upright, relative to how a viewer showed the input; ``skew`` is how far
    its lines were tilted (degrees, counter-clockwise positive) before the tilt
    was corrected."""

    number: int  # 1-based
    text: str
    confidence: float | None  # mean word confidence 0-100; None for born-digital text
    rotation: int
    skew: float
    source: str  # SOURCE_OCR, SOURCE_TEXT or SOURCE_BLANK


@dataclass(frozen=True)
class OcrResult:
    pages: list[PageResult]
    searchable_pdf: Path | None  # inside the caller's workdir; None if no PDF could be made
    born_digital: bool
