"""E-mails: a message's headers and body as text, and its attachments, each
to be stored as a document of its own (``ingest.pipeline``).

An ``.eml`` file (MIME, RFC 5322) is read by Python's own ``email``
package; an Outlook ``.msg`` file by ``ingest.readers.outlook``. Both give
a ``Mail``:

- the headers shown (From, To, Cc, Date, Subject), as fields too (``from``,
  ``to``, ``cc``, ``date`` as ISO 8601, ``subject``);
- the body as text: the plain-text version when there is one, else the
  HTML version's visible text (``webpage.visible_text``: nothing fetched);
  any further inline text part (a footer some mail programs add as a part
  of its own) follows it;
- the attachments, each with a file name that is safe to write (no folder,
  no control characters) and its decoded bytes. An e-mail attached to the
  e-mail (a forwarded message) is an attachment too (``.eml`` or ``.msg``):
  stored in its turn as an e-mail with its own attachments. Pictures
  shown inside the body (inline, with a Content-ID, at most
  ``INLINE_PICTURE_BYTES``: a signature's logo, a social-media icon) are
  left out and counted: they stay in the stored original e-mail.

Limits (``common.Limits``), checked before any attachment is taken: the
size of the file; at most ``max_parts`` MIME parts in the whole message;
at most ``max_attachments`` attachments, counting those of the e-mails
inside it; e-mails inside e-mails at most ``max_nesting`` deep; each
attachment at most ``max_attachment_bytes`` decoded, all of them together
at most ``max_unpacked_bytes``. An e-mail that breaks one is refused as a
whole (``UnreadableInputError``) with the reason.
"""

from __future__ import annotations

import email.utils
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.policy import Compat32
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from ingest.readers.common import MB, Deadline, DocumentText, Limits, TextBudget, check_size
from ingest.readers.encoding import decode_text
from ingest.readers.webpage import visible_text
from vault.errors import UnreadableInputError
from vault.filename import extension_for, safe_stem

MEDIA_TYPE = "message/rfc822"
OUTLOOK = "application/vnd.ms-outlook"
MAIL_TYPES = frozenset({MEDIA_TYPE, OUTLOOK})
INLINE_PICTURE_BYTES = 32 * 1024
MAX_MULTIPART_DEPTH = 30  # multiparts inside multiparts (real mail: a handful)
MAX_HEADER_CHARS = 2_000  # of one header, as shown (a long To list is cut)
SHOWN = (("from", "From"), ("to", "To"), ("cc", "Cc"), ("date", "Date"), ("subject", "Subject"))
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_EXTRA = {"message/rfc822": ".eml", "application/vnd.ms-outlook": ".msg"}


@dataclass(frozen=True)
class Attachment:
    name: str  # safe to write as a file name
    data: bytes


@dataclass(frozen=True)
class Mail:
    headers: dict[str, str]  # "from", "to", "cc", "date", "subject": as shown
    sent: str | None  # the Date header as ISO 8601, when it reads as a date
    body: str
    attachments: list[Attachment] = field(default_factory=list)
    pictures: int = 0  # inline pictures left out (in the stored original)

    @property
    def fields(self) -> dict[str, Any]:
        """The facts for the manifest: who, to whom, when, about what."""
        found: dict[str, Any] = {
            name: value for name, value in self.headers.items() if value and name != "date"
        }
        if self.sent:
            found["date"] = self.sent
        return found

    def sections(self, listed: list[str]) -> list[str]:
        """The text of the e-mail as its searchable PDF lays it out: the
        headers, the body, then the attachments' names (``listed``)."""
        head = "\n".join(
            f"{label}: {self.headers[name]}" for name, label in SHOWN if self.headers.get(name)
        )
        sections = [part for part in (head, self.body.strip()) if part]
        if listed:
            count = len(listed)
            sections.append(
                f"Attachment{'s' if count != 1 else ''} ({count}):\n"
                + "\n".join(f"  {name}" for name in listed)
            )
        return sections

    def document(self) -> DocumentText:
        return DocumentText(self.sections([a.name for a in self.attachments]), self.fields)


