"""Text from outside (file names, OCR text, settings) made safe to show.

A stored file's name, a document's text or a family reference may hold
control characters: an escape sequence clears or recolours the terminal or
changes its title, a carriage return or line feed rewrites a row of ``vault
list`` into a fake one, a bidi override shows ``gpj.exe`` as ``exe.jpg``.
Everything shown to a person goes through :func:`escaped` (one line) or
:func:`escaped_lines` (page text, whose line breaks and tabs are kept):
C0 controls, DEL, C1 controls, the bidi controls and the Unicode line and
paragraph separators are shown as ``\\xNN`` or ``\\uNNNN``. JSON output needs
none of this: its encoder escapes them already.

:class:`StatusLine` is the one line of a progress display, redrawn in place.
"""

from __future__ import annotations

from typing import TextIO

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_SEPARATORS = "\u2028\u2029"


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _unsafe(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or char in _BIDI or char in _SEPARATORS


_ONE_LINE = {code: _escape(chr(code)) for code in range(0x2070) if _unsafe(chr(code))}
_MANY_LINES = {code: text for code, text in _ONE_LINE.items() if chr(code) not in "\n\t"}


def escaped(value: object) -> str:
    """``value`` as one line of text, every control character escaped."""
    return str(value).translate(_ONE_LINE)


def escaped_lines(text: str) -> str:
    """Like :func:`escaped`, but line breaks and tabs are kept."""
    return text.translate(_MANY_LINES)


def indented_text(text: str) -> str:
    """Text a user wrote (a note, a reason) for a line of its own: escaped,
    each further line indented under the first."""
    return escaped_lines(text).replace("\n", "\n    ")


class StatusLine:
    """One line redrawn in place on ``stream`` (a progress display)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._shown = 0  # characters now on the line

    def show(self, text: str) -> None:
        self.stream.write("\r" + text.ljust(self._shown))  # cover what was there before
        self.stream.flush()
        self._shown = len(text)

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
            self._shown = 0
