"""Turning paths on disk into stored documents.

``collect`` walks files and folders (never following symbolic links). For each
file, ``Ingester.ingest_file``:

1. detects its type from its content; an empty file, or one of a type the
   vault cannot read, is refused;
2. skips a file whose content is already in the vault (when unlocked) or was
   already ingested in this run, without reading it;
3. takes its text, in a private work folder (removed on every path): a scan
   (PDF, TIFF, JPEG, PNG) through OCR (``ocr``), a born-digital document
   (text, web page, Word, OpenDocument, RTF) through its reader
   (``ingest.readers``), which also lays the text out as a searchable PDF;
   input found unreadable (corrupt or password-protected PDF, decompression
   or zip bomb, too many pages) is refused with the reason;
4. gives the document a type, family reference and fields from its text
   (``ingest.rules``, ``ingest.fields``), unless the caller gave them;
5. stores it with ``Vault.store_file``: the original, the searchable PDF and
   the manifest are written, then made durable and journaled together with
   the rest of its batch (``StoreBatches``), and only then is its outcome
   handed on.

E-mails (``.eml``, Outlook ``.msg``: ``ingest.readers.mail``): each
attachment is written to the private work folder and taken through these
same steps (so a scanned PDF attachment is OCR'd, an attached e-mail
stored with its own attachments; a batch scan attached is not split),
stored as a document of its own, and only then is the e-mail stored,
its manifest naming its attachments' document ids
(``Manifest.attachments``; the catalog keeps the way back).
Cut short between the two, the e-mail is still where it was (in the inbox,
or given again): the next run finds its stored attachments as duplicates
(at once when unlocked, else when the journal is folded, where the
catalog's duplicate notes lead the dropped ids to the kept ones) and the
e-mail names them. An attachment that cannot be stored on its own (a type
the vault does not read, a damaged file) is named in the e-mail's note
and kept inside the stored original e-mail; an attachment without a
family reference in its text takes the e-mail's, and an e-mail without
one takes its first attachment's. An e-mail that breaks a limit (too
many attachments, e-mails nested too deep, too big) is refused whole.

A PDF or TIFF scanned as a batch (separator sheets between its documents,
``ingest.batch``) is split first, unless the settings say not to: the batch
file is stored once, whole, and each part goes through steps 2-5 as a
document of its own, its manifest naming the batch and its pages. The
outcome is a ``Split`` only once every part is durable.

A refused file is moved to the quarantine by an ``Ingester`` made with
``quarantine_refused`` (the watched inbox: ``ingest.watch``), and left
where it is, byte for byte, otherwise (``vault ingest``: a file the user
named is never moved): ``Quarantined`` or ``Refused``.

A path given that does not exist is refused first (``require_paths``).
Each file ends as one ``Outcome``: ``Ingested``, ``Quarantined``, ``Refused``
or ``Skipped`` (not moved: a symbolic link, a missing or unreadable path).
An ``OcrEngineError`` (the engine, not the input, failed) propagates: the
file stays where it is and what was stored before it stays stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest import batch as batches
from ingest.batch import Split
from ingest.detect import SUPPORTED, detect_media_type, unsupported_reason
from ingest.fields import extract_fields, family_reference
from ingest.readers import read_document, read_mail, reads
from ingest.readers.common import Limits
from ingest.readers.mail import MAIL_TYPES, too_deep
from ingest.readers.rendition import render_pdf
from ingest.rules import FALLBACK, classify
from ingest.settings import IngestSettings
from ocr import ocr_document
from ocr.source import PDF
from vault.batches import StoredBatch, store_batch, stored_before
from vault.errors import UnreadableInputError, UsageError, VaultError
from vault.fsutil import FILE_MODE, private_workdir
from vault.group_commit import StoreGroup
from vault.oserror import storage_error
from vault.repository import Stored, Vault
from vault.separator_sheet import Sheet

if TYPE_CHECKING:
    from ocr.document import OcrPool
    from vault.expected import Match

PageCallback = Callable[[int, int], None]

EMPTY = "empty file (0 bytes)"


def _named(path: Path, verbose: bool) -> str:
    """A file as messages name it: by name only, its full path if ``verbose``.

    A scheduled task's log then holds no folder names (which may name a
    family or a member of staff)."""
    return str(path) if verbose else path.name


@dataclass(frozen=True)
class Skipped:
    """Not stored and left where it is."""

    path: Path
    reason: str

    def message(self, *, verbose: bool = False) -> str:
        return f"skipped: {_named(self.path, verbose)}: {self.reason}"


@dataclass(frozen=True)
class Quarantined:
    """Not stored: moved to the quarantine folder (encrypted) beside a reason file."""

    path: Path
    reason: str
    moved_to: Path

    def message(self, *, verbose: bool = False) -> str:
        moved = self.moved_to if verbose else f"the quarantine as {self.moved_to.name}"
        return f"quarantined: {_named(self.path, verbose)}: {self.reason} (moved to {moved})"


@dataclass(frozen=True)
class Refused:
    """Not stored: of a type the vault cannot read, or unreadable; left where
    it is, untouched (``vault ingest`` never moves a file it was given)."""

    path: Path
    reason: str

    def message(self, *, verbose: bool = False) -> str:
        return f"not stored: {_named(self.path, verbose)}: {self.reason}"


@dataclass(frozen=True)
class Ingested:
    """Durably in the vault (or found there already). ``note``: why no
    text could be taken from it (stored all the same), or, for an e-mail,
    what of it was not stored on its own; ``attachments``: an e-mail's,
    each stored (or found) as a document of its own."""

    path: Path
    stored: Stored
    note: str | None = None
    pages: tuple[int, int] | None = None  # the pages of a batch scan it is (``ingest.batch``)
    attachments: tuple[Ingested, ...] = ()

    @property
    def duplicate(self) -> bool:
        return self.stored.duplicate_of is not None

    @property
    def new_documents(self) -> int:
        """Documents this stored that were not in the vault: it, and its attachments."""
        return (not self.duplicate) + sum(a.new_documents for a in self.attachments)

    def _file(self, verbose: bool) -> str:
        named = _named(self.path, verbose)
        if self.pages is None:
            return named
        first, last = self.pages
        return f"{named} page {first}" if first == last else f"{named} pages {first}-{last}"

    def message(self, *, verbose: bool = False, titled: bool | None = None) -> str:
        """``D-7K3M9Q  SCAN0001.pdf: referral, family F-0042, "Referral — …"``; a
        copy of a stored document names that document and is not stored.

        The title comes from the content and may name a sender, so it is shown
        only when ``titled`` (default: ``verbose``; the CLI adds a terminal):
        a scheduled task's log gets the id, file name, type and family only."""
        stored = self.stored
        shown = verbose if titled is None else titled
        title = f'"{stored.title}"' if stored.title and shown else ""
        if self.duplicate:
            about = f"a duplicate of {stored.duplicate_of}" + (f" ({title})" if title else "")
            return f"{stored.doc_id}  {self._file(verbose)}: {about}, not stored again"
        family = f"family {stored.family}" if stored.family else "no family reference"
        about = ", ".join(part for part in (stored.doc_type, family, title) if part)
        if self.attachments:
            count = len(self.attachments)
            parts = ", ".join(
                f"{a.stored.doc_id} {a.path.name}" + (" (already in the vault)" * a.duplicate)
                for a in self.attachments
            )
            about += f", with {count} attachment{'s' if count != 1 else ''} stored: {parts}"
        note = f" ({self.note})" if self.note else ""
        return f"{stored.doc_id}  {self._file(verbose)}: {about}{note}"

    def as_dict(self) -> dict[str, Any]:
        stored = self.stored
        found: dict[str, Any] = {
            "id": stored.doc_id, "file": self.path.name, "duplicate_of": stored.duplicate_of,
            "title": stored.title, "doc_type": stored.doc_type, "family": stored.family,
            "batch_pages": list(self.pages) if self.pages else None,
        }  # fmt: skip
        if self.attachments:
            found["attachments"] = [a.stored.doc_id for a in self.attachments]
        return found

    def as_dicts(self) -> list[dict[str, Any]]:
        """``as_dict`` of it, then of each attachment (which names its e-mail)."""
        found = [self.as_dict()]
        for attachment in self.attachments:
            for item in attachment.as_dicts():
                item.setdefault("attached_to", self.stored.doc_id)
                found.append(item)
        return found


