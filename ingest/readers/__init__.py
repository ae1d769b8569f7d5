"""Readers of born-digital documents: files that are text, not pictures of
pages (a text file, a web page, a Word or OpenDocument file).

Each reader is one module with one function::

    read(path: Path, limits: Limits) -> DocumentText(sections, fields, note)

registered below by the media type ``ingest.detect`` gives the file. The
pipeline (``ingest.pipeline``) stores such a document as it stores a scan:
the original, a searchable PDF made from its text (``rendition``) and the
manifest, whose text is the PDF's page by page; OCR is not run. A reader
raises ``UnreadableInputError`` for a file it cannot read or that breaks
a limit (``common.Limits``); a sound file whose text no program here can
take comes back with a ``note`` and no text, and is stored all the same.

Modules: ``common`` (limits, what a reader returns), ``encoding`` (text
files' encodings), ``archive`` (zips under limits), ``xmltext`` (XML
through defusedxml), the readers (``plaintext``, ``webpage``, ``docx``,
``odt``, ``rtf``, ``msword``, and for e-mails ``mail`` and ``outlook``),
and ``rendition`` (text to PDF). A new reader is a module with ``read``
and a line in ``READERS``; ``ingest.detect`` must recognise its type.

An e-mail's reader also gives its attachments (``mail.open_mail``), which
the pipeline stores as documents of their own before the e-mail.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.readers.common import DocumentText, Limits
from vault.errors import UnreadableInputError, VaultError

if TYPE_CHECKING:
    from ingest.readers.mail import Mail

__all__ = ["READERS", "DocumentText", "Limits", "read_document", "read_mail", "reads"]

# media type -> the module that reads it (imported when first needed)
READERS: dict[str, str] = {
    "text/plain": "ingest.readers.plaintext",
    "text/markdown": "ingest.readers.plaintext",
    "text/csv": "ingest.readers.plaintext",
    "text/html": "ingest.readers.webpage",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "ingest.readers.docx"
    ),
    "application/vnd.oasis.opendocument.text": "ingest.readers.odt",
    "application/rtf": "ingest.readers.rtf",
    "application/msword": "ingest.readers.msword",
    "message/rfc822": "ingest.readers.mail",
    "application/vnd.ms-outlook": "ingest.readers.outlook",
}


def reads(media_type: str) -> bool:
    """Whether a reader here takes ``media_type`` (else it is OCR's, or refused)."""
    return media_type in READERS


def read_document(path: Path, media_type: str, limits: Limits | None = None) -> DocumentText:
    """The text of ``path`` by the reader of ``media_type``.

    A library that fails on a hostile file in a way its reader does not
    expect (any error but ``OSError``: the computer's, not the file's) is
    taken as the file being unreadable, never as a crash of the batch."""
    module = importlib.import_module(READERS[media_type])
    result: DocumentText = guarded(module.read, path, limits or Limits())
    return result


def read_mail(path: Path, media_type: str, limits: Limits | None = None) -> Mail:
    """The e-mail at ``path``: its text and its attachments (``mail``)."""
    from ingest.readers.mail import open_mail

    result: Mail = guarded(open_mail, path, media_type, limits or Limits())
    return result


def guarded(read: Callable[..., Any], *args: Any) -> Any:
    """``read(*args)``, a library's unexpected error taken as the file's
    (``read_document``)."""
    try:
        return read(*args)
    except (VaultError, OSError, MemoryError):
        raise
    except Exception as exc:  # see read_document
        raise UnreadableInputError(
            f"it could not be read (its reader failed: {type(exc).__name__})"
        ) from exc