def read(path: Path, limits: Limits) -> DocumentText:
    """The e-mail's headers and body (its attachments: ``open_mail``)."""
    return open_mail(path, MEDIA_TYPE, limits).document()


def open_mail(path: Path, media_type: str, limits: Limits) -> Mail:
    """The e-mail at ``path`` (an ``.eml``, or an Outlook ``.msg`` file)."""
    if media_type == OUTLOOK:
        from ingest.readers import outlook

        return outlook.open_msg(path, limits)
    return open_eml(path, limits)


# --- what the two kinds share ---------------------------------------------------


def shown(value: object) -> str:
    """A header's value as one line of text, without control characters."""
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    return text if len(text) <= MAX_HEADER_CHARS else text[: MAX_HEADER_CHARS - 1] + "…"


def attachment_name(raw: str | None, number: int, media_type: str | None) -> str:
    """A file name for attachment ``number`` (from 1) that is safe to write:
    the last part of the name it came with (no folders), without control
    or reserved characters, else ``attachment-N`` with its type's extension."""
    name = ""
    if raw:
        name = PureWindowsPath(PurePosixPath(shown(raw)).name).name
        name = unicodedata.normalize("NFC", name)
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    suffix = re.sub(r"[^A-Za-z0-9]", "", suffix)[:10]
    stem = safe_stem(stem) if stem.strip(" .-") else ""
    if not stem or stem.startswith("document "):  # nothing usable, or a reserved name
        stem = f"attachment-{number}"
    if not suffix and media_type:
        suffix = (_EXTRA.get(media_type) or extension_for(media_type)).lstrip(".")
    return f"{stem}.{suffix}" if suffix else stem


class Budget:
    """The attachments' decoded bytes an e-mail may still give."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.used = 0

    def take(self, data: bytes) -> bytes:
        limits = self.limits
        if len(data) > limits.max_attachment_bytes:
            raise UnreadableInputError(
                f"an attachment is {len(data) / MB:.0f} MB, more than the "
                f"{limits.max_attachment_bytes // MB} MB the vault takes from an e-mail"
            )
        self.used += len(data)
        if self.used > limits.max_unpacked_bytes:
            raise UnreadableInputError(
                f"its attachments come to more than {limits.max_unpacked_bytes // MB} MB "
                "(the most the vault takes from one e-mail)"
            )
        return data


def too_many(count: int, limits: Limits) -> UnreadableInputError:
    return UnreadableInputError(
        f"it has {count} attachments, more than the {limits.max_attachments} the vault "
        "takes from one e-mail (counting those of e-mails inside it)"
    )


def too_deep(limits: Limits) -> UnreadableInputError:
    return UnreadableInputError(
        f"it holds e-mails inside e-mails more than {limits.max_nesting} deep"
    )


def iso_date(value: str | None) -> str | None:
    """An e-mail's Date header as ISO 8601 (None if it is not a date)."""
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def small_picture(media_type: str, inline: bool, content_id: str | None, size: int) -> bool:
    """A picture shown inside the body (a logo), left out (see the module)."""
    return (
        inline
        and bool(content_id)
        and media_type.startswith("image/")
        and size <= INLINE_PICTURE_BYTES
    )


def html_text(html: str, deadline: Deadline, budget: TextBudget) -> str:
    return "\n".join(visible_text(html, deadline, budget))


# --- .eml --------------------------------------------------------------------------


