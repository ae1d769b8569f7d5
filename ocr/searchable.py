"""Making the searchable PDF: tesseract's invisible text laid over each page.

The original page is left untouched (its image streams keep their exact
bytes); the text layer is drawn on top as a form XObject. The layer was made
from the page as a viewer shows it, so it is placed in that frame (qpdf
undoes the page's /Rotate for it), turned back by any tilt we straightened
before OCR, and then the page's /Rotate gets the turn OCR found, so the page
and its text show upright together.
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


def _inherited_rotate(page: pikepdf.Dictionary) -> int:
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


def _turn_matrix(box: pikepdf.Rectangle, degrees: float) -> pikepdf.Array:
    """Rotation by ``degrees`` (counter-clockwise) about the centre of ``box``."""
    cx, cy = (box.llx + box.urx) / 2, (box.lly + box.ury) / 2
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return pikepdf.Array([c, s, -s, c, cx - c * cx + s * cy, cy - s * cx - c * cy])


def _overlay(
    pdf: pikepdf.Pdf, page: pikepdf.Page, layer_page: pikepdf.Page, straightened: float
) -> None:
    formx = pdf.copy_foreign(layer_page.as_form_xobject())
    name = page.add_resource(formx, pikepdf.Name.XObject, prefix="OcrText")
    placement = page.calc_form_xobject_placement(
        formx, name, pikepdf.Rectangle(page.cropbox), allow_shrink=True, allow_expand=True
    )
    if straightened:  # tesseract's pages have no /Rotate, so the form's own matrix is identity
        formx.Matrix = _turn_matrix(pikepdf.Rectangle(pikepdf.Array(formx.BBox)), straightened)
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
            rotate = _inherited_rotate(page.obj)
            page.obj.Rotate = rotate  # explicit, so qpdf sees what a viewer sees
            _overlay(pdf, page, pikepdf.Page(text_pdf.pages[0]), layer.straightened)
            page.obj.Rotate = (rotate + layer.rotation) % 360
        pdf.save(out, stream_decode_level=pikepdf.StreamDecodeLevel.none)