@dataclass(frozen=True)
class Failed:
    """Not stored because the computer refused (disk full, no permission):
    left where it is, nothing wrong with the file; the batch goes on."""

    path: Path
    reason: str
    errno: int | None = None

    def message(self, *, verbose: bool = False) -> str:
        return f"not stored: {_named(self.path, verbose)}: {self.reason}"


Outcome = Ingested | Split | Quarantined | Refused | Skipped | Failed


@dataclass
class IngestReport:
    outcomes: list[Outcome] = field(default_factory=list)
    checked_duplicates: bool = True  # False without the key: found when next unlocked
    # documents found to be expected post (``vault.expected``), marked received
    expected: list[Match] = field(default_factory=list)
    # without the key: how many expectations are open (matched when next unlocked)
    expected_waiting: int = 0

    @property
    def documents(self) -> list[Ingested]:
        """Every document stored or found already, the parts of split batches too."""
        found: list[Ingested] = []
        for o in self.outcomes:
            if isinstance(o, Ingested):
                found.append(o)
            elif isinstance(o, Split):
                found.extend(o.parts)
        return found

    @property
    def stored(self) -> list[Ingested]:
        """Documents new to the vault."""
        return [o for o in self.documents if not o.duplicate]

    @property
    def duplicates(self) -> list[Ingested]:
        return [o for o in self.documents if o.duplicate]

    @property
    def splits(self) -> list[Split]:
        return [o for o in self.outcomes if isinstance(o, Split)]

    @property
    def quarantined(self) -> list[Quarantined]:
        return [o for o in self.outcomes if isinstance(o, Quarantined)]

    @property
    def refused(self) -> list[Refused]:
        return [o for o in self.outcomes if isinstance(o, Refused)]

    @property
    def skipped(self) -> list[Skipped]:
        return [o for o in self.outcomes if isinstance(o, Skipped)]

    @property
    def failed(self) -> list[Failed]:
        return [o for o in self.outcomes if isinstance(o, Failed)]

    @property
    def not_stored(self) -> int:
        return len(self.quarantined) + len(self.refused) + len(self.skipped) + len(self.failed)

    def summary(self, quarantine: Path) -> str:
        """One line saying what was done, e.g. for the end of a batch."""
        new = sum(o.new_documents for o in self.documents)
        text = f"Stored {new} document{'s' if new != 1 else ''}"
        if self.duplicates:
            copies = len(self.duplicates)
            named = ", ".join(dict.fromkeys(o.stored.doc_id for o in self.duplicates[:3]))
            more = ", ..." if copies > 3 else ""
            text += (
                f", {copies} duplicate{'s' if copies != 1 else ''} of documents already "
                f"in the vault ({named}{more}), not stored again"
            )
        if self.quarantined:
            text += f", quarantined {len(self.quarantined)} (in {quarantine})"
        if self.refused:
            where = "it is" if len(self.refused) == 1 else "they are"
            text += f", {len(self.refused)} not stored and left where {where}"
        if self.skipped:
            text += f", skipped {len(self.skipped)}"
        if self.failed:
            text += f", {len(self.failed)} not stored ({self.failed[0].reason})"
        text += "."
        for split in self.splits:
            text += f" {split.message()}."
        if self.stored and not self.checked_duplicates:
            text += " Duplicates are looked for when the vault is next unlocked."
        text += self._expected_text()
        return text

    def _expected_text(self) -> str:
        """What of it was expected post, or when that is found out."""
        found = self.expected
        if len(found) == 1:
            return f" Expected post: {found[0].message()}."
        if found:
            named = ", ".join(f"{m.doc_id} as {m.expectation}" for m in found)
            return f" Expected post: {len(found)} documents marked received ({named})."
        if self.stored and not self.checked_duplicates and self.expected_waiting:
            count = self.expected_waiting
            return (
                f" {count} expected document{'s are' if count != 1 else ' is'} awaited: "
                "what arrived is matched when the vault is next unlocked."
            )
        return ""


