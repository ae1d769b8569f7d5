"""Rich Text Format (.rtf): its text, by striprtf.

striprtf is a small pure-Python library (it runs the same on Windows and
macOS, where no RTF program can be counted on) that follows RTF's groups,
skips what is not text (fonts, colours, pictures, fields' codes) and
decodes the characters in the code page the file names. An RTF file is
7-bit text, so its bytes are handed over one character a byte (Latin-1);
its own escapes carry the rest.
"""

from __future__ import annotations

from pathlib import Path

from ingest.readers.common import MB, Deadline, DocumentText, Limits, TextBudget, check_size
from vault.errors import UnreadableInputError

MEDIA_TYPE = "application/rtf"
MAX_BYTES = 50 * MB  # mostly pictures, in hexadecimal, beyond this


def read(path: Path, limits: Limits) -> DocumentText:
    from striprtf.striprtf import rtf_to_text

    size = path.stat().st_size
    check_size(size, limits)
    if size > MAX_BYTES:
        raise UnreadableInputError(f"the RTF file is larger than {MAX_BYTES // MB} MB")
    deadline = Deadline(limits.seconds)
    try:
        text = rtf_to_text(path.read_bytes().decode("latin-1"), errors="replace")
    except (LookupError, ValueError, IndexError, OverflowError, RecursionError) as exc:
        raise UnreadableInputError("its RTF is damaged") from exc
    deadline.check()
    TextBudget(limits.max_chars).take(text)
    return DocumentText([text.replace("\r\n", "\n")])
