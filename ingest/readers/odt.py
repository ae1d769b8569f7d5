"""OpenDocument text (.odt, and .ott, its template): the text of the body
with its tables and lists (``content.xml``), then the page headers and
footers (``styles.xml``, where OpenDocument keeps them).

An .odt is a zip whose first part, ``mimetype``, names its kind. Text is
what the document shows: paragraphs and headings, tabs, line breaks and
runs of spaces; comments (``office:annotation``) and the deleted text of
tracked changes are left out. The XML goes through defusedxml
(``xmltext``), the zip through ``archive`` (limits, bounded parts).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ingest.readers.archive import SafeZip
from ingest.readers.common import Deadline, DocumentText, Limits, TextBudget, check_size
from ingest.readers.xmltext import XmlText, stream_text, tags
from vault.errors import UnreadableInputError

MEDIA_TYPE = "application/vnd.oasis.opendocument.text"
KINDS = (MEDIA_TYPE, "application/vnd.oasis.opendocument.text-template")
_TEXT = ("urn:oasis:names:tc:opendocument:xmlns:text:1.0",)
_OFFICE = ("urn:oasis:names:tc:opendocument:xmlns:office:1.0",)
_STYLE = ("urn:oasis:names:tc:opendocument:xmlns:style:1.0",)

BODY = XmlText(
    paragraphs=tags(_TEXT, "p", "h"),
    text=None,  # ODF text is mixed content: all character data of a paragraph
    tabs=tags(_TEXT, "tab"),
    breaks=tags(_TEXT, "line-break"),
    spaces=tags(_TEXT, "s"),
    space_count=f"{{{_TEXT[0]}}}c",
    skip=tags(_OFFICE, "annotation") | tags(_TEXT, "tracked-changes", "note-citation"),
)
HEADERS = replace(
    BODY,
    within=tags(_STYLE, "header", "footer", "header-left", "footer-left", "header-first",
                "footer-first"),
)  # fmt: skip


def read(path: Path, limits: Limits) -> DocumentText:
    check_size(path.stat().st_size, limits)
    deadline, budget = Deadline(limits.seconds), TextBudget(limits.max_chars)
    with SafeZip(path, limits) as archive:
        if not archive.has("content.xml"):
            raise UnreadableInputError("its body (content.xml) is missing (a damaged file?)")
        sections: list[str] = []
        for name, spec in (("content.xml", BODY), ("styles.xml", HEADERS)):
            if not archive.has(name):
                continue
            with archive.open(name) as part:
                text = stream_text(part, spec, deadline, budget)
            if text.strip():
                sections.append(text)
    return DocumentText(sections)