def not_a_file(mode: int) -> str | None:
    """Why something that is not a regular file or folder cannot be stored
    (None for a regular file). Such things are never opened: reading a named
    pipe or a device could wait forever."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    return "not a regular file"


def require_paths(paths: Iterable[Path]) -> None:
    """Refuse, before anything is stored, a path given that does not exist (a
    mistyped name is the user's to fix: ``UsageError``, exit status 2)."""
    for path in paths:
        try:
            path.lstat()
        except (FileNotFoundError, NotADirectoryError):
            raise UsageError(
                f"there is no file or folder called {path}; nothing was stored",
                hint="check the spelling (the Tab key completes names); a whole folder of "
                "scans can be given, e.g. 'vault ingest ~/Scans'",
            ) from None


def collect(paths: Iterable[Path]) -> Iterator[Path | Skipped]:
    """Files named, and files inside folders named (sorted, hidden ones left out).

    Symbolic links, named pipes, devices and sockets are skipped with the reason."""
    for path in paths:
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            yield Skipped(path, "no such file")
            continue
        except OSError as exc:
            yield Skipped(path, f"cannot read: {exc.strerror}")
            continue
        if stat.S_ISDIR(mode):
            yield from _collect_folder(path)
        else:
            yield _one(path, mode)


def _collect_folder(folder: Path) -> Iterator[Path | Skipped]:
    for child in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in child.relative_to(folder).parts):
            continue
        try:
            mode = child.lstat().st_mode
        except OSError:
            continue  # gone since the folder was listed
        if not stat.S_ISDIR(mode):
            yield _one(child, mode)


