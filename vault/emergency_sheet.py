"""The printable emergency-key sheet of a vault.

This module owns one thing: turning the vault's emergency secret key into a
one-page A4 PDF that a centre prints, seals in an envelope and hands to a
management committee member. The sheet explains in plain English what the key
is and when it may be used (``VALIDITY``), shows it both as grouped text (for
careful typing) and as a QR code, sets out the centre's sealing policy in its
own order (``vault.sealing``, whose words the CLI prints too; the last step
names the command that makes a new key), says where the backups are kept (lines the caller gives:
the kind and name of each remote, never a credential) and how the key is used
with ``vault recover``, and has a box for the sealing signatures.

The PDF is rendered entirely in memory (the QR code is a PNG in a ``BytesIO``,
never a file) and then written atomically to a private (0600) file. The key is
written nowhere else and is never logged or put in an exception message.
Generating the key, and deciding where the sheet goes, belong to the caller.
"""

from __future__ import annotations

import datetime
import io
import pathlib
import unicodedata
from collections.abc import Sequence

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from vault.fsutil import atomic_write
from vault.sealing import NO_BACKUPS, RENEW_COMMAND, SEALING_STEPS, VALIDITY

__all__ = ["write_emergency_sheet"]

_AGE_PREFIX = "AGE-SECRET-KEY-1"
# The bech32 alphabet, upper-cased as age prints secret keys. It has no B, I,
# O or 1, which is worth telling someone who has to type the key by hand.
_BECH32_UPPER = frozenset("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L")
_GROUP = 4
_GROUPS_PER_LINE = 5

_MARGIN = 15.0
_QR_SIZE = 46.0
_LINE = 4.4
_SANS = "Helvetica"
_MONO = "Courier"


def write_emergency_sheet(
    path: pathlib.Path,
    *,
    secret_key: str,
    vault_id: str,
    centre_name: str | None,
    created: datetime.datetime,
    backups: Sequence[str] = (),
) -> None:
    """Render the emergency-key sheet and write it atomically to ``path``.

    ``backups``: one line per backup remote in words ("Backblaze B2 remote
    'cloud'"); none prints a line to fill in by hand.

    The file is created with mode 0600 (via a temporary file in the same
    directory, fsynced, then renamed over ``path``). Raises ``ValueError`` if
    the key is empty, contains whitespace or non-ASCII characters, and
    ``RuntimeError`` if the sheet would not fit on one page.
    """
    _check_key(secret_key)
    pdf_bytes = _render(
        secret_key=secret_key,
        vault_id=vault_id,
        centre_name=centre_name,
        created=created,
        backups=backups,
    )
    atomic_write(pathlib.Path(path), pdf_bytes)


# --------------------------------------------------------------------------- checks


def _check_key(secret_key: str) -> None:
    # Messages deliberately never include the key, nor any part of it.
    if not secret_key:
        raise ValueError("emergency key is empty")
    if not secret_key.isascii() or not secret_key.isprintable():
        raise ValueError("emergency key must be printable ASCII")
    if any(ch.isspace() for ch in secret_key):
        raise ValueError("emergency key must not contain whitespace")


def _is_age_key(secret_key: str) -> bool:
    body = secret_key[len(_AGE_PREFIX) :]
    return secret_key.startswith(_AGE_PREFIX) and bool(body) and set(body) <= _BECH32_UPPER


def _key_lines(secret_key: str) -> list[str]:
    """Split the key into lines of short groups; joining them without spaces gives the key."""
    lines: list[str] = []
    body = secret_key
    if _is_age_key(secret_key):
        lines.append(_AGE_PREFIX)
        body = secret_key[len(_AGE_PREFIX) :]
    groups = [body[i : i + _GROUP] for i in range(0, len(body), _GROUP)]
    for i in range(0, len(groups), _GROUPS_PER_LINE):
        lines.append(" ".join(groups[i : i + _GROUPS_PER_LINE]))
    return lines


