"""Which way up a page stands, from its ink alone (before OCR): right for
every generated scan, and no verdict when there are too few lines to tell."""

from __future__ import annotations

import pytest
from PIL import Image

from ocr import skew, upright
from tests import scans
from tests.ocr.conftest import small_print

T = Image.Transpose


def _turn(page: Image.Image) -> int | None:
    tilt, across = skew.measure_lines(page)
    return upright.turn_to_upright(page, tilt, across)


@pytest.mark.parametrize("dpi", [300, 200])
@pytest.mark.parametrize(
    ("variant", "turn"),
    [
        ("clean", 0),
        ("skewed", 0),
        ("very-skewed", 0),
        ("upside-down", 180),
        ("sideways", 90),
    ],
)
def test_the_turn_that_stands_a_page_upright(variant: str, turn: int, dpi: int) -> None:
    assert _turn(scans.scan(variant, dpi=dpi)) == turn


def test_every_quarter_turn_of_a_tilted_page() -> None:
    page = scans.draw_page(scans.dense_text(4), dpi=200).rotate(
        3, resample=Image.Resampling.BICUBIC, fillcolor=255
    )
    # Pillow turns counter-clockwise; the answer is the clockwise turn back.
    for transpose, turn in [(T.ROTATE_90, 90), (T.ROTATE_180, 180), (T.ROTATE_270, 270)]:
        assert _turn(page.transpose(transpose)) == turn
    assert _turn(page) == 0


@pytest.mark.parametrize("points", [6, 8])
def test_small_print(points: int) -> None:
    """Its lines blur on the skew measure's small copy; they are told apart here."""
    page, _ = small_print(200, points)
    assert _turn(page) == 0
    assert _turn(page.transpose(T.ROTATE_90)) == 90
    assert _turn(page.transpose(T.ROTATE_180)) == 180


def test_bilevel_pages() -> None:
    assert _turn(scans.to_bilevel(scans.scan("upside-down", dpi=200))) == 180


@pytest.mark.parametrize(
    "page",
    [
        Image.new("L", (1654, 2339), 255),
        scans.draw_page("Dear Sir,\nThank you.\nYours", dpi=200),
    ],
    ids=["blank", "three-lines"],
)
def test_no_verdict_without_enough_lines(page: Image.Image) -> None:
    assert _turn(page) is None
