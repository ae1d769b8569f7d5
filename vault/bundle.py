"""Export bundles: several documents in one file that a passphrase opens.

For a subject access request, a court or a data stick, ``write_bundle``
writes one age file (``NAME.age``), encrypted with a passphrase (age's
scrypt recipient), that holds a tar archive (POSIX pax, which ``tar -xf``,
Windows' ``tar`` and 7-Zip read) of one folder::

    NAME/index.html                        the list of documents, with links
    NAME/D-7K3M9Q Referral from school.png        the original, as stored
    NAME/D-7K3M9Q Referral from school (searchable).pdf   when there is one

The receiver needs only the reference ``age`` command (``age -d NAME.age >
NAME.tar``) and ``tar``. Every file name inside is made from the document's
id and title (``filename.safe_stem``: no folder separators, no leading dots),
so nothing extracts outside the folder.

No plaintext touches a disk: each document is decrypted from the object
store straight into the archive, which is encrypted as it is made
(``crypto.passphrase_writer``), a 64 KiB chunk at a time; only ciphertext is
written, to a private work file that appears at ``out`` whole
(``outfile.place``, never replacing a file without ``force``). Memory stays
small whatever the bundle's size (scrypt's 256 MiB, once, aside).

The audit log records one ``export`` with the documents' ids, how many, the
kind of destination, the reason and ``encrypted: true``; never the
passphrase, never a name. A generated passphrase (``new_passphrase``) is six
words from the EFF's long list (``vault/data/bundle-words.txt``, 77 bits).
"""

from __future__ import annotations

import html
import secrets
import tarfile
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault import crypto
from vault.dates import spoken
from vault.display import escaped
from vault.errors import CryptoFormatError, IntegrityError, NotFoundError
from vault.export import destination_kind
from vault.filename import PDF, document_filename, document_title, extension_for, safe_stem
from vault.fsutil import fsync_file
from vault.outfile import check_destination, place, work_file
from vault.parts import split_ref

if TYPE_CHECKING:
    from vault.repository import Vault

SUFFIX = ".age"
WORDS = 6
INDEX = "index.html"
_BLOCK = 512
_RECORD = 20 * _BLOCK  # tar's record: the archive's length is a multiple of it
_READ = 1024 * 1024

Progress = Callable[[int, int, int, int], None]  # documents done, of, bytes done, of


@cache
def _word_list() -> tuple[str, ...]:
    text = resources.files("vault").joinpath("data/bundle-words.txt").read_text("utf-8")
    return tuple(w for line in text.splitlines() if (w := line.strip()) and w[0] != "#")


def new_passphrase(words: int = WORDS) -> str:
    """Six words chosen at random (``secrets``), separated by spaces."""
    chosen = _word_list()
    return " ".join(secrets.choice(chosen) for _ in range(words))


def bundle_path(out: Path, label: str) -> tuple[Path, str | None]:
    """Where the bundle goes: ``out``, a new ``LABEL-YYYY-MM-DD.age`` in it
    if it is a folder, and ``.age`` added to a name without it (then the
    second value says so)."""
    if out.is_dir():
        stem = f"{safe_stem(label)}-{time.strftime('%Y-%m-%d')}"
        for n in range(10_000):
            candidate = out / f"{stem}{'' if n == 0 else f'-{n}'}{SUFFIX}"
            if not (candidate.exists() or candidate.is_symlink()):
                return candidate, None
        return out / f"{stem}{SUFFIX}", None  # refused as existing when placed
    if out.name.lower().endswith(SUFFIX):
        return out, None
    fixed = out.with_name(out.name + SUFFIX)
    return fixed, f"the bundle is an age file, so it is named {fixed.name}, not {out.name}"


def folder_name(out: Path) -> str:
    """The folder inside the bundle: the file's name without ``.age`` (nor ``.tar``)."""
    name = out.name[: -len(SUFFIX)] if out.name.lower().endswith(SUFFIX) else out.name
    if name.lower().endswith(".tar"):
        name = name[:-4]
    return safe_stem(name)


@dataclass(frozen=True)
class Member:
    """One document's file in the bundle."""

    name: str
    ref: str  # the object id, or the parts' ids joined by ","
    size: int  # plaintext bytes


@dataclass(frozen=True)
class Entry:
    row: Mapping[str, Any]
    files: tuple[Member, ...]


@dataclass(frozen=True)
class Bundle:
    """What was written: where, which documents, how many files, how large."""

    path: Path
    ids: tuple[str, ...]
    files: int
    size: int  # bytes of the age file
    to: str  # destination_kind


def _stem(row: Mapping[str, Any]) -> str:
    """``D-7K3M9Q Referral from school``: the id keeps every name unique."""
    return safe_stem(escaped(f"{row['id']} {document_filename(row, '')}"))  # bidi, C1


def _size(vault: Vault, ref: str) -> int:
    total = 0
    for object_id in split_ref(ref):
        path = vault.objects.path(object_id)
        if not path.is_file():
            raise IntegrityError(f"object {object_id[:12]} is missing", hint="run 'vault verify'")
        try:
            total += crypto.plaintext_size(path)
        except CryptoFormatError:
            vault.objects.check(object_id)  # names a corrupt object as such
            raise
    return total


def plan(vault: Vault, rows: Sequence[Mapping[str, Any]]) -> list[Entry]:
    """The files of each document: its original, and its searchable PDF if
    the vault has one (and it is not the original)."""
    entries = []
    for row in rows:
        stem = _stem(row)
        files = [Member(stem + extension_for(str(row["media_type"])), row["original"], 0)]
        searchable = row.get("searchable")
        if searchable and searchable != row["original"]:
            files.append(Member(f"{stem} (searchable){extension_for(PDF)}", searchable, 0))
        sized = tuple(Member(m.name, m.ref, _size(vault, m.ref)) for m in files)
        entries.append(Entry(row, sized))
    return entries