def _latin1(text: str) -> str:
    """Make text printable with the PDF core fonts (Latin-1 only).

    Accented letters outside Latin-1 lose their accent; anything else that
    cannot be shown becomes "?". Used for the centre name and vault id only,
    never for the key (which is checked to be ASCII).
    """
    out: list[str] = []
    for ch in text:
        try:
            ch.encode("latin-1")
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
            base = "".join(c for c in base if not unicodedata.combining(c))
            out.append(base or "?")
        else:
            out.append(ch if ch.isprintable() else " ")
    return "".join(out)


def _format_date(created: datetime.datetime) -> str:
    return f"{created.day} {created:%B %Y}"


# --------------------------------------------------------------------------- rendering

_EXPLANATION = (
    "This sheet holds the emergency key of the centre's document vault. The vault keeps "
    "the centre's records locked (encrypted). Normally the coordinator (or someone given "
    "a key of their own) opens it with a passphrase. If the passphrases are ever lost or "
    "forgotten, this key is the only other way in: it opens every record in the vault."
)

_WARNING = (
    "Anyone who holds this key can read everything in the vault, including every child's "
    "and family's records. Treat this sheet like the keys to the building and the safe "
    "together. Do not photograph, photocopy, scan or email it."
)

_USE_STEPS = ("On a new computer with the vault program installed, run:",)

_USE_AFTER = (
    "REMOTE is where the vault's backup copy is kept, DIR is a new empty folder and FILE "
    "is a file holding the key, or a photo of this sheet (its QR code is read). Or leave "
    "out FILE and type the key when asked (spaces, line breaks and small letters do not "
    "matter). Never type the key itself on the command line. Delete the file afterwards.",
    "Every use of the emergency key is recorded in the vault's audit log.",
)

_RECORD_FIELDS = ("Sealed by", "Witnessed by", "Date sealed", "Kept by")