def _one(path: Path, mode: int) -> Path | Skipped:
    if stat.S_ISLNK(mode):
        return Skipped(path, "symbolic links are not followed")
    reason = not_a_file(mode)
    return path if reason is None else Skipped(path, reason)


@dataclass(frozen=True)
class Unreadable:
    reason: str


@dataclass(frozen=True)
class NotAFile:
    reason: str


def check_file(path: Path) -> str | Unreadable | NotAFile:
    """The media type of ``path`` from its content, or why it cannot be stored.

    A named pipe or device is found before it is opened (and the file is
    opened without waiting, should it have been swapped for one since).
    Raises OSError if the file cannot be read at all.
    """
    reason = not_a_file(path.stat().st_mode)
    if reason is not None:
        return NotAFile(reason)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    reason = not_a_file(info.st_mode)
    if reason is not None:
        return NotAFile(reason)
    if info.st_size == 0:
        return Unreadable(EMPTY)
    media_type = detect_media_type(path)
    if media_type is None or media_type not in SUPPORTED:
        return Unreadable(unsupported_reason(path, media_type))
    return media_type


def understand(
    pages: list[str],
    settings: IngestSettings,
    extra: dict[str, Any] | None = None,
    *,
    family: str | None = None,
) -> dict[str, Any]:
    """``doc_type``, ``family`` and ``fields`` for ``store_file`` from the
    text of each page (``extra``: more fields, e.g. OCR's confidence;
    ``family``: the one to give when the text names none), and the access
    ``levels`` asked for (``--level``)."""
    text = "\n".join(pages)
    fields = extract_fields(text)
    fields.update(extra or {})
    return {
        "doc_type": settings.doc_type or classify(text, settings.rules),
        "family": settings.family or family_reference(text) or family,
        "fields": fields,
        "levels": settings.levels,
    }


