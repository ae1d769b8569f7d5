"""Media type detection from a file's content, never its name.

In this order:

1. binary signatures: PDF, and the pictures read by OCR (TIFF, JPEG, PNG,
   GIF; WebP, HEIC/HEIF and BMP by their framing);
2. containers: a zip is looked inside (``mimetype`` names an OpenDocument
   file, ``[Content_Types].xml`` an Office Open XML one: .docx, .xlsx…),
   an OLE2 file's streams name an old Office file (``WordDocument``: .doc;
   ``Workbook``: .xls…), ``{\\rtf`` starts an RTF file;
3. text, which has no signature: the first 64 KB decode by the rules of
   ``ingest.readers.encoding`` (a byte order mark, valid UTF-8, else
   Windows-1252; no NUL bytes). Then a page that opens with
   ``<!doctype html`` or ``<html`` (after any comment) is a web page, one
   that opens with a mail program's headers (``Received:``,
   ``Message-ID:``, ``MIME-Version:``…) is an email,
   and anything else is plain text (Markdown or CSV if so named: the
   content says it is text, the name only which kind).

A type the vault cannot read (a spreadsheet, a zip…) is named in
the reason it is refused with, with advice: save it as PDF and store that.
"""

from __future__ import annotations

import re
from pathlib import Path

from ingest.readers import READERS
from ingest.readers.common import Limits
from ingest.readers.encoding import sniff_encoding
from vault.errors import UnreadableInputError