class _Sheet(FPDF):
    """FPDF with the few layout helpers the sheet needs."""

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font(_SANS, "B", 11.5)
        self.cell(0, 5.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(_SANS, "", 9.5)

    def paragraph(self, text: str, *, style: str = "", size: float = 9.5) -> None:
        self.set_font(_SANS, style, size)
        self.multi_cell(0, _LINE, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(_SANS, "", 9.5)

    def numbered(self, items: tuple[str, ...], *, start: int = 1) -> None:
        self.set_font(_SANS, "", 9.5)
        indent = 6.0
        for number, item in enumerate(items, start=start):
            self.set_x(self.l_margin)
            self.cell(indent, _LINE, f"{number}.")
            text = item.removesuffix(RENEW_COMMAND)
            self.multi_cell(0, _LINE, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            if item.endswith(RENEW_COMMAND):
                self.command(RENEW_COMMAND)

    def command(self, text: str) -> None:
        """A command on a line of its own, in the typewriter font."""
        self.set_font(_MONO, "B", 9.5)
        self.set_x(self.l_margin + 6)
        self.cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(_SANS, "", 9.5)


def _qr_png(secret_key: str) -> bytes:
    qr = segno.make(secret_key, error="m")
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=10, border=4)
    return buf.getvalue()


def _render(
    *,
    secret_key: str,
    vault_id: str,
    centre_name: str | None,
    created: datetime.datetime,
    backups: Sequence[str],
) -> bytes:
    pdf = _Sheet(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(_MARGIN, _MARGIN - 3, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=_MARGIN - 3)
    pdf.set_title("Vault emergency key")
    pdf.set_creator("centre-vault")
    pdf.add_page()
    width = pdf.w - 2 * _MARGIN

    # Title and identification.
    pdf.set_font(_SANS, "B", 20)
    pdf.cell(0, 10, "Vault emergency key", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_SANS, "", 10)
    ident: list[str] = []
    if centre_name:
        ident.append(f"Centre: {_latin1(centre_name)}")
    ident.append(f"Vault ID: {_latin1(vault_id)}")
    ident.append(f"Vault created: {_format_date(created)}")
    for line in ident:
        pdf.multi_cell(0, 5, line, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.heading("What this sheet is")
    pdf.paragraph(_EXPLANATION)
    pdf.ln(1)
    pdf.paragraph(VALIDITY, style="B")
    pdf.ln(1.5)
    pdf.set_fill_color(235, 235, 235)
    pdf.set_font(_SANS, "B", 9.5)
    pdf.multi_cell(
        0,
        4.8,
        _WARNING,
        border=1,
        align="L",
        fill=True,
        padding=2,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )

    # The key: QR code on the left, grouped text on the right.
    pdf.heading("The emergency key")
    top = pdf.get_y()
    pdf.image(io.BytesIO(_qr_png(secret_key)), x=_MARGIN, y=top, w=_QR_SIZE, h=_QR_SIZE)
    text_x = _MARGIN + _QR_SIZE + 6
    pdf.set_xy(text_x, top + 3)
    pdf.set_font(_MONO, "B", 14)
    for line in _key_lines(secret_key):
        pdf.set_x(text_x)
        pdf.cell(0, 7.5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_x(text_x)
    pdf.set_font(_SANS, "", 8.5)
    note = (
        "The QR code holds the same key. To type it, copy it exactly as shown, "
        "without the spaces or line breaks."
    )
    if _is_age_key(secret_key):
        note += (
            " Letters are all capitals. After KEY-1 the key never contains the letters"
            " B, I or O or the digit 1: a round character is always the digit zero."
        )
    pdf.multi_cell(width - _QR_SIZE - 6, 4, note, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), top + _QR_SIZE))

    pdf.heading("Sealing and keeping this sheet (centre policy)")
    pdf.numbered(SEALING_STEPS)

    pdf.heading("Using the key")
    pdf.set_font(_SANS, "B", 9.5)
    label = "Backups are kept at: "
    if backups:
        pdf.write(_LINE, label)
        pdf.set_font(_SANS, "", 9.5)
        where = "; ".join(_latin1(line) for line in backups) + "."
        pdf.multi_cell(0, _LINE, where, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    else:
        pdf.cell(pdf.get_string_width(label), 6, label)
        pdf.line(pdf.get_x(), pdf.get_y() + 5, _MARGIN + width, pdf.get_y() + 5)
        pdf.ln(6)
        pdf.paragraph(NO_BACKUPS, size=8.5)
    pdf.numbered(_USE_STEPS)
    pdf.command("vault recover --from REMOTE --to DIR --emergency-key FILE")
    pdf.numbered(_USE_AFTER, start=len(_USE_STEPS) + 1)

    # Record box with blank lines to fill in by hand.
    pdf.ln(3)
    box_top = pdf.get_y()
    row_h = 7.0
    label_w = 30.0
    box_h = 4 + len(_RECORD_FIELDS) * row_h
    if pdf.page_no() != 1 or box_top + box_h > pdf.page_break_trigger:
        # Only an absurdly long centre name, vault id or list of backups can cause this.
        raise RuntimeError("emergency sheet does not fit on one page")
    pdf.set_font(_SANS, "B", 10)
    for i, label in enumerate(_RECORD_FIELDS):
        y = box_top + 2 + i * row_h
        pdf.set_xy(_MARGIN + 3, y)
        pdf.cell(label_w, row_h, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
        line_y = y + row_h - 1.5
        pdf.line(_MARGIN + 3 + label_w, line_y, _MARGIN + width - 3, line_y)
    pdf.rect(_MARGIN, box_top, width, box_h)
    pdf.set_y(box_top + box_h)

    if pdf.page_no() != 1:
        raise RuntimeError("emergency sheet does not fit on one page")
    return bytes(pdf.output())


# --------------------------------------------------------------------------- writing
