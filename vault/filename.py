"""File names for a document written outside the vault (an export, a view).

A file's extension says what it holds: ``extension_matches`` tells whether a
name fits a media type, and ``document_filename`` makes a name from the
document's title (or, for a document stored before titles, the name it was
stored under), safe on any computer's file system, with the extension of
the version written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PDF = "application/pdf"

EXTENSIONS: dict[str, tuple[str, ...]] = {
    PDF: (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/tiff": (".tif", ".tiff"),
    "image/webp": (".webp",),
    "image/heic": (".heic", ".heif", ".hif"),
    "image/heif": (".heif", ".heic", ".hif"),
    "image/gif": (".gif",),
    "image/bmp": (".bmp", ".dib"),
    "text/plain": (".txt", ".text"),
    "text/markdown": (".md", ".markdown"),
    "text/csv": (".csv",),
    "text/html": (".html", ".htm"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx", ".docm"),
    "application/msword": (".doc",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/rtf": (".rtf",),
}

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_SPACES = re.compile(r"\s+")
_MAX_STEM = 100
_RESERVED = {"con", "prn", "aux", "nul", *(f"{d}{n}" for d in ("com", "lpt") for n in range(10))}


def extension_for(media_type: str) -> str:
    """The usual extension of ``media_type`` (``""`` for one not known)."""
    return EXTENSIONS.get(media_type, ("",))[0]


def extension_matches(path: Path, media_type: str) -> bool:
    """Whether ``path``'s extension is one used for ``media_type``."""
    known = EXTENSIONS.get(media_type)
    return known is None or path.suffix.lower() in known


def with_extension(path: Path, media_type: str) -> Path:
    """``path`` with its extension replaced by (or, if it has a strange one,
    followed by) the one of ``media_type``."""
    ext = extension_for(media_type)
    if not ext or extension_matches(path, media_type):
        return path
    if path.suffix.lower() in {e for exts in EXTENSIONS.values() for e in exts}:
        return path.with_suffix(ext)
    return path.with_name(path.name + ext)


def document_title(row: Mapping[str, Any]) -> str:
    """The document's title if it has one, else the name it was stored under,
    else its id."""
    for key in ("title", "name", "id"):
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "document"


def safe_stem(text: str) -> str:
    """``text`` as a file name without extension, safe on Windows, macOS and Linux."""
    text = unicodedata.normalize("NFC", text)
    text = _SPACES.sub(" ", _UNSAFE.sub("-", text)).strip(" .-")
    text = text[:_MAX_STEM].rstrip(" .-")
    if not text or text.lower().split(".")[0] in _RESERVED:
        text = f"document {text}".strip()
    return text


def document_filename(row: Mapping[str, Any], media_type: str) -> str:
    """A file name for the document ``row`` (a catalog row) holding ``media_type``."""
    title = document_title(row)
    stem = title
    suffix = Path(title).suffix.lower()
    if suffix in {e for exts in EXTENSIONS.values() for e in exts}:
        stem = title[: -len(suffix)]  # a stored name such as SCAN0001.jpg
    return safe_stem(stem) + extension_for(media_type)
