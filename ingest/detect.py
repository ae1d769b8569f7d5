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
]

SUPPORTED = {media for _, media in _SIGNATURES}


def detect_media_type(path: Path) -> str | None:
    """The media type of ``path`` from its first bytes, or None if unknown."""
    with open(path, "rb") as f:
        head = f.read(1024)
    for magic, media in _SIGNATURES:
        if head.startswith(magic):
            return media
    # PDFs may have a little junk before the header (allowed within 1 KB).
    if b"%PDF-" in head:
        return "application/pdf"
    return None


SAVE_AS_PDF = "save it as PDF (File > Save as > PDF) and store that"
_ACCEPTED = "the vault takes PDF, TIFF, JPEG and PNG files"
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
    ".heic": "a photo in HEIC format",
    ".gif": "a GIF picture",
    ".bmp": "a BMP picture",
    ".webp": "a WebP picture",
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
        return f"not a PDF, TIFF, JPEG or PNG (judged by its content); {_IF_DOCUMENT}"
    return f"{kind} ({_ACCEPTED}): {SAVE_AS_PDF}"
