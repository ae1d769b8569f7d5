"""What every reader of born-digital documents shares: the limits it reads
hostile input under, and what it hands back.

A reader is a module with one function, ``read(path, limits) -> DocumentText``.
It raises ``UnreadableInputError`` (the file goes to the quarantine, or is
left where it is by ``vault ingest``) for input it cannot read or that breaks
a limit, and returns a ``DocumentText`` with a ``note`` (stored, no text)
when the file is sound but its text cannot be taken (no program on this
computer reads it).

Limits: the file's size is checked before anything is read; an e-mail's
parts are counted, and how deep e-mails sit inside it, before any
attachment is taken; a container
(a .docx or .odt is a zip) is checked for the count of its parts, their
total unpacked size and how far each is compressed, from its directory,
before any part is unpacked, and each part is then read through a bounded
reader (a directory can lie); the text taken is capped; and a reader checks
its ``Deadline`` as it goes (every parser used here takes time in
proportion to what it reads, which the size limits bound; the deadline
stops one that is slower than it should be). An outside program runs with
a timeout.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from vault.errors import UnreadableInputError

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 100 * MB  # the file as stored
    max_members: int = 10_000  # parts of a zip
    max_unpacked_bytes: int = 200 * MB  # all parts of a zip, unpacked
    max_ratio: int = 200  # unpacked / packed size of a part larger than 1 MB unpacked
    max_chars: int = 5_000_000  # characters of text taken
    seconds: float = 60.0  # to read one document
    # e-mails (``ingest.readers.mail``); the attachments' decoded bytes
    # together are held to ``max_unpacked_bytes``
    max_attachments: int = 100  # in the whole e-mail, those of e-mails inside it too
    max_attachment_bytes: int = 50 * MB  # one attachment, decoded
    max_nesting: int = 3  # e-mails inside e-mails (a forwarded message attached)
    max_parts: int = 1_000  # MIME parts of the whole e-mail


@dataclass(frozen=True)
class DocumentText:
    """The text of a document, in sections (a page, a header, a sheet of
    a text file: the rendition lays them out one after the other), with the
    facts its reader found (``fields``) and, when no text could be taken,
    why (``note``)."""

    sections: list[str]
    fields: dict[str, Any] = field(default_factory=dict)
    note: str | None = None

    @property
    def has_text(self) -> bool:
        return any(section.strip() for section in self.sections)


class Deadline:
    """When reading one document must be over."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self._end:
            raise UnreadableInputError(
                f"reading it took longer than {self.seconds:g} seconds (a hostile file?)"
            )


class TextBudget:
    """The characters a reader may still take (``Limits.max_chars``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, text: str) -> str:
        self.used += len(text)
        if self.used > self.limit:
            raise UnreadableInputError(
                f"it holds more than {self.limit:,} characters of text (the most the vault takes)"
            )
        return text


def check_size(size: int, limits: Limits) -> None:
    if size > limits.max_file_bytes:
        raise UnreadableInputError(
            f"the file is {size / MB:.0f} MB, more than the {limits.max_file_bytes // MB} MB "
            "the vault reads for this type"
        )
