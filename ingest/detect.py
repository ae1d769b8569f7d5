"""Media type detection from a file's content, never its name.

A file of another type is refused with advice: what it seems to be (a Word
document, a spreadsheet, an email…, from its first bytes and, to name it,
its extension) and to save it as PDF and store that.
"""

from __future__ import annotations

from pathlib import Path

# (magic prefix, media type); longest and most specific first.
_SIGNATURES: list[tuple[bytes, str]] = [
    (b"%PDF-", "application/pdf"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
]
# ISO BMFF (HEIF) major brands of still images and image sequences.
_HEIF_BRANDS = {
    **dict.fromkeys((b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"), "image/heic"),
    **dict.fromkeys((b"mif1", b"msf1"), "image/heif"),
}
# BMP info header sizes (core, V1 to V5, OS/2 2.x): "BM" alone is too weak.
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}

SUPPORTED = {media for _, media in _SIGNATURES} | {"image/webp", "image/bmp"}
SUPPORTED |= set(_HEIF_BRANDS.values())


def _framed_image(head: bytes) -> str | None:
    """WebP, HEIC/HEIF and BMP, whose magic is not a plain prefix: a RIFF
    file of form WEBP; an ``ftyp`` box with an image brand; ``BM`` with a
    known info header size and pixels after it."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return _HEIF_BRANDS[head[8:12]]
    if head[:2] == b"BM" and len(head) >= 18:
        offset = int.from_bytes(head[10:14], "little")
        header_size = int.from_bytes(head[14:18], "little")
        if header_size in _BMP_HEADER_SIZES and offset >= 14 + header_size:
            return "image/bmp"
    return None


def detect_media_type(path: Path) -> str | None:
    """The media type of ``path`` from its first bytes, or None if unknown."""
    with open(path, "rb") as f:
        head = f.read(1024)
    for magic, media in _SIGNATURES:
        if head.startswith(magic):
            return media
    framed = _framed_image(head)
    if framed is not None:
        return framed
    # PDFs may have a little junk before the header (allowed within 1 KB).
    if b"%PDF-" in head:
        return "application/pdf"
    return None


SAVE_AS_PDF = "save it as PDF (File > Save as > PDF) and store that"
_ACCEPTED = "the vault takes PDF files and pictures (TIFF, JPEG, PNG, HEIC, WebP, GIF, BMP)"
_IF_DOCUMENT = f"if it is a document, {SAVE_AS_PDF}"

# Extension -> what to call the file (only to name it: the type is judged by content).
_KINDS = {
    ".doc": "a Word document",
    ".docx": "a Word document",
    ".odt": "a text document",
    ".rtf": "a text document",
    ".pages": "a text document",
    ".txt": "a text file",
    ".xls": "a spreadsheet",
    ".xlsx": "a spreadsheet",
    ".ods": "a spreadsheet",
    ".csv": "a spreadsheet",
    ".ppt": "a presentation",
    ".pptx": "a presentation",
    ".odp": "a presentation",
    ".eml": "an email",
    ".msg": "an email",
    ".htm": "a web page",
    ".html": "a web page",
}
_CONTAINERS = (  # first bytes -> what such a file usually is
    (b"PK\x03\x04", "an office document"),  # .docx, .xlsx, .odt… are zip files
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an office document"),  # .doc, .xls, .msg
    (b"{\\rtf", "a text document"),
)


def unsupported_reason(path: Path) -> str:
    """Why ``path`` (of no supported type) is refused, and what to do instead."""
    kind = _KINDS.get(path.suffix.lower())
    if kind is None:
        try:
            with open(path, "rb") as f:
                head = f.read(16)
        except OSError:
            head = b""
        kind = next((name for magic, name in _CONTAINERS if head.startswith(magic)), None)
    if kind is None:
        return f"not a PDF or a picture the vault reads (judged by its content); {_IF_DOCUMENT}"
    return f"{kind} ({_ACCEPTED}): {SAVE_AS_PDF}"