def open_eml(path: Path, limits: Limits) -> Mail:
    from email.parser import BytesParser

    check_size(path.stat().st_size, limits)
    deadline, budget = Deadline(limits.seconds), TextBudget(limits.max_chars)
    with open(path, "rb") as f:
        message = BytesParser(policy=_AsItCame()).parse(f)
    deadline.check()
    _survey(message, limits)
    headers = {name: shown(_header(message, name)) for name, _ in SHOWN}
    body_part = _body_part(message)
    texts: list[str] = []
    attachments: list[Attachment] = []
    pictures = 0
    taken = Budget(limits)
    for part, alternative in _own_parts(message):
        deadline.check()
        if part is body_part:
            texts.insert(0, _text_of(part, deadline, budget))
            continue
        media_type = part.get_content_type()
        if _is_message(part, media_type):
            subject = shown(_header(part.get_payload()[0], "subject"))
            raw = part.get_filename() or (f"{subject}.eml" if subject else None)
            name = attachment_name(raw, len(attachments) + 1, MEDIA_TYPE)
            attachments.append(Attachment(name, taken.take(_message_bytes(part))))
            continue
        disposition = part.get_content_disposition()
        named = part.get_filename()
        if disposition != "attachment" and not named and media_type in ("text/plain", "text/html"):
            if not alternative:  # another version of the body is not text to add
                texts.append(_text_of(part, deadline, budget))
            continue
        data = part.get_payload(decode=True) or b""
        if disposition != "attachment" and small_picture(
            media_type, True, part.get("content-id"), len(data)
        ):
            pictures += 1
            continue
        name = attachment_name(named, len(attachments) + 1, media_type)
        attachments.append(Attachment(name, taken.take(data)))
    return Mail(
        headers=headers,
        sent=iso_date(headers["date"]),
        body="\n\n".join(text.strip() for text in texts if text.strip()),
        attachments=attachments,
        pictures=pictures,
    )


# Headers. ``policy.default`` parses a header into an object each time it is
# looked at, and reading an e-mail looks at its parts' Content-Type many
# times (counting, finding the body, taking the parts): most of the time it
# took. So the message is parsed with ``_AsItCame``: ``policy.compat32``, but
# a Content-Type, Content-Disposition or Content-Transfer-Encoding is read as
# it came only when it is plainly well formed (tokens and quoted strings of
# ASCII; no encoded word, RFC 2231 parameter, comment or 8-bit byte), where
# that gives the parameters ``policy.default`` gives; any other, a damaged
# one too, is read as ``policy.default`` reads it, as leniently. The headers
# shown are decoded as ``policy.default`` decodes them.

_ATOM = r"[!#$%&'*+.^_`{|}~0-9A-Za-z-]+"  # a token of RFC 2045
_NAME = r"[!#$%&'+.^_`{|}~0-9A-Za-z-]+"  # an atom without "*" (RFC 2231's mark)
_PARAMETERS = rf"""(?:[ \t]*;[ \t]*{_NAME}[ \t]*=[ \t]*(?:{_ATOM}|"[ !#-\[\]-~]*"))*[ \t]*"""
_PLAIN = {
    "content-type": re.compile(rf"[ \t]*{_ATOM}/{_ATOM}{_PARAMETERS}"),
    "content-disposition": re.compile(rf"[ \t]*{_ATOM}{_PARAMETERS}"),
    "content-transfer-encoding": re.compile(_ATOM),
}
_LINE_BREAK = re.compile(r"\r|\n")  # as policy.default unfolds a header


