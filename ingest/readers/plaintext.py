"""Plain text files, Markdown and CSV: their text as it is.

The encoding is found by ``encoding``'s rules (a byte order mark, valid
UTF-8, else Windows-1252). A form feed starts a new section, as it starts
a new page on a printer.
"""

from __future__ import annotations

from pathlib import Path

from ingest.readers.common import DocumentText, Limits, TextBudget, check_size
from ingest.readers.encoding import decode_text

MEDIA_TYPES = ("text/plain", "text/markdown", "text/csv")


def read(path: Path, limits: Limits) -> DocumentText:
    check_size(path.stat().st_size, limits)
    text, _ = decode_text(path.read_bytes())
    TextBudget(limits.max_chars).take(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return DocumentText(text.split("\f"))
