"""Reading barcodes (QR and Code 128) from pictures: the vault's one reader.

zxing-cpp's Python binding reads QR codes and linear codes such as Code 128
straight from a Pillow image, in any of the four quarter turns and a little
skewed, with no system library to install (pyzbar needs libzbar). It reads
the QR code of the emergency sheet (``vault.emergency_key``) and the
separator sheets of a batch scan (``ocr.separator``). Imported when a
picture is read, so ``vault --help`` never loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

QR = "QRCode"
CODE128 = "Code128"


def read_codes(picture: Image, kinds: Sequence[str] = (QR,)) -> list[str]:
    """The text of each barcode of the ``kinds`` named found on ``picture``."""
    import zxingcpp

    formats = zxingcpp.barcode_formats_from_str(",".join(kinds))
    found = zxingcpp.read_barcodes(
        picture if picture.mode in ("L", "1") else picture.convert("L"), formats=formats
    )
    return [result.text for result in found if result.valid]
