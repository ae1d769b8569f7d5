"""Exporting a document: decrypting it to a file the user names.

The plaintext never lies beside the destination under a temporary name: it
is decrypted into a private file the vault cleans up (``outfile.work_file``)
and appears at ``--out`` only whole and authenticated, through a last step
that never replaces an existing file without ``force`` (``outfile.place``).
A killed export therefore leaves either nothing at ``--out`` or the whole
file, and its temporary plaintext is removed by the next vault command.

``plan_export`` decides where the file goes and which version it is, so that
the file matches its name: ``--out`` a folder writes the document there under
its title; a name ending in ``.pdf`` for a scanned image gets the searchable
PDF made from it, if the vault has one; otherwise the name's extension is
corrected to the file's type, and the plan says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault.errors import NotFoundError
from vault.filename import (
    PDF,
    document_filename,
    extension_matches,
    with_extension,
)
from vault.manifest import batch_ref
from vault.outfile import check_destination, place, work_file
from vault.parts import split_ref
from vault.paths import on_removable_drive

if TYPE_CHECKING:
    from vault.repository import Vault


REASONS = ("court", "subject-access", "professional", "police", "other")


def destination_kind(out: Path) -> str:
    """Where an export went, in the words the audit log keeps (never the path)."""
    return "removable drive" if on_removable_drive(str(out.absolute())) else "this computer"


def version_object(row: Mapping[str, Any], version: str) -> str | None:
    """The object holding ``version`` ("original", "searchable" or "batch")
    of the document ``row``: a PDF with its own text is its own searchable
    version; "batch" is the whole batch scan it was split from, if it was."""
    if version == "batch":
        return batch_ref(row.get("batch"))
    if version != "searchable":
        return str(row["original"])
    if row.get("searchable") is None and row.get("media_type") == PDF:
        return str(row["original"])
    return row.get("searchable")


def export_document(
    vault: Vault,
    doc_id: str,
    out: Path,
    *,
    version: str = "original",
    force: bool = False,
    reason: str | None = None,
) -> dict[str, Any]:
    """Decrypt ``doc_id`` (its original, or its searchable PDF) to ``out``;
    return its catalog row. The audit log records the ids, the version, the
    kind of destination (``destination_kind``), the ``reason`` (one of
    ``REASONS``; none given: "not given") and that it is not encrypted."""
    row = vault.document(doc_id)
    object_id = version_object(row, version)
    if object_id is None and version == "batch":
        raise NotFoundError(
            f"document {row['id']} was not split from a batch scan",
            hint="--original writes the document as it was stored",
        )
    if object_id is None:
        raise NotFoundError(f"document {row['id']} has no {version} version")
    check_destination(out, force=force)
    identity = vault.unlocked_key().identity
    with work_file(vault.layout.tmp, out) as plain:
        vault.objects.get_file(object_id, plain, [identity])
        place(plain, out, force=force)
    vault.audit.append(
        "export",
        [row["id"], *split_ref(object_id)],
        version=version,
        to=destination_kind(out),
        reason=reason or "not given",
        encrypted=False,
    )
    return row


@dataclass(frozen=True)
class ExportPlan:
    path: Path
    version: str  # "original" or "searchable"
    note: str | None = None  # what was changed from what was asked, in words


def media_type_of(row: Mapping[str, Any], version: str) -> str:
    if version == "batch" and isinstance(row.get("batch"), Mapping):
        return str(row["batch"].get("media_type") or row["media_type"])
    return PDF if version == "searchable" else str(row["media_type"])


def free_name(path: Path) -> Path:
    """``path``, or ``stem-1.ext``, ``stem-2.ext``… if it is taken."""
    for n in range(10_000):
        candidate = path if n == 0 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not (candidate.exists() or candidate.is_symlink()):
            return candidate
    return path  # refused as existing when placed


def plan_export(row: Mapping[str, Any], out: Path, version: str | None) -> ExportPlan:
    """Where the export of ``row`` goes and which version it is.

    ``version`` None: the original, or the searchable PDF when ``out`` ends
    in ``.pdf`` and the original is not a PDF. ``out`` an existing folder:
    a new file there named after the document's title (never replacing one).
    """
    if out.is_dir():
        chosen = version or "original"
        name = document_filename(row, media_type_of(row, chosen))
        return ExportPlan(free_name(out / name), chosen)
    original = str(row["media_type"])
    if version is None:
        if (
            not extension_matches(out, original)
            and extension_matches(out, PDF)
            and row.get("searchable")
        ):
            return ExportPlan(
                out,
                "searchable",
                f"wrote the searchable PDF made from it (the original is {_kind(original)})",
            )
        version = "original"
    media_type = media_type_of(row, version)
    if extension_matches(out, media_type):
        return ExportPlan(out, version)
    fixed = with_extension(out, media_type)
    return ExportPlan(
        fixed,
        version,
        f"the file is {_kind(media_type)}, so it is named {fixed.name}, not {out.name}",
    )


_KINDS = {
    PDF: "a PDF",
    "image/jpeg": "a JPEG image",
    "image/png": "a PNG image",
    "image/tiff": "a TIFF image",
    "image/webp": "a WebP image",
    "image/heic": "a HEIC photo",
    "image/heif": "a HEIF image",
    "image/gif": "a GIF image",
    "image/bmp": "a BMP image",
    "text/plain": "a text file",
    "text/markdown": "a Markdown text file",
    "text/csv": "a CSV text file",
    "text/html": "a web page",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "a Word document",
    "application/msword": "a Word 97-2003 document",
    "application/vnd.oasis.opendocument.text": "an OpenDocument text",
    "application/rtf": "an RTF document",
}


def _kind(media_type: str) -> str:
    return _KINDS.get(media_type, media_type)