def _content_hash(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class Ingester:
    """Ingests files one at a time, remembering (in memory only) what this run stored."""

    def __init__(self, settings: IngestSettings, *, quarantine_refused: bool = False) -> None:
        self.settings = settings
        self.quarantine_refused = quarantine_refused  # else a refused file stays where it is
        self._seen: dict[str, str] = {}  # SHA-256 of content -> document id
        self._stored: dict[str, Stored] = {}  # document id -> what a copy of it did
        self._split: dict[str, Split] = {}  # SHA-256 of content -> the batch split

    def ingest_file(
        self, vault: Vault, path: Path, *, on_page: PageCallback | None = None
    ) -> Outcome:
        taken = self._take(vault, path, on_page)
        if isinstance(taken, Unreadable):
            return self.refuse(path, taken.reason, vault)
        return taken

    def _take(
        self,
        vault: Vault,
        path: Path,
        on_page: PageCallback | None,
        *,
        family: str | None = None,
        nesting: int = 0,
    ) -> Outcome | Unreadable:
        """Store ``path`` (an attachment too); ``family``: the one it takes
        when its text has none (an attachment's e-mail's)."""
        try:
            checked = check_file(path)
            digest = "" if not isinstance(checked, str) else _content_hash(path)
        except FileNotFoundError:
            return Skipped(path, "no such file (it went away)")
        except OSError as exc:
            return Skipped(path, f"cannot read: {exc.strerror}")
        if isinstance(checked, NotAFile):
            return Skipped(path, checked.reason)
        if isinstance(checked, Unreadable):
            return checked
        earlier = self._seen.get(digest)
        if earlier is not None:
            return Ingested(path, self._stored[earlier])
        if digest in self._split and not nesting:
            return self._split_again(path, self._split[digest])
        existing = vault.duplicate_of(path)
        if existing is not None:
            return Ingested(path, vault.stored_as(existing))
        try:
            if self.settings.split and not nesting and checked in batches.SPLITTABLE:
                outcome = self._split_or_store(vault, path, checked, on_page)
                if isinstance(outcome, Split):
                    self._split[digest] = outcome
                if not isinstance(outcome, Ingested):
                    return outcome
            elif checked in MAIL_TYPES:
                outcome = self._mail_and_store(vault, path, checked, on_page, family, nesting)
            elif reads(checked):
                outcome = self._read_and_store(vault, path, checked, on_page, family)
            else:
                outcome = self._ocr_store(vault, path, checked, on_page, family=family)
        except OSError as exc:  # the disk is full, a folder read-only: not this file's fault
            error = storage_error(exc, vault.root)
            return Failed(path, error.message, error.errno)
        if isinstance(outcome, Ingested):
            self._seen[digest] = outcome.stored.doc_id
            self._stored[outcome.stored.doc_id] = replace(
                outcome.stored, duplicate_of=outcome.stored.doc_id
            )
        return outcome

    def forget(self, doc_ids: set[str]) -> None:
        """Forget documents that were not stored after all (their batch failed)."""
        self._seen = {k: v for k, v in self._seen.items() if v not in doc_ids}
        for doc_id in doc_ids:
            self._stored.pop(doc_id, None)
        self._split = {
            k: split for k, split in self._split.items() if not _names_any(split, doc_ids)
        }

    def _split_or_store(
        self, vault: Vault, path: Path, media_type: str, on_page: PageCallback | None
    ) -> Outcome | Unreadable:
        """A PDF or TIFF that may be a batch scan: split, or else stored whole,
        by the same OCR workers that looked at its pages (started once)."""
        from ocr.document import OcrPool

        with private_workdir() as work, OcrPool(work) as pool:
            split = self._split_and_store(vault, path, media_type, on_page, pool)
            if split is not None:
                return split
            if reads(media_type):
                return self._read_and_store(vault, path, media_type, on_page)
            return self._ocr_store(vault, path, media_type, on_page, pool=pool)

    def _split_and_store(
        self,
        vault: Vault,
        path: Path,
        media_type: str,
        on_page: PageCallback | None,
        pool: OcrPool,
    ) -> Outcome | None:
        """Store a batch scan as its documents (``ingest.batch``); None when
        it is no batch (no separator, or nothing but separators): it is then
        stored whole. Each part is durable before the next is begun; the
        outcome is a ``Split`` only once all are. The parts are OCR'd by
        ``pool``, whose workers looked at the pages."""
        try:
            plan = batches.plan_split(
                path, media_type, split_on_blank=self.settings.split_on_blank, pool=pool
            )
        except UnreadableInputError as exc:
            return self.refuse(path, exc.message, vault)
        if plan.only_separators:
            sheets = bool(set(plan.separators) - set(plan.blank))
            kinds = (("separator sheets", sheets), ("blank pages", bool(plan.blank)))
            what = " and ".join(word for word, there in kinds if there)
            return self.refuse(path, f"nothing but {what}: no document in it", vault)
        if not plan.is_batch:
            return None
        with private_workdir() as work:
            files = [
                batches.write_part(path, media_type, part, work / f"part-{n}.pdf")
                for n, part in enumerate(plan.parts, 1)
            ]
            existing = [vault.duplicate_of(f) for f in files]  # found by an earlier run
            batch = next(
                (found for doc in existing if doc and (found := stored_before(vault, doc, path))),
                None,
            )
            if batch is None and not all(existing):
                batch = store_batch(vault, path, name=path.name, media_type=media_type)
            done: list[Ingested] = []
            for part, file, copy_of in zip(plan.parts, files, existing, strict=True):
                if copy_of is not None:
                    done.append(Ingested(path, vault.stored_as(copy_of), pages=part.pages))
                    continue
                assert batch is not None  # stored above: a part is new
                outcome = self._ocr_store(
                    vault, file, PDF, on_page,
                    name=batches.part_name(path.name, part),
                    batch=batch.of_pages(*part.pages),
                    sheet=part.sheet,
                    pool=pool,
                )  # fmt: skip
                if not isinstance(outcome, Ingested):  # unreadable: the batch as a whole
                    return self.refuse(path, f"pages {part.span}: {outcome.reason}", vault)
                done.append(replace(outcome, path=path, pages=part.pages))
        return Split(path, plan, done)

    def _split_again(self, path: Path, earlier: Split) -> Split:
        """A copy of a batch split earlier in this run: its parts, as copies."""
        parts = [
            replace(p, path=path, stored=replace(p.stored, duplicate_of=p.stored.doc_id))
            for p in earlier.parts
        ]
        return Split(path, earlier.plan, parts)

    def _ocr_store(
        self,
        vault: Vault,
        path: Path,
        media_type: str,
        on_page: PageCallback | None,
        *,
        name: str | None = None,
        batch: StoredBatch | None = None,
        sheet: Sheet | None = None,
        family: str | None = None,
        pool: OcrPool | None = None,
    ) -> Ingested | Unreadable:
        """OCR and store one document, or say why it cannot be read. A part
        of a batch (``_split_and_store``) is stored under ``name``, naming
        its ``batch``, with what the ``sheet`` before it says; ``family``:
        the one to give when its text names none (an e-mail's attachment)."""
        settings = self.settings
        if sheet is not None:
            known = (*settings.rules.names(), FALLBACK)  # a sheet's other words are passed over
            settings = replace(
                settings,
                doc_type=(sheet.doc_type if sheet.doc_type in known else None) or settings.doc_type,
                family=sheet.family or settings.family,
            )
        with private_workdir() as work:
            try:
                result = ocr_document(
                    path,
                    media_type,
                    work,
                    languages=settings.languages,
                    max_pages=settings.max_pages,
                    on_page=on_page,
                    pool=pool,
                )
            except UnreadableInputError as exc:
                return Unreadable(exc.message)
            stored = vault.store_file(
                path,
                name=name or path.name,
                media_type=media_type,
                text=[page.text for page in result.pages],
                pages=len(result.pages),
                # A born-digital PDF is its own searchable version: not stored twice.
                searchable=None if result.born_digital else result.searchable_pdf,
                batch=batch,
                **understand(
                    [page.text for page in result.pages],
                    settings,
                    {"ocr_confidence": [page.confidence for page in result.pages]},
                    family=family,
                ),
            )
            return Ingested(path, stored)

    def _read_and_store(
        self,
        vault: Vault,
        path: Path,
        media_type: str,
        on_page: PageCallback | None,
        family: str | None = None,
    ) -> Ingested | Unreadable:
        """Store a born-digital document: its text by its reader, laid out as
        a searchable PDF (when it has text); OCR is not run."""
        settings = self.settings
        with private_workdir() as work:
            try:
                document = read_document(path, media_type)
                pages: list[str] = []
                rendition = None
                if document.has_text:
                    rendition = work / "rendition.pdf"
                    pages = render_pdf(document.sections, rendition, max_pages=settings.max_pages)
            except UnreadableInputError as exc:
                return Unreadable(exc.message)
            note = document.note
            if note is None and not document.has_text:
                note = "no text in it"
            extra = dict(document.fields)
            if note is not None:
                extra["reading"] = note
            if on_page is not None:
                on_page(len(pages) or 1, len(pages) or 1)
            stored = vault.store_file(
                path,
                name=path.name,
                media_type=media_type,
                text=pages,
                pages=len(pages),
                searchable=rendition,
                **understand(pages, settings, extra, family=family),
            )
            return Ingested(path, stored, note)

    def _mail_and_store(
        self,
        vault: Vault,
        path: Path,
        media_type: str,
        on_page: PageCallback | None,
        family: str | None,
        nesting: int,
    ) -> Ingested | Unreadable | Failed:
        """Store an e-mail: each attachment first, as a document of its own
        through this same pipeline, then the e-mail, whose manifest names
        them (see the module's "E-mails")."""
        settings = self.settings
        if nesting > Limits().max_nesting:  # the outer e-mail's limits keep this from happening
            return Unreadable(too_deep(Limits()).message)
        with private_workdir() as work:
            try:
                mail = read_mail(path, media_type)
            except UnreadableInputError as exc:
                return Unreadable(exc.message)
            own = "\n".join(mail.sections([]))
            own_family = settings.family or family_reference(own) or family
            attached: list[Ingested] = []
            listed: list[str] = []
            left: list[str] = []
            for number, attachment in enumerate(mail.attachments, 1):
                folder = work / f"{number:03d}"
                folder.mkdir(mode=0o700)
                part = folder / attachment.name
                fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
                with os.fdopen(fd, "wb") as f:
                    f.write(attachment.data)
                taken = self._take(vault, part, on_page, family=own_family, nesting=nesting + 1)
                if isinstance(taken, Failed):
                    return Failed(path, taken.reason, taken.errno)
                listed.append(attachment.name)
                if isinstance(taken, Ingested):
                    attached.append(taken)
                elif isinstance(taken, Split):  # never (attachments are not split): its parts
                    attached.extend(taken.parts)
                else:
                    left.append(f"{attachment.name} ({taken.reason})")
                part.unlink()
            try:
                rendition = work / "rendition.pdf"
                pages = render_pdf(mail.sections(listed), rendition, max_pages=settings.max_pages)
            except UnreadableInputError as exc:
                return Unreadable(exc.message)
            if on_page is not None:
                on_page(len(pages), len(pages))
            extra = mail.fields
            notes = []
            if left:
                notes.append(
                    f"{len(left)} attachment{'s' if len(left) != 1 else ''} not stored on "
                    f"{'their' if len(left) != 1 else 'its'} own (kept in the stored e-mail): "
                    + "; ".join(left)
                )
            if mail.pictures:
                notes.append(
                    f"{mail.pictures} small picture{'s' if mail.pictures != 1 else ''} shown "
                    "in the body (a logo, a signature) not stored on their own"
                )
            note = "; ".join(notes) or None
            if note is not None:
                extra["reading"] = note
            found = understand(pages, settings, extra, family=family)
            if found["family"] is None:  # none in its text: its attachments'
                found["family"] = next((a.stored.family for a in attached if a.stored.family), None)
            ids = list(dict.fromkeys(a.stored.doc_id for a in attached))
            stored = vault.store_file(
                path,
                name=path.name,
                media_type=media_type,
                text=pages,
                pages=len(pages),
                searchable=rendition,
                attachments=ids,
                **found,
            )
            return Ingested(path, stored, note, attachments=tuple(attached))

    def refuse(self, path: Path, reason: str, vault: Vault | None = None) -> Outcome:
        """A file that cannot be stored: quarantined, or left where it is."""
        if self.quarantine_refused:
            return self.quarantine(path, reason, vault)
        return Refused(path, reason)

    def quarantine(
        self, path: Path, reason: str, vault: Vault | None = None
    ) -> Quarantined | Skipped:
        """Move ``path`` to the quarantine (encrypted to ``vault``'s public key,
        if given), or say why it could not be moved."""
        try:
            recipient = vault.recipient if vault is not None else None
            moved = self.settings.quarantine.put(path, reason, recipient=recipient)
            return Quarantined(path, reason, moved)
        except VaultError as exc:  # say, no right to move it: it stays, the batch goes on
            return Skipped(path, f"{reason}; not moved to the quarantine: {exc.message}")


def ingest_paths(
    vault: Vault,
    items: Iterable[Path | Skipped],
    settings: IngestSettings,
    *,
    on_start: Callable[[int, Path], None] | None = None,
    on_page: PageCallback | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    quarantine_refused: bool = False,
) -> IngestReport:
    """Ingest each collected file; the callbacks follow progress as it happens
    (``on_outcome`` once the file's batch is durable: ``StoreBatches``).
    A file that cannot be stored is left where it is, or quarantined if
    ``quarantine_refused``."""
    ingester = Ingester(settings, quarantine_refused=quarantine_refused)
    report = IngestReport(checked_duplicates=vault.key is not None)

    def deliver(outcome: Outcome) -> None:
        report.outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)

    with store_batches(vault, ingester, deliver) as batches:
        for number, item in enumerate(items, 1):
            if on_start:
                on_start(number, item.path if isinstance(item, Skipped) else item)
            if isinstance(item, Skipped):
                outcome: Outcome = item
            else:
                outcome = ingester.ingest_file(vault, item, on_page=on_page)
            batches.add(outcome)
    return report


