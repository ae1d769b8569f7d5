"""Which encoding a text file is in, by simple rules, and its text.

Text files carry no signature, so they are told from other files by how
their bytes decode, after every binary signature has been tried:

1. a byte order mark: UTF-8 or UTF-16 (little or big end first), as marked;
2. otherwise a NUL byte means it is not text;
3. valid UTF-8 (plain ASCII is too);
4. otherwise Windows-1252 (what Word and Notepad on a British PC write),
   if every byte is one it defines.

Then at most one character in a hundred may be a control character other
than tab, line ends and form feed, or it is not text. These rules cover
what a centre's computers write (UTF-8, UTF-16 with a mark, Windows-1252,
which includes ISO 8859-1's printable characters) and never guess: a
statistical detector (charset-normalizer) would also name encodings no
centre uses and would take a random binary file for text now and then.
"""

from __future__ import annotations

import codecs

UTF8 = "utf-8"
UTF8_BOM = "utf-8-sig"
UTF16 = "utf-16"
WINDOWS = "cp1252"
MAX_CONTROLS = 0.01  # of the characters
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\x0b\x1a")  # \x1a: the end mark of old DOS files


def _mostly_printable(text: str) -> bool:
    controls = sum(
        1 for c in text if (c < " " or "\x7f" <= c < "\xa0") and c not in _ALLOWED_CONTROLS
    )
    return controls <= MAX_CONTROLS * max(len(text), 1)


def _decodes(data: bytes, encoding: str, complete: bool) -> str | None:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        return decoder.decode(data, final=complete)
    except UnicodeDecodeError:
        return None


def sniff_encoding(data: bytes, *, complete: bool) -> str | None:
    """The encoding of the text ``data`` by the rules above, or None if it is
    not text. ``complete`` False: ``data`` is the start of a longer file (a
    character cut at the end is not held against it)."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = [UTF8_BOM]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = [UTF16]
    elif b"\x00" in data:
        return None
    else:
        candidates = [UTF8, WINDOWS]
    for encoding in candidates:
        text = _decodes(data, encoding, complete)
        if text is not None:
            return encoding if _mostly_printable(text) else None
    return None


def decode_text(data: bytes) -> tuple[str, str]:
    """The text of a whole file and its encoding (the rules above; a file
    that breaks them part-way is decoded as its start was, with U+FFFD for
    what does not decode)."""
    encoding = sniff_encoding(data, complete=True)
    if encoding is None:
        encoding = sniff_encoding(data[:65536], complete=False) or WINDOWS
    return data.decode(encoding, errors="replace"), encoding