class _TarStream:
    """A tar archive (pax format) written member by member to ``out``, the
    data of each streamed in (``tarfile`` reads a member's data from a file;
    here it is written as it is decrypted)."""

    def __init__(self, out: crypto.Writable) -> None:
        self._out = out
        self._left = 0  # bytes of the current member still to come
        self._padding = 0
        self.written = 0
        self._mtime = int(time.time())

    def _emit(self, data: bytes | bytearray | memoryview) -> None:
        self._out.write(data)
        self.written += len(data)

    def folder(self, name: str) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o700, self._mtime
        self._emit(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict"))

    def begin(self, name: str, size: int) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, self._mtime
        self._emit(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict"))
        self._left = size
        self._padding = -size % _BLOCK

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if len(data) > self._left:
            raise CryptoFormatError("a document decrypted to more than its expected size")
        self._emit(data)
        self._left -= len(data)
        return len(data)

    def end(self) -> None:
        if self._left:
            raise CryptoFormatError("a document decrypted to less than its expected size")
        self._emit(bytes(self._padding))

    def add(self, name: str, data: bytes) -> None:
        self.begin(name, len(data))
        self.write(data)
        self.end()

    def close(self) -> None:
        """Two zero blocks end the archive; then zeros to a whole record."""
        self._emit(bytes(2 * _BLOCK))
        self._emit(bytes(-self.written % _RECORD))


def _copy_object(vault: Vault, ref: str, into: _TarStream) -> None:
    identities = [vault.unlocked_key().identity]
    for object_id in split_ref(ref):
        path = vault.objects.check(object_id)  # re-hashed: a tampered object is refused
        with open(path, "rb") as source:
            crypto.decrypt_stream(source, into, identities)


def write_bundle(
    vault: Vault,
    rows: Sequence[Mapping[str, Any]],
    out: Path,
    passphrase: str,
    *,
    force: bool = False,
    reason: str | None = None,
    progress: Progress | None = None,
) -> Bundle:
    """Write the documents ``rows`` (catalog rows) to ``out`` as one age
    file that ``passphrase`` opens; record the export in the audit log."""
    if not rows:
        raise NotFoundError("no documents to put in the bundle")
    check_destination(out, force=force)
    entries = plan(vault, rows)
    total = sum(m.size for e in entries for m in e.files)
    folder = folder_name(out)
    done_bytes = 0
    if progress is not None:  # scrypt's second comes first
        progress(0, len(entries), 0, total)
    with work_file(vault.layout.tmp, out, encrypted=True) as work:
        with open(work, "wb") as sink:
            sealed = crypto.passphrase_writer(sink, passphrase)
            tar = _TarStream(sealed)
            tar.folder(folder)
            for number, entry in enumerate(entries, 1):
                for member in entry.files:
                    tar.begin(f"{folder}/{member.name}", member.size)
                    _copy_object(vault, member.ref, tar)
                    tar.end()
                    done_bytes += member.size
                if progress is not None:
                    progress(number, len(entries), done_bytes, total)
            tar.add(f"{folder}/{INDEX}", index_page(entries, folder).encode("utf-8"))
            tar.close()
            sealed.close()
            sink.flush()
        fsync_file(work)
        size = work.stat().st_size
        place(work, out, force=force)
    ids = tuple(str(e.row["id"]) for e in entries)
    to = destination_kind(out)
    vault.audit.append(
        "export",
        list(ids),
        version="bundle",
        documents=len(ids),
        to=to,
        reason=reason or "not given",
        encrypted=True,
    )
    return Bundle(out, ids, sum(len(e.files) for e in entries), size, to)


def _day(received: object) -> str:
    """``4 Dec 2026``: the (UTC) day received, as ``vault list`` shows it."""
    text = str(received or "")
    try:
        return spoken(text)
    except ValueError:
        return text[:10] or "-"


def index_page(entries: Sequence[Entry], title: str) -> str:
    """The bundle's ``index.html``: each document's id, title, type, day
    received, family reference, pages and files (links)."""
    rows = []
    for entry in entries:
        row = entry.row
        links = "<br>".join(
            f'<a href="{html.escape(urllib.parse.quote(m.name))}">{html.escape(m.name)}</a>'
            for m in entry.files
        )
        cells = [
            str(row["id"]),
            document_title(row),
            str(row.get("doc_type") or "-").replace("-", " "),
            _day(row.get("received")),
            str(row.get("family") or "-"),
            str(row.get("pages") or "-"),
        ]
        tds = "".join(f"<td>{html.escape(escaped(c))}</td>" for c in cells)
        rows.append(f"<tr>{tds}<td>{links}</td></tr>")
    count = len(entries)
    made = spoken(time.strftime("%Y-%m-%d"))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Records: {html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #999; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }}
</style>
</head>
<body>
<h1>Records: {html.escape(title)}</h1>
<p>{count} document{"" if count == 1 else "s"}, exported from the centre's records on {made}.
Each original is as the centre received it; a searchable PDF, where there is one,
was made from a scan so that its text can be searched and copied.</p>
<table>
<tr><th>Id</th><th>Title</th><th>Type</th><th>Received</th><th>Family</th><th>Pages</th><th>Files</th></tr>
{chr(10).join(rows)}
</table>
</body>
</html>
"""
