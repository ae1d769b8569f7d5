"""Making the searchable PDF: tesseract's invisible text laid over each page.

The original page is left untouched (its image streams keep their exact
bytes); the text layer is drawn on top as a form XObject. The layer was made
from the page as a viewer shows it, so it is placed in that frame (qpdf
undoes the page's /Rotate for it), turned back by any quarter turn and any
tilt we applied to the image before OCR, and then the page's /Rotate gets
the turn OCR found, so the page and its text show upright together.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pikepdf

from vault.errors import OcrEngineError


@dataclass(frozen=True)
class TextLayer:
    index: int  # 0-based page
    text_pdf: Path  # tesseract's one-page text-only PDF
    rotation: int  # clockwise degrees to add to the page's /Rotate
    straightened: float  # degrees the OCR image was turned back (counter-clockwise tilt)
    turned: int = 0  # clockwise degrees the straightened image was then turned
    # The whole OCR'd image in the layer's coordinates (left, bottom, right, top),
    # when tesseract was given only the part of it with ink.
    frame: tuple[float, float, float, float] | None = None


def inherited_rotate(page: pikepdf.Dictionary) -> int:
    """The page's /Rotate, or its nearest ancestor's, in 0-359; 0 if none."""
    node: pikepdf.Object | None = page
    for _ in range(64):  # a page tree deeper than this is hostile
        if node is None:
            break
        rotate = node.get(pikepdf.Name.Rotate)
        if rotate is not None:
            try:
                return int(rotate) % 360
            except (TypeError, ValueError):
                return 0
        node = node.get(pikepdf.Name.Parent)
    return 0


Matrix = tuple[float, float, float, float, float, float]


def _turn_matrix(box: pikepdf.Rectangle, degrees: float) -> Matrix:
    """Rotation by ``degrees`` (counter-clockwise) about the centre of ``box``."""
    cx, cy = (box.llx + box.urx) / 2, (box.lly + box.ury) / 2
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return (c, s, -s, c, cx - c * cx + s * cy, cy - s * cx - c * cy)


def _then(first: Matrix, second: Matrix) -> Matrix:
    """The transformation ``first`` followed by ``second``."""
    a1, b1, c1, d1, e1, f1 = first
    a2, b2, c2, d2, e2, f2 = second
    return (
        a1 * a2 + b1 * c2,
        a1 * b2 + b1 * d2,
        c1 * a2 + d1 * c2,
        c1 * b2 + d1 * d2,
        e1 * a2 + f1 * c2 + e2,
        e1 * b2 + f1 * d2 + f2,
    )


def _bounds(box: pikepdf.Rectangle, matrix: Matrix) -> pikepdf.Rectangle:
    a, b, c, d, e, f = matrix
    corners = [(x, y) for x in (box.llx, box.urx) for y in (box.lly, box.ury)]
    xs = [a * x + c * y + e for x, y in corners]
    ys = [b * x + d * y + f for x, y in corners]
    return pikepdf.Rectangle(min(xs), min(ys), max(xs), max(ys))


def _overlay(
    pdf: pikepdf.Pdf, page: pikepdf.Page, layer_page: pikepdf.Page, layer: TextLayer
) -> None:
    formx = pdf.copy_foreign(layer_page.as_form_xobject())
    name = page.add_resource(formx, pikepdf.Name.XObject, prefix="OcrText")
    # Tesseract's pages have no /Rotate, so the form's own matrix is the identity.
    if layer.frame is not None:  # the layer covers part of the image: widen it to all of it
        formx.BBox = pikepdf.Array(layer.frame)
    box = pikepdf.Rectangle(pikepdf.Array(formx.BBox))
    matrix: Matrix = (1, 0, 0, 1, 0, 0)
    if layer.turned:  # the image was turned clockwise: turn its text back (before placing)
        matrix = _turn_matrix(box, layer.turned)
        formx.Matrix = pikepdf.Array(matrix)
    placement = page.calc_form_xobject_placement(
        formx, name, pikepdf.Rectangle(page.cropbox), allow_shrink=True, allow_expand=True
    )
    if layer.straightened:  # turned back about its centre, after placing: same scale
        tilt = _turn_matrix(_bounds(box, matrix), layer.straightened)
        formx.Matrix = pikepdf.Array(_then(matrix, tilt))
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(b"\nQ\n")
    page.contents_add(placement)


def add_text_layers(pdf: pikepdf.Pdf, layers: Iterable[TextLayer], out: Path) -> None:
    """Overlay each layer on its page of ``pdf`` and save the result to ``out``."""
    with contextlib.ExitStack() as stack:  # layer files must stay open until saved
        for layer in layers:
            try:
                text_pdf = stack.enter_context(pikepdf.open(layer.text_pdf))
            except pikepdf.PdfError as exc:
                raise OcrEngineError("tesseract wrote a damaged text layer") from exc
            page = pikepdf.Page(pdf.pages[layer.index])
            rotate = inherited_rotate(page.obj)
            page.obj.Rotate = rotate  # explicit, so qpdf sees what a viewer sees
            _overlay(pdf, page, pikepdf.Page(text_pdf.pages[0]), layer)
            page.obj.Rotate = (rotate + layer.rotation) % 360
        pdf.save(out, stream_decode_level=pikepdf.StreamDecodeLevel.none)
