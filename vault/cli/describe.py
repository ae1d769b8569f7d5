"""A document described in words for ``vault show``: what kind of file it is,
when it came, the facts found in its text, with no technical labels, and
an e-mail's attachments (or an attachment's e-mail), and the expected post
it was received as."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from vault.dates import spoken

if TYPE_CHECKING:
    from vault.catalog import Catalog
    from vault.repository import Vault

_KINDS = {
    "application/pdf": "PDF",
    "image/tiff": "TIFF image",
    "image/jpeg": "JPEG image",
    "image/png": "PNG image",
    "image/webp": "WebP image",
    "image/heic": "HEIC photo",
    "image/heif": "HEIF image",
    "image/gif": "GIF image",
    "image/bmp": "BMP image",
    "text/plain": "text file",
    "text/markdown": "Markdown text file",
    "text/csv": "CSV text file",
    "text/html": "web page",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document",
    "application/msword": "Word 97-2003 document",
    "application/vnd.oasis.opendocument.text": "OpenDocument text",
    "application/rtf": "RTF document",
    "message/rfc822": "e-mail",
    "application/vnd.ms-outlook": "Outlook e-mail (.msg)",
}
_FIELD_NAMES = {
    "subject": "subject",
    "from": "from",
    "to": "to",
    "cc": "cc",
    "date": "sent",
    "case_number": "case number",
    "referral_number": "referral number",
    "dates": "dates in the text",
    "reading": "reading of the file",
}
HARD_TO_READ = 60.0  # mean word confidence (0-100) below which a page is worth checking


def file_kind(row: dict[str, Any]) -> str:
    """E.g. ``PDF scan, 3 pages, 245.1 kB`` or ``JPEG image, 1 page, 80.0 kB``."""
    from sync.progress import human_bytes

    kind = _KINDS.get(row.get("media_type") or "", "file")
    if kind == "PDF":
        kind = "PDF scan" if row.get("searchable") else "PDF with its own text"
    parts = [kind]
    pages = row.get("pages")
    if pages:
        parts.append(f"{pages} page{'s' if pages != 1 else ''}")
    if row.get("size") is not None:
        parts.append(human_bytes(row["size"]))
    return ", ".join(parts)


def attachment_line(catalog: Catalog, doc_id: str) -> tuple[str, dict[str, Any] | None]:
    """An e-mail's attachment as ``show`` names it: its id (the one kept,
    when it was dropped as a copy of a document already stored) and name."""
    row = catalog.get(doc_id)
    if row is None and (kept := catalog.duplicate_of(doc_id)) is not None:
        row = catalog.get(kept)
    if row is None:
        return f"{doc_id} (no longer in the vault)", None
    return f"{row['id']} {row['name']}", row


def email_line(row: dict[str, Any]) -> str:
    """An e-mail as an attachment's ``show`` names it: ``e-mail D-… ("subject")``."""
    subject = row["fields"].get("subject") or row.get("title") or row["name"]
    return f'e-mail {row["id"]} ("{subject}")'


def received_day(value: str | None) -> str:
    """The (UTC) day a document was received, as ``4 Dec 2026``: the day
    that --since and --until compare."""
    try:
        return spoken(value or "")
    except ValueError:
        return (value or "-")[:10]


def received(value: str | None) -> str:
    """The time a document was received, in this computer's time and zone."""
    if not value:
        return "-"
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone()
    except ValueError:
        return value
    return f"{spoken(when.date())} at {when:%H:%M} {when.tzname() or ''}".rstrip()


def found_facts(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """The facts found in (or set on) a document, as (what, value) in words."""
    facts: list[tuple[str, str]] = []
    for name, value in sorted(fields.items(), key=lambda item: _order(item[0])):
        if name == "ocr_confidence":
            if note := _reading(value):
                facts.append(("reading of the scan", note))
            continue
        label = _FIELD_NAMES.get(name, name.replace("_", " "))
        if name == "date" and isinstance(value, str):
            shown = received(value)
        elif name == "dates" and isinstance(value, list):
            shown = ", ".join(_day(d) for d in value)
        elif isinstance(value, list):
            shown = ", ".join(str(v) for v in value)
        else:
            shown = str(value)
        facts.append((label, shown))
    return facts


def _order(name: str) -> tuple[int, str]:
    known = [*_FIELD_NAMES, "ocr_confidence"]
    return (known.index(name) if name in known else len(_FIELD_NAMES), name)


def _day(value: Any) -> str:
    try:
        return spoken(str(value))
    except ValueError:
        return str(value)


def _reading(value: Any) -> str | None:
    if not isinstance(value, list):
        return None
    scores = [(n, s) for n, s in enumerate(value, 1) if isinstance(s, int | float)]
    if not scores:
        return None
    hard = [n for n, s in scores if s < HARD_TO_READ]
    if not hard:
        return None  # read clearly: nothing to say
    pages = ", ".join(str(n) for n in hard)
    plural = "s" if len(hard) > 1 else ""
    return f"page{plural} {pages} hard to read: check the text against the scan"


def expected_for(vault: Vault, doc_id: str) -> tuple[str, dict[str, Any]] | None:
    """The expected post document ``doc_id`` was received as (``vault.expected``),
    in words and for ``--json``; None when it was none."""
    from vault import expected

    found = expected.for_document(expected.register(vault.audit.entries()), doc_id)
    if found is None:
        return None
    secret = expected.secret_part(vault, found.id) or {}
    sender = secret.get("sender")
    how = "matched on arrival" if found.how == expected.MATCHED else "recorded by hand"
    words = (
        f"{found.id}, the {expected.type_words(found.doc_type)} expected"
        + (f" from {sender}" if sender else "")
        + f" by {spoken(found.due)} ({how})"
    )
    return words, {
        "id": found.id, "type": found.doc_type, "due": found.due, "how": found.how,
        "sender": sender, "family": secret.get("family"),
    }  # fmt: skip
