"""Separator sheets for batch scans: what their QR code holds, and the sheet.

A separator sheet goes on top of each document in a pile of post scanned in
one go; ingest splits the scan at it (``ingest.batch``) and the sheet itself
belongs to no document. Its QR code holds a short payload of this vault's
own and nothing personal: ``VAULTSEP1``, then optionally the type of the
next document and its family reference (pseudonymous), e.g.
``VAULTSEP1;T=court-order;F=F-0042``. A sheet printed without details
holds ``VAULTSEP1`` alone and can be reused forever. A sheet holding the
plain code ``PATCHT`` (the separator sheets of other scanning software, as
QR or Code 128) counts as one without details.

``write_separator_sheets`` makes the printable A4 PDF: the QR code large,
and in large plain words what it means ("Vault separator: the next document
is a court order for family F-0042").
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from vault import family as families
from vault.fsutil import atomic_write

PREFIX = "VAULTSEP1"
PATCH_T = "PATCHT"
_TYPE, _FAMILY = "T=", "F="


@dataclass(frozen=True)
class Sheet:
    """What a separator sheet says of the document after it (None: nothing)."""

    doc_type: str | None = None
    family: str | None = None


def payload(sheet: Sheet) -> str:
    """The text of the sheet's QR code."""
    fields = [PREFIX]
    if sheet.doc_type:
        fields.append(_TYPE + sheet.doc_type)
    if sheet.family:
        fields.append(_FAMILY + families.normalise(sheet.family))
    return ";".join(fields)


def parse(text: str) -> Sheet | None:
    """The sheet a barcode's text makes, or None if it is no separator.

    Fields it does not know are passed over (a sheet of a later version
    still separates); a family reference that is not one is left out."""
    text = text.strip()
    if text.upper() == PATCH_T:
        return Sheet()
    fields = text.split(";")
    if fields[0] != PREFIX:
        return None
    doc_type = family = None
    for field in fields[1:]:
        if field.startswith(_TYPE) and _plain(field[len(_TYPE) :]):
            doc_type = field[len(_TYPE) :]
        elif field.startswith(_FAMILY):
            family = families.parse(field[len(_FAMILY) :])
    return Sheet(doc_type, family)


def _plain(word: str) -> bool:
    return 0 < len(word) <= 40 and all(c.isalnum() or c in "-_" for c in word)


def meaning(sheet: Sheet) -> str:
    """The sheet's large words: ``the next document is a court order for
    family F-0042``, or ``next document``."""
    if not sheet.doc_type and not sheet.family:
        return "next document"
    what = "a document"
    if sheet.doc_type and sheet.doc_type != "other":
        words = sheet.doc_type.replace("-", " ").replace("_", " ")
        what = f"{'an' if words[:1].lower() in 'aeiou' else 'a'} {words}"
    family = f" for family {families.normalise(sheet.family)}" if sheet.family else ""
    return f"the next document is {what}{family}"


_QR_MM = 110.0
_MARGIN = 18.0


def write_separator_sheets(path: Path, sheet: Sheet, *, copies: int = 1) -> None:
    """Write ``copies`` identical A4 pages of the sheet to ``path`` (atomic, 0600)."""
    atomic_write(path, render(sheet, copies=copies))


def render(sheet: Sheet, *, copies: int = 1) -> bytes:
    import segno
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    qr = io.BytesIO()
    segno.make(payload(sheet), error="m").save(qr, kind="png", scale=20, border=0)
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title("Vault separator sheet")
    pdf.set_creator("centre-vault")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    words = meaning(sheet)
    for _ in range(copies):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 34)
        pdf.cell(0, 16, "Vault separator", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(6)
        pdf.set_font("Helvetica", "B", 26)
        pdf.multi_cell(0, 12, words[:1].upper() + words[1:], align="C")
        qr.seek(0)
        pdf.image(qr, x=(pdf.w - _QR_MM) / 2, y=95, w=_QR_MM, h=_QR_MM)
        pdf.set_y(95 + _QR_MM + 14)
        pdf.set_font("Helvetica", "", 12)
        pdf.multi_cell(
            0,
            6,
            "Put this sheet on top of a document in a pile of post scanned in one go: "
            "the vault starts a new document after it. The sheet itself is not stored "
            + (
                "with any document, and can be used again and again."
                if words == "next document"
                else "with any document. It holds no name, only the type and the family "
                "reference, and can be used again for the same family."
            ),
            align="C",
        )
    return bytes(pdf.output())
