"""Word documents (.docx, and .docm and .dotx, the same format): the text of
the body with its tables, then the headers, footers, footnotes and endnotes.

A .docx is a zip of XML parts; ``[Content_Types].xml`` names each part's
role, so the parts are found by role, not by the names Word happens to give
them. Text is only what Word shows: the runs' text (``w:t``), tabs and line
breaks; deleted text of tracked changes and the codes of fields are left
out. The XML goes through defusedxml (``xmltext``), the zip through
``archive`` (limits, bounded parts).
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from ingest.readers.archive import SafeZip
from ingest.readers.common import MB, Deadline, DocumentText, Limits, TextBudget, check_size
from ingest.readers.xmltext import XmlText, stream_text, tags
from vault.errors import UnreadableInputError

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_W = (
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "http://purl.oclc.org/ooxml/wordprocessingml/main",  # "strict" Open XML
)
_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_ML = "wordprocessingml."
# The roles of the parts whose text is taken, in the order it is laid out.
MAIN_ROLES = (
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    "application/vnd.ms-word.document.macroEnabled.main+xml",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
)
_OTHER_ROLES = tuple(
    f"application/vnd.openxmlformats-officedocument.{_ML}{part}+xml"
    for part in ("header", "footer", "footnotes", "endnotes")
)

SPEC = XmlText(
    paragraphs=tags(_W, "p"),
    text=tags(_W, "t"),
    tabs=tags(_W, "tab", "ptab"),
    breaks=tags(_W, "br", "cr"),
    skip=tags(_W, "delText", "instrText", "rPr", "pPr"),
)


def _parts_by_role(types_xml: bytes) -> dict[str, list[str]]:
    """Part names (without the leading /) for each content type named."""
    try:
        root = fromstring(types_xml)
    except (DefusedXmlException, SyntaxError) as exc:
        raise UnreadableInputError("its list of parts is damaged or hostile") from exc
    roles: dict[str, list[str]] = {}
    for override in root.iter(f"{_TYPES_NS}Override"):
        name = posixpath.normpath(override.get("PartName", "")).lstrip("/")
        roles.setdefault(override.get("ContentType", ""), []).append(name)
    return roles


def read(path: Path, limits: Limits) -> DocumentText:
    check_size(path.stat().st_size, limits)
    deadline, budget = Deadline(limits.seconds), TextBudget(limits.max_chars)
    with SafeZip(path, limits) as archive:
        roles = _parts_by_role(archive.read("[Content_Types].xml", 1 * MB))
        main = [name for role in MAIN_ROLES for name in roles.get(role, [])]
        if not main:
            raise UnreadableInputError("it has no document body (not a Word document?)")
        sections: list[str] = []
        for name in [*main, *(n for role in _OTHER_ROLES for n in sorted(roles.get(role, [])))]:
            if not archive.has(name):
                if name in main:
                    raise UnreadableInputError("its document body is missing (a damaged file?)")
                continue
            with archive.open(name) as part:
                text = stream_text(part, SPEC, deadline, budget)
            if text.strip() and text not in sections:  # each section's header once
                sections.append(text)
    return DocumentText(sections)
