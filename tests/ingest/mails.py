"""E-mails for the tests: ``.eml`` files built with the standard library's
``email`` package, and Outlook ``.msg`` files written property by property
with extract-msg's own OLE2 writer (the format of [MS-OXMSG]: a string
property is a stream ``__substg1.0_TTTTYYYY``; fixed ones sit in the
``__properties_version1.0`` stream; recipients and attachments are
storages of their own)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

SENT = datetime(2026, 12, 3, 10, 15, tzinfo=UTC)


def eml(
    path: Path,
    *,
    body: str | None = "Please find the referral attached. Word: pangolin.",
    html: str | None = None,
    subject: str = "Referral for the Smith family",
    attachments: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
    headers: dict[str, str] | None = None,
) -> Path:
    """An e-mail as a mail program saves it (.eml), with ``attachments``
    (name, data, media type)."""
    message = EmailMessage()
    message["From"] = "Jane Carter <jane.carter@northshire.example>"
    message["To"] = "Harbour View Centre <post@harbourview.example>"
    message["Cc"] = "Team <team@northshire.example>"
    message["Date"] = format_datetime(SENT)
    message["Subject"] = subject
    message["Message-ID"] = "<1234@northshire.example>"
    for name, value in (headers or {}).items():
        message[name] = value
    if body is not None:
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    for name, data, media_type in attachments:
        maintype, subtype = media_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    path.write_bytes(message.as_bytes())
    return path


def nested_eml(path: Path, depth: int, *, word: str = "narwhal") -> Path:
    """An e-mail forwarding an e-mail forwarding … ``depth`` deep; the
    innermost one says ``word``."""
    inner = EmailMessage()
    inner["From"] = "a@example.org"
    inner["Subject"] = "innermost"
    inner["Message-ID"] = "<0@example.org>"
    inner.set_content(f"The innermost message: {word}.")
    for level in range(1, depth + 1):
        outer = EmailMessage()
        outer["From"] = "b@example.org"
        outer["To"] = "c@example.org"
        outer["Subject"] = f"level {level}"
        outer["Message-ID"] = f"<{level}@example.org>"
        outer.set_content(f"Forwarded, level {level}.")
        outer.add_attachment(inner)
        inner = outer
    path.write_bytes(inner.as_bytes())
    return path


# --- Outlook .msg ---------------------------------------------------------------

PROPERTIES = "__properties_version1.0"


def _string(tag: str, value: str) -> tuple[str, bytes]:
    return f"__substg1.0_{tag}001F", value.encode("utf-16-le")


def _fixed(tag: int, kind: int, value: bytes) -> bytes:
    """One fixed-length property entry: tag, flags, 8 bytes of value."""
    return struct.pack("<HHI8s", kind, tag, 0x6, value.ljust(8, b"\0"))


def _filetime(when: datetime) -> bytes:
    return struct.pack("<Q", int((when.timestamp() + 11644473600) * 10_000_000))


def msg(
    path: Path,
    *,
    body: str = "Outlook body about a capybara.",
    subject: str = "Outlook referral",
    attachments: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
) -> Path:
    """A minimal Outlook e-mail (.msg) with ``attachments`` (name, data, media type)."""
    from extract_msg.ole_writer import OleWriter

    writer = OleWriter()
    fixed = _fixed(0x0039, 0x0040, _filetime(SENT))  # PR_CLIENT_SUBMIT_TIME
    fixed += _fixed(0x0E07, 0x0003, struct.pack("<I", 1))  # PR_MESSAGE_FLAGS: read, sent
    header = struct.pack("<8sIIII8s", b"", 1, len(attachments), 1, len(attachments), b"")
    writer.addEntry(PROPERTIES, header + fixed)
    for tag, value in (
        ("001A", "IPM.Note"),
        ("0037", subject),
        ("1000", body),
        ("0C1A", "Jane Carter"),
        ("5D01", "jane.carter@northshire.example"),
        ("0E04", "Harbour View Centre"),
        ("0E03", ""),
    ):
        writer.addEntry(*_string(tag, value))
    writer.addEntry("__nameid_version1.0", storage=True)
    writer.addEntry("__nameid_version1.0/__substg1.0_00020102", b"")
    writer.addEntry("__nameid_version1.0/__substg1.0_00030102", b"")
    writer.addEntry("__nameid_version1.0/__substg1.0_00040102", b"")
    recipient = "__recip_version1.0_#00000000"
    writer.addEntry(recipient, storage=True)
    writer.addEntry(
        f"{recipient}/{PROPERTIES}",
        b"\0" * 8 + _fixed(0x0C15, 0x0003, struct.pack("<I", 1)),  # PR_RECIPIENT_TYPE: To
    )
    for tag, value in (("3001", "Harbour View Centre"), ("39FE", "post@harbourview.example")):
        name, data = _string(tag, value)
        writer.addEntry(f"{recipient}/{name}", data)
    for number, (name, data, media_type) in enumerate(attachments):
        folder = f"__attach_version1.0_#{number:08X}"
        writer.addEntry(folder, storage=True)
        writer.addEntry(
            f"{folder}/{PROPERTIES}",
            b"\0" * 8
            + _fixed(0x3705, 0x0003, struct.pack("<I", 1))  # PR_ATTACH_METHOD: by value
            + _fixed(0x0E21, 0x0003, struct.pack("<I", number)),  # PR_ATTACH_NUM
        )
        writer.addEntry(f"{folder}/__substg1.0_37010102", data)
        for tag, value in (("3707", name), ("3704", name[:12]), ("370E", media_type)):
            stream, encoded = _string(tag, value)
            writer.addEntry(f"{folder}/{stream}", encoded)
    writer.write(str(path))
    return path
