"""A document's title, made from its content: its type, who sent it (or its
first heading) and its date, e.g. ``Referral — Northshire Council — 3 Dec 2026``.

Titles are stored in the encrypted manifest and the (encrypted) catalog, and
shown by list, search and show instead of a scanner's file name. A title
typed with ``vault edit --title`` is kept as typed; a document stored before
titles existed gets one made from its text when the catalog is opened or
rebuilt (its manifest is not rewritten).

An e-mail's title has its subject in place of a sender, and the day it
was sent (its ``subject`` and ``date`` fields). Otherwise the sender is,
in order: a labelled one ("From: …", "Referred by: …",
"Referral from …"), the court ("IN THE FAMILY COURT AT NORWICH" gives
"Family Court at Norwich"), or the first line that reads as a heading (a
letterhead); never a greeting ("Dear …"), a "label: value" line, a line
with a title such as Mrs (a person's name), an address or a number. The
date is the first one in the text, else the day it was received.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vault.dates import spoken

if TYPE_CHECKING:
    from vault.manifest import Manifest

SEPARATOR = " \u2014 "
MAX_PART = 60
_TYPE_WORDS = {"court-order": "Court order", "other": "Document"}
_LABELLED = re.compile(
    r"^\s*(?:from|sender|referred\s+by|referring\s+agency|referrer|issued\s+by)\s*[:\-]\s*(.+)$",
    re.IGNORECASE | re.MULTILINE,
)
_FROM = re.compile(r"^\s*(?:self-)?referral\s+from\s+(.+)$", re.IGNORECASE | re.MULTILINE)
_COURT = re.compile(r"^\s*in\s+the\s+(.*\bcourt\b.*)$", re.IGNORECASE | re.MULTILINE)
_SKIP = re.compile(
    r"^(dear|to|re|ref|our|your|date|dated|tel|telephone|phone|email|e-mail|fax|page)\b"
    r"|\bname\b|\bno\.|\bnumber\b|\bref(?:erence)?\b|\b(?:mr|mrs|ms|miss|mx|dr)\b|[@:\d]",
    re.IGNORECASE,
)
_SMALL_WORDS = {"of", "at", "the", "and", "for", "in", "on", "to", "a", "an"}


def type_label(doc_type: str) -> str:
    """A document type in words: ``court-order`` gives ``Court order``."""
    return _TYPE_WORDS.get(doc_type) or doc_type.replace("-", " ").capitalize()


def make_title(
    doc_type: str, text: Sequence[str], fields: Mapping[str, Any], received: str | None
) -> str:
    """The title of a document with this type, text, fields and received time."""
    parts = [type_label(doc_type)]
    subject = fields.get("subject")
    source = _tidy(subject) if isinstance(subject, str) else None
    source = source or sender(text, doc_type)
    if source:
        parts.append(source)
    dates = fields.get("dates")
    day = dates[0] if isinstance(dates, list) and dates and isinstance(dates[0], str) else None
    sent = fields.get("date")
    if isinstance(sent, str) and subject is not None:  # an e-mail: the day it was sent
        day = sent
    try:
        if day or received:
            parts.append(spoken(day or received or ""))
    except ValueError:
        pass
    return SEPARATOR.join(parts)


def title_of(manifest: Manifest) -> str:
    """The title ``manifest`` was given, or one made from its content."""
    return manifest.title or make_title(
        manifest.doc_type, manifest.text, manifest.fields, manifest.received
    )


def sender(text: Sequence[str], doc_type: str = "other") -> str | None:
    """Who sent the document, or its first heading (see the module)."""
    first = text[0] if text else ""
    for pattern in (_LABELLED, _FROM, _COURT):
        match = pattern.search(first)
        if match and (found := _tidy(match.group(1))):
            if pattern is _COURT:
                found = _tidy(re.sub(r"^the\s+", "", match.group(1), flags=re.IGNORECASE))
            return found
    label = type_label(doc_type).lower()
    for line in first.splitlines()[:8]:
        line = line.strip()
        letters = sum(c.isalpha() for c in line)
        if letters < 4 or _SKIP.search(line) or line.endswith((",", ";")):
            continue
        found = _tidy(line)
        if found and not found.lower().startswith(label.split()[0]):
            return found  # a heading such as "Referral form" says only the type
    return None


def _tidy(value: str) -> str | None:
    value = " ".join(value.strip(" .:,;-").split())
    if not value:
        return None
    if value.isupper():
        words = value.lower().split()
        value = " ".join(
            w if n and w in _SMALL_WORDS else w[:1].upper() + w[1:] for n, w in enumerate(words)
        )
    if len(value) > MAX_PART:
        value = value[:MAX_PART].rsplit(" ", 1)[0] + "\u2026"
    return value
