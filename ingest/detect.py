"""Media type detection from a file's content, never its name."""

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
