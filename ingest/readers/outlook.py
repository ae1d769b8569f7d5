"""Outlook e-mails (``.msg``), read by ``extract-msg``, as a ``mail.Mail``.

A ``.msg`` file is an OLE2 compound file: each attachment is a storage
(``__attach_version1.0_#…``) and an e-mail attached to it a storage
(``__substg1.0_3701000D``) inside that, with attachments of its own. Its
storages are listed first (olefile, no stream read) to count the
attachments of the whole message and how deep e-mails sit inside it,
under the limits of ``ingest.readers.mail``; only then does extract-msg
read it.

The body is the plain-text one, else the HTML one's visible text (extract-msg
makes either from an RTF-only body when it can). An attached e-mail becomes
a ``.msg`` file of its own (extract-msg writes it); a web link attachment
or one extract-msg cannot read is not taken (the stored original keeps it).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ingest.readers.common import Deadline, DocumentText, Limits, TextBudget, check_size
from ingest.readers.encoding import decode_text
from ingest.readers.mail import (
    OUTLOOK,
    SHOWN,
    Attachment,
    Budget,
    Mail,
    attachment_name,
    html_text,
    shown,
    small_picture,
    too_deep,
    too_many,
)
from vault.errors import UnreadableInputError

ATTACHMENT = "__attach_version1.0_#"
EMBEDDED = "__substg1.0_3701000d"
DAMAGED = "its structure is broken, or it was cut short"


def open_msg(path: Path, limits: Limits) -> Mail:
    check_size(path.stat().st_size, limits)
    _survey(path, limits)
    import extract_msg
    from extract_msg.enums import ErrorBehavior

    logging.getLogger("extract_msg").setLevel(logging.CRITICAL)  # it logs what it works around
    deadline, budget = Deadline(limits.seconds), TextBudget(limits.max_chars)
    try:
        msg = extract_msg.openMsg(
            str(path), errorBehavior=ErrorBehavior.ATTACH_SUPPRESS_ALL | ErrorBehavior.RTFDE
        )  # fmt: skip
    except (extract_msg.exceptions.ExMsgBaseException, OSError) as exc:  # (olefile's own)
        raise UnreadableInputError(f"it is a damaged Outlook file ({DAMAGED})") from exc
    try:
        mail = _mail_of(msg, limits, deadline, budget)
    finally:
        msg.close()
    if not (mail.body or mail.attachments or any(mail.headers.values())):
        raise UnreadableInputError("it is a damaged Outlook file (nothing in it could be read)")
    return mail


def _survey(path: Path, limits: Limits) -> None:
    import olefile

    try:
        with olefile.OleFileIO(path) as ole:
            entries = ole.listdir(streams=True, storages=True)
    except Exception as exc:  # olefile raises many kinds of error on a damaged file
        raise UnreadableInputError(f"it is a damaged Outlook file ({DAMAGED})") from exc
    attachments = {
        tuple(name.lower() for name in entry[: n + 1])
        for entry in entries
        for n, name in enumerate(entry)
        if name.lower().startswith(ATTACHMENT)
    }
    nesting = max((sum(name.lower() == EMBEDDED for name in entry) for entry in entries), default=0)
    if nesting > limits.max_nesting:
        raise too_deep(limits)
    if len(attachments) > limits.max_attachments:
        raise too_many(len(attachments), limits)


def _mail_of(msg: Any, limits: Limits, deadline: Deadline, budget: TextBudget) -> Mail:
    from extract_msg.enums import AttachmentType

    sent = getattr(msg, "date", None)
    values = {
        "from": getattr(msg, "sender", None),
        "to": getattr(msg, "to", None),
        "cc": getattr(msg, "cc", None),
        "date": sent.strftime("%a, %d %b %Y %H:%M:%S %z").strip() if sent else None,
        "subject": getattr(msg, "subject", None),
    }
    headers = {name: shown(values[name] or "") for name, _ in SHOWN}
    deadline.check()
    body = budget.take(str(getattr(msg, "body", None) or "")).replace("\r\n", "\n")
    if not body.strip():
        html = getattr(msg, "htmlBody", None)
        if html:
            text = html if isinstance(html, str) else decode_text(bytes(html))[0]
            body = html_text(text, deadline, budget)
    attachments: list[Attachment] = []
    pictures = 0
    taken = Budget(limits)
    for att in getattr(msg, "attachments", None) or []:
        deadline.check()
        kind = att.type
        number = len(attachments) + 1
        if kind in (AttachmentType.MSG, AttachmentType.SIGNED_EMBEDDED):
            inner = att.data
            data = inner.exportBytes() if hasattr(inner, "exportBytes") else None
            if data:
                raw = getattr(att, "longFilename", None) or getattr(inner, "subject", None)
                attachments.append(Attachment(attachment_name(raw, number, OUTLOOK),
                                              taken.take(data)))  # fmt: skip
            continue
        data = att.data if kind in (AttachmentType.DATA, AttachmentType.SIGNED) else None
        if not isinstance(data, bytes):
            continue  # a link, or one it cannot read: kept in the stored original
        media_type = str(getattr(att, "mimetype", None) or "application/octet-stream").lower()
        if small_picture(media_type, True, getattr(att, "contentId", None), len(data)):
            pictures += 1
            continue
        raw = (
            getattr(att, "longFilename", None)
            or getattr(att, "shortFilename", None)
            or getattr(att, "name", None)
        )
        attachments.append(Attachment(attachment_name(raw, number, media_type), taken.take(data)))
    return Mail(
        headers=headers,
        sent=sent.isoformat() if sent else None,
        body=body.strip(),
        attachments=attachments,
        pictures=pictures,
    )


def read(path: Path, limits: Limits) -> DocumentText:
    """The e-mail's headers and body (its attachments: ``open_msg``)."""
    return open_msg(path, limits).document()