# (magic prefix, media type); longest and most specific first.
_SIGNATURES: list[tuple[bytes, str]] = [
    (b"%PDF-", "application/pdf"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
]
# ISO BMFF (HEIF) major brands of still images and image sequences.
_HEIF_BRANDS = {
    **dict.fromkeys((b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"), "image/heic"),
    **dict.fromkeys((b"mif1", b"msf1"), "image/heif"),
}
# BMP info header sizes (core, V1 to V5, OS/2 2.x): "BM" alone is too weak.
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}


def _framed_image(head: bytes) -> str | None:
    """WebP, HEIC/HEIF and BMP, whose magic is not a plain prefix: a RIFF
    file of form WEBP; an ``ftyp`` box with an image brand; ``BM`` with a
    known info header size and pixels after it."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return _HEIF_BRANDS[head[8:12]]
    if head[:2] == b"BM" and len(head) >= 18:
        offset = int.from_bytes(head[10:14], "little")
        header_size = int.from_bytes(head[14:18], "little")
        if header_size in _BMP_HEADER_SIZES and offset >= 14 + header_size:
            return "image/bmp"
    return None


# Read by OCR.
SCANNED = {media for _, media in _SIGNATURES} | {"image/webp", "image/bmp"}
SCANNED |= set(_HEIF_BRANDS.values())
SUPPORTED = SCANNED | set(READERS)  # stored; anything else is refused

ZIP = "application/zip"
OLE = "application/x-ole-storage"
EMAIL = "message/rfc822"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SNIFF_BYTES = 64 * 1024

# An Office Open XML file's main part -> its media type.
_OOXML_MAIN = {
    b"wordprocessingml.document.main+xml": DOCX,
    b"wordprocessingml.template.main+xml": DOCX,
    b"ms-word.document.macroEnabled.main+xml": DOCX,
    b"spreadsheetml.sheet.main+xml": "application/vnd.openxmlformats-officedocument."
    "spreadsheetml.sheet",
    b"ms-excel.sheet.macroEnabled.main+xml": "application/vnd.openxmlformats-officedocument."
    "spreadsheetml.sheet",
    b"presentationml.presentation.main+xml": "application/vnd.openxmlformats-officedocument."
    "presentationml.presentation",
}
# An OLE2 file's stream -> its media type.
_OLE_STREAMS = (
    ("WordDocument", "application/msword"),
    ("Workbook", "application/vnd.ms-excel"),
    ("Book", "application/vnd.ms-excel"),
    ("PowerPoint Document", "application/vnd.ms-powerpoint"),
    ("__properties_version1.0", "application/vnd.ms-outlook"),
)
_HTML_START = re.compile(rb"\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)[\s>]", re.I | re.S)
_XHTML = re.compile(rb"\s*<\?xml[^>]*>\s*(<!--.*?-->\s*)*<(!doctype\s+html|html)[\s>]", re.I | re.S)
# A header field: a name of printable characters but the colon, then a colon
# (Thread-Topic, ARC-Seal, Authentication-Results… come before From in real mail).
_MAIL_HEADER = re.compile(rb"[!-9;-~]+:[ \t]")
# What only a mail program writes (a typed memo may well start "To:" and "From:").
_MAIL_MUST = re.compile(
    rb"^(received|message-id|mime-version|return-path|delivered-to|dkim-signature):", re.I | re.M
)
_TEXT_KINDS = {".md": "text/markdown", ".markdown": "text/markdown", ".csv": "text/csv"}


def detect_media_type(path: Path) -> str | None:
    """The media type of ``path`` from its content, or None if unknown."""
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
        complete = not f.read(1)
    for magic, media in _SIGNATURES:
        if head.startswith(magic):
            return media
    framed = _framed_image(head)
    if framed is not None:
        return framed
    # PDFs may have a little junk before the header (allowed within 1 KB).
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    if head.startswith(_ZIP_MAGIC):
        return _zip_kind(path)
    if head.startswith(_OLE_MAGIC):
        return _ole_kind(path)
    if head.startswith(b"{\\rtf"):
        return "application/rtf"
    return _text_kind(path, head, complete)


def _zip_kind(path: Path) -> str:
    """What kind of zip ``path`` is: an office document's type, or plain ZIP
    (also when it is damaged or breaks the limits: the reason says which)."""
    from ingest.readers.archive import zip_names

    try:
        _, heads = zip_names(path, Limits())
    except UnreadableInputError:
        return ZIP
    mimetype = heads.get("mimetype", b"").strip()
    if mimetype.startswith(b"application/") and len(mimetype) < 100:
        return mimetype.decode("ascii", "replace")
    types = heads.get("[Content_Types].xml", b"")
    for main, media in _OOXML_MAIN.items():
        if main in types:
            return media
    return ZIP


def _ole_kind(path: Path) -> str:
    """An old Office file's type, from the streams inside it (olefile)."""
    import olefile

    if path.stat().st_size > Limits().max_file_bytes:
        return OLE
    try:
        with olefile.OleFileIO(path) as ole:
            for stream, media in _OLE_STREAMS:
                if ole.exists(stream):
                    return media
    except Exception:  # olefile raises many kinds of error on a damaged file
        return OLE
    return OLE


def _text_kind(path: Path, head: bytes, complete: bool) -> str | None:
    encoding = sniff_encoding(head, complete=complete)
    if encoding is None:
        return None
    start = head.decode(encoding, errors="replace")[:4096].lstrip("\ufeff")
    sample = start.encode("utf-8")
    if _HTML_START.match(sample) or _XHTML.match(sample):
        return "text/html"
    if _is_email(sample):
        return EMAIL
    return _TEXT_KINDS.get(path.suffix.lower(), "text/plain")


def _is_email(sample: bytes) -> bool:
    """Mail headers from the first line to the first blank one."""
    headers = sample.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    lines = [line for line in headers.split(b"\n") if line and not line[:1].isspace()]
    if lines and lines[0].startswith(b"From "):  # an mbox file's first line
        lines = lines[1:]
    return (
        len(lines) >= 2
        and all(_MAIL_HEADER.match(line) for line in lines[:2])
        and _MAIL_MUST.search(headers) is not None
    )


SAVE_AS_PDF = "save it as PDF (File > Save as > PDF) and store that"
ACCEPTED = (
    "the vault takes PDF files, pictures (TIFF, JPEG, PNG, HEIC, WebP, GIF, BMP), "
    "text files (also Markdown and CSV), web pages (HTML), Word (.docx, .doc), "
    "OpenDocument (.odt) and RTF documents, and e-mails (.eml, Outlook .msg)"
)
_IF_DOCUMENT = f"if it is a document, {SAVE_AS_PDF}"

# Media type -> what to call a file of that type the vault has no reader for.
_NAMED = {
    ZIP: "a zip file",
    OLE: "an Office file of a kind the vault does not know",
    EMAIL: "an email message",
    "application/vnd.ms-outlook": "an Outlook email (.msg)",
    "application/vnd.ms-excel": "an Excel spreadsheet (.xls)",
    "application/vnd.ms-powerpoint": "a PowerPoint presentation (.ppt)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        "an Excel spreadsheet (.xlsx)"
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "a PowerPoint presentation (.pptx)"
    ),
    "application/vnd.oasis.opendocument.spreadsheet": "an OpenDocument spreadsheet (.ods)",
    "application/vnd.oasis.opendocument.presentation": "an OpenDocument presentation (.odp)",
    "application/vnd.oasis.opendocument.graphics": "an OpenDocument drawing (.odg)",
    "application/epub+zip": "an e-book (EPUB)",
}
# Extension -> what to call a file of no type known (only to name it).
_KINDS = {
    ".pages": "a Pages document",
    ".numbers": "a Numbers spreadsheet",
    ".key": "a Keynote presentation",
    ".heic": "a photo in HEIC format",
    ".gif": "a GIF picture",
    ".bmp": "a BMP picture",
    ".webp": "a WebP picture",
    ".xls": "a spreadsheet",
    ".xlsx": "a spreadsheet",
    ".doc": "a Word document",
    ".docx": "a Word document",
    ".odt": "a text document",
}


def unsupported_reason(path: Path, media_type: str | None = None) -> str:
    """Why ``path`` (of ``media_type``, detected; None: unknown) is refused,
    naming what it was found to be, and what to do instead."""
    if media_type == ZIP:
        damage = _zip_damage(path)
        if damage is not None:
            return damage
    named = _NAMED.get(media_type or "")
    if named is not None:
        return f"{named} ({media_type}): the vault has no reader for this type; {SAVE_AS_PDF}"
    if media_type is not None:
        return f"a file of type {media_type}: the vault has no reader for it; {SAVE_AS_PDF}"
    kind = _KINDS.get(path.suffix.lower())
    if kind is not None:
        return (
            f"{kind}, but not one the vault can read, judged by its content ({ACCEPTED}); "
            f"{_IF_DOCUMENT}"
        )
    return f"not a type the vault reads, judged by its content ({ACCEPTED}); {_IF_DOCUMENT}"


def _zip_damage(path: Path) -> str | None:
    """Why the zip ``path`` cannot be opened, or None if it is a sound zip."""
    from ingest.readers.archive import zip_names

    try:
        zip_names(path, Limits())
    except UnreadableInputError as exc:
        return exc.message
    except OSError as exc:
        return f"cannot read it: {exc.strerror}"
    return None
