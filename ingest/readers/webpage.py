"""Web pages (HTML): the text a browser would show, and nothing fetched.

Python's own ``html.parser`` reads the page (it never loads anything:
no images, styles, scripts or frames). What is inside ``script``,
``style``, ``noscript``, ``template`` and the like is left out, as are
comments and attributes; the page's title comes first, then the body's
text with a line break after each block (paragraph, heading, list item,
table row) and a tab between table cells. The page is fed to the parser in
pieces, the ``Deadline`` checked between them.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from ingest.readers.common import Deadline, DocumentText, Limits, TextBudget, check_size
from ingest.readers.encoding import decode_text

MEDIA_TYPE = "text/html"
CHUNK = 64 * 1024  # characters fed at a time
HIDDEN = frozenset(
    {"script", "style", "noscript", "template", "head", "iframe", "object", "embed", "svg",
     "math", "select", "datalist"}
)  # fmt: skip
BLOCKS = frozenset(
    {"p", "div", "br", "hr", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table",
     "section", "article", "header", "footer", "blockquote", "pre", "ul", "ol", "dl", "dt",
     "dd", "address", "figcaption", "caption", "form", "fieldset", "main", "nav", "aside"}
)  # fmt: skip
CELLS = frozenset({"td", "th"})
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip


class _Visible(HTMLParser):
    def __init__(self, budget: TextBudget) -> None:
        super().__init__(convert_charrefs=True)
        self.budget = budget
        self.parts: list[str] = []
        self.title: list[str] = []
        self.hidden: list[str] = []  # the hidden elements open, innermost last
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and not self.hidden[1:]:  # <title> sits in <head>
            self.in_title = True
            return
        if tag == "body" and "head" in self.hidden:  # an unclosed <head> ends here
            del self.hidden[self.hidden.index("head") :]
        if tag in HIDDEN and tag not in VOID:
            self.hidden.append(tag)
        elif not self.hidden:
            self._layout(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.hidden:
            self._layout(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag in self.hidden:  # close it, and anything left open inside it
            del self.hidden[len(self.hidden) - 1 - self.hidden[::-1].index(tag) :]
        elif not self.hidden and tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(self.budget.take(data))
        elif not self.hidden:
            self.parts.append(self.budget.take(data))

    def _layout(self, tag: str) -> None:
        if tag in BLOCKS:
            self.parts.append("\n")
        elif tag in CELLS:
            self.parts.append("\t")


def _tidy(text: str) -> str:
    """Runs of spaces as one, no blank runs of lines, as a browser lays it out."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def read(path: Path, limits: Limits) -> DocumentText:
    check_size(path.stat().st_size, limits)
    text, _ = decode_text(path.read_bytes())
    return DocumentText(visible_text(text, Deadline(limits.seconds), TextBudget(limits.max_chars)))


def visible_text(text: str, deadline: Deadline, budget: TextBudget) -> list[str]:
    """The page's title and its body's text as a browser shows them (the
    sections that have any text): also an e-mail's HTML body."""
    parser = _Visible(budget)
    for start in range(0, len(text), CHUNK):
        deadline.check()
        parser.feed(text[start : start + CHUNK])
    parser.close()
    title = _tidy("".join(parser.title))
    body = _tidy("".join(parser.parts))
    return [part for part in (title, body) if part]