# --- batches: a group commit around the stores --------------------------------------
#
# ``StoreBatches`` wraps a run of ``Ingester.ingest_file`` calls in the vault's
# group commit (``vault.group_commit``): the documents stored go into one batch
# until it holds ``size`` of them or ``seconds`` have passed since its first,
# and the batch is then made durable and journaled at once. The outcomes of a
# batch are held back and handed on (``deliver``) only once it is committed,
# so nothing acts on a document, or on its source (deleted or moved by the
# caller), before it is recorded. If the commit fails (a full disk), each
# document of the batch becomes ``Failed``: its source stays where it is.

SIZE = 32  # documents in a batch at most
SECONDS = 1.0  # the longest a stored document waits for its batch's commit


class StoreBatches:
    """Outcomes of ingest held until their batch is durable (``store_batches``)."""

    def __init__(
        self,
        vault: Vault,
        group: StoreGroup,
        ingester: Ingester,
        deliver: Callable[[Outcome], None],
        *,
        size: int = SIZE,
        seconds: float = SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.vault = vault
        self.group = group
        self.ingester = ingester
        self.deliver = deliver
        self.size = size
        self.seconds = seconds
        self.clock = clock
        self._held: list[Outcome] = []
        self._since: float | None = None

    def add(self, outcome: Outcome) -> None:
        """Hold ``outcome`` with its batch; commit once the batch is full or
        ``seconds`` old. With nothing stored waiting, it is handed on at once."""
        self._held.append(outcome)
        waiting = len(self.group)
        if not waiting:
            self._hand_on(self._held)
            return
        if self._since is None:
            self._since = self.clock()
        if waiting >= self.size or self.clock() - self._since >= self.seconds:
            self.commit()

    def commit(self) -> None:
        """Make the batch durable and hand on its outcomes (``Failed`` if it cannot be)."""
        group, held = self.group, self._held
        if len(group):
            stored = set(group.doc_ids)
            try:
                group.commit()
            except OSError as exc:
                error = storage_error(exc, self.vault.root)
                self.ingester.forget(stored)
                held = [
                    Failed(o.path, error.message, error.errno) if _names_any(o, stored) else o
                    for o in held
                ]
        self._hand_on(held)

    def _hand_on(self, outcomes: list[Outcome]) -> None:
        self._held, self._since = [], None
        for outcome in outcomes:
            self.deliver(outcome)


def _names_any(outcome: Outcome, doc_ids: set[str]) -> bool:
    """Whether ``outcome`` stored any of ``doc_ids`` (a batch scan: any part)."""
    if isinstance(outcome, Ingested):
        return outcome.stored.doc_id in doc_ids
    if isinstance(outcome, Split):
        return any(part.stored.doc_id in doc_ids for part in outcome.parts)
    return False


@contextlib.contextmanager
def store_batches(
    vault: Vault, ingester: Ingester, deliver: Callable[[Outcome], None], **options: Any
) -> Iterator[StoreBatches]:
    """``StoreBatches`` in the vault's group commit; the last batch is committed
    on leaving, also when an error ends the run (what was stored before the
    error stays stored, and the error is the one raised)."""
    with vault.storing() as group:
        batches = StoreBatches(vault, group, ingester, deliver, **options)
        try:
            yield batches
        except BaseException:
            with contextlib.suppress(Exception):
                batches.commit()
            raise
        batches.commit()