class _AsItCame(Compat32):
    """``policy.compat32``, but a part's structure read as said above."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        plain = _PLAIN.get(name.lower())
        if plain is None:
            return super().header_fetch_parse(name, value)
        unfolded = _LINE_BREAK.sub("", value)
        if plain.fullmatch(unfolded) and "=?" not in unfolded:
            return unfolded
        return str(policy.default.header_fetch_parse(name, value))


# A list of plain addresses ("Jane Carter <jane@example.org>, team@example.org":
# names of letters, digits, ' _ - and single spaces, addresses of dot-atoms)
# is shown by ``policy.default`` as it came: it is not parsed (parsing an
# address header took a tenth of the time of storing a plain e-mail).
_PLAIN_NAME = r"[A-Za-z0-9'_-]+(?: [A-Za-z0-9'_-]+)*"
_PLAIN_ADDRESS = r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_PLAIN_MAILBOX = rf"(?:{_PLAIN_NAME} <{_PLAIN_ADDRESS}>|{_PLAIN_ADDRESS})"
_PLAIN_ADDRESSES = re.compile(rf"{_PLAIN_MAILBOX}(?:, {_PLAIN_MAILBOX})*")


def _header(message: Any, name: str) -> str:
    """A header as ``policy.default`` shows it (the first, if repeated)."""
    raw = next((v for k, v in message.raw_items() if k.lower() == name), None)
    if raw is None:
        return ""
    if name in ("from", "to", "cc") and _PLAIN_ADDRESSES.fullmatch(raw):
        return str(raw)
    try:
        return str(policy.default.header_fetch_parse(name, raw))
    except Exception:  # a header the parser cannot make sense of: shown as it came
        return str(raw)


def _is_message(part: Any, media_type: str) -> bool:
    return media_type in ("message/rfc822", "message/global") and isinstance(
        part.get_payload(), list
    )


def _survey(message: Any, limits: Limits) -> None:
    """Count parts and attachments, and how deep e-mails and multiparts sit,
    before anything is decoded."""
    stack: list[tuple[Any, int, int]] = [(message, 0, 0)]
    parts = attachments = 0
    while stack:
        part, nesting, depth = stack.pop()
        parts += 1
        if parts > limits.max_parts:
            raise UnreadableInputError(
                f"it has more than {limits.max_parts} MIME parts (the most the vault reads)"
            )
        if depth > MAX_MULTIPART_DEPTH:
            raise UnreadableInputError(
                f"its parts sit more than {MAX_MULTIPART_DEPTH} deep inside each other"
            )
        payload = part.get_payload()
        media_type = part.get_content_type()
        if media_type.startswith("multipart/") and isinstance(payload, list):
            stack.extend((child, nesting, depth + 1) for child in payload)
        elif _is_message(part, media_type):
            attachments += 1
            if nesting + 1 > limits.max_nesting:
                raise too_deep(limits)
            stack.extend((child, nesting + 1, depth + 1) for child in payload)
        elif part is not message and not isinstance(payload, list):
            named = part.get_content_disposition() == "attachment" or part.get_filename()
            if named or media_type not in ("text/plain", "text/html"):
                attachments += 1
    if attachments > limits.max_attachments:
        raise too_many(attachments, limits)


def _body_part(message: Any) -> Any:
    """The part that is the e-mail's body: the first plain-text part, else
    the first HTML part, looked for as ``EmailMessage.get_body(("plain",
    "html"))`` is documented to: depth first, passing over attachments and
    attached e-mails, and in a multipart/related only its root part (the
    one its ``start`` parameter names, else the first). None if there is none."""
    html = None
    stack = [message]
    while stack:
        part = stack.pop()
        if part.get_content_disposition() == "attachment":
            continue
        maintype, _, subtype = part.get_content_type().partition("/")
        if maintype == "text":
            if subtype == "plain":
                return part
            if subtype == "html" and html is None:
                html = part
            continue
        children = part.get_payload()
        if maintype != "multipart" or not isinstance(children, list) or not children:
            continue
        if subtype == "related":
            start = part.get_param("start")
            root = next((c for c in children if start and c.get("content-id") == start), None)
            children = [children[0] if root is None else root]
        stack.extend(reversed(children))
    return html


def _own_parts(message: Any) -> Iterator[tuple[Any, bool]]:
    """The e-mail's own leaves and attached e-mails in order (not the parts
    of e-mails inside it), each with whether it sits in a multipart/alternative."""
    stack: list[tuple[Any, bool]] = [(message, False)]
    while stack:
        part, alternative = stack.pop()
        payload = part.get_payload()
        media_type = part.get_content_type()
        if media_type.startswith("multipart/") and isinstance(payload, list):
            inside = alternative or media_type == "multipart/alternative"
            stack.extend((child, inside) for child in reversed(payload))
        elif (_is_message(part, media_type) and part is not message) or not isinstance(
            payload, list
        ):
            yield part, alternative


def _text_of(part: Any, deadline: Deadline, budget: TextBudget) -> str:
    raw = part.get_payload(decode=True) or b""
    charset = part.get_content_charset()
    text = None
    if charset:
        try:
            text = raw.decode(charset, errors="replace")
        except LookupError:  # a charset Python does not know
            text = None
    if text is None:
        text, _ = decode_text(raw)
    if part.get_content_subtype() == "html":
        return html_text(text, deadline, budget)
    return budget.take(text.replace("\r\n", "\n"))


def _message_bytes(part: Any) -> bytes:
    """An attached e-mail as a file of its own."""
    from email import policy

    inner = part.get_payload()[0]
    return bytes(inner.as_bytes(policy=policy.default.clone(refold_source="none")))
