"""A batch scan split into documents at separator sheets (or blank pages).

A pile of post scanned in one go is one PDF or TIFF. ``plan_split`` looks
at each page (``ocr.separator``) and cuts the pages into parts: a separator
sheet ends the part before it and starts the next, and belongs to no part;
the type and family reference it carries go to the part after it (the
part's own rules fill what the sheet does not give). In a duplex scan the
blank side of a sheet belongs to the sheet too (a sheet on an odd page and
a blank page after it, or on an even page and a blank page before it).
With ``split_on_blank`` (simplex batches without sheets) a blank page is a
separator without details; otherwise a blank page stays in its document
(OCR passes it over, ``ocr.noise.looks_blank``).

A part with no page (two sheets in a row, a sheet at the end) is no
document: it is named as a warning, and the rest is stored. A file with no
sheet (and, with ``split_on_blank``, no blank page between pages) is not a
batch: it is stored whole, as ever.

``write_part`` makes a part's own file, the document's original,
deterministically (the same batch gives byte-identical parts, so a run
started again after a crash finds them as duplicates):

- from a PDF, the part's page objects are copied as they are (pikepdf),
  their image streams byte for byte: nothing is decoded or compressed
  again, a court order's scan is never re-compressed;
- from a TIFF, a PDF with one page per frame, the pixels exactly as
  decoded, compressed losslessly (Flate; 1-bit pages as 1-bit), never a
  second lossy compression.

Either way the batch file itself is stored once, unchanged, as an object
of its own (``vault.batches``), and each part's manifest names it and the
pages, so nothing of the scan as it came is ever lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocr.source import PDF, TIFF
from vault.errors import UnreadableInputError
from vault.fsutil import FILE_MODE
from vault.separator_sheet import Sheet

if TYPE_CHECKING:
    from ingest.pipeline import Ingested
    from ocr.document import OcrPool

SPLITTABLE = (PDF, TIFF)


@dataclass(frozen=True)
class Part:
    """One document of a batch: its pages (0-based indexes into the batch)
    and what the sheet before it says."""

    indexes: tuple[int, ...]
    sheet: Sheet | None = None

    @property
    def pages(self) -> tuple[int, int]:
        """The first and last page, 1-based, as people count them."""
        return self.indexes[0] + 1, self.indexes[-1] + 1

    @property
    def span(self) -> str:
        first, last = self.pages
        return str(first) if first == last else f"{first}-{last}"


@dataclass(frozen=True)
class SplitPlan:
    page_count: int
    parts: list[Part] = field(default_factory=list)
    separators: list[int] = field(default_factory=list)  # 0-based: sheets (and their backs)
    blank: list[int] = field(default_factory=list)  # 0-based
    empty: list[str] = field(default_factory=list)  # warnings: parts with no page

    @property
    def is_batch(self) -> bool:
        """True when there is something to split at (else: stored whole)."""
        return bool(self.separators) and bool(self.parts)

    @property
    def only_separators(self) -> bool:
        """True for a file of nothing but separators (sheets, or blank pages
        when they separate): no document in it."""
        return bool(self.separators) and not self.parts


def plan_split(
    path: Path, media_type: str, *, split_on_blank: bool = False, pool: OcrPool | None = None
) -> SplitPlan:
    """Where ``path`` (a PDF or TIFF) splits; raises ``UnreadableInputError``
    for a page that cannot be looked at. ``pool``: the OCR workers that look
    at the pages (``ocr.separator``), else this process."""
    from ocr.separator import look_at_pages

    looks = look_at_pages(path, media_type, pool)
    sheets = {look.index: look.sheet for look in looks if look.sheet is not None}
    blank = {look.index for look in looks if look.blank}
    sides = set()  # the blank side of a sheet scanned duplex
    for index in sheets:
        side = index + 1 if index % 2 == 0 else index - 1
        if side in blank and side not in sheets:
            sides.add(side)
    parts: list[Part] = []
    empty: list[str] = []
    current: list[int] = []
    sheet: Sheet | None = None
    after: int | None = None  # the last separator seen (0-based)
    gap: tuple[int, int] | None = None  # separators in a row with no page between: one warning
    separators: list[int] = []
    for index in range(len(looks)):
        if index in sides:
            separators.append(index)
            continue
        if index in sheets or (split_on_blank and index in blank):
            separators.append(index)
            if current:
                parts.append(Part(tuple(current), sheet))
            elif after is not None:
                gap = (gap[0] if gap else after, index)
            current, sheet, after = [], sheets.get(index, Sheet()), index
            continue
        if gap is not None:
            empty.append(_between(*gap))
            gap = None
        current.append(index)
    if current:
        parts.append(Part(tuple(current), sheet))
    elif after is not None:
        if gap is not None:  # (it ends at the last separator)
            empty.append(_between(*gap))
        empty.append(f"no pages after the separator on page {after + 1}")
    return SplitPlan(len(looks), parts, separators, sorted(blank), empty)


def _between(first: int, last: int) -> str:
    return f"no pages between the separators on pages {first + 1} and {last + 1}"


def describe(name: str, plan: SplitPlan) -> str:
    """``batch.pdf: 3 documents, pages 1-2, 4-6, 8``."""
    count = len(plan.parts)
    spans = ", ".join(part.span for part in plan.parts)
    return f"{name}: {count} document{'s' if count != 1 else ''}, pages {spans}"


def part_name(name: str, part: Part) -> str:
    """The stored name of a part: ``batch-p4-6.pdf``."""
    stem = Path(name).stem or "batch"
    return f"{stem}-p{part.span}.pdf"


def write_part(path: Path, media_type: str, part: Part, out: Path) -> Path:
    """Write the part's own PDF to ``out`` (mode 0600), deterministically."""
    import pikepdf

    try:
        if media_type == PDF:
            with pikepdf.open(path) as batch, pikepdf.new() as pdf:
                for index in part.indexes:
                    pdf.pages.append(_drawn_only(batch, batch.pages[index]))
                for page in pdf.pages:
                    page.remove_unreferenced_resources()
                _save(pdf, out)
        else:
            from ocr.imagepdf import build_tiff_frames_pdf

            with build_tiff_frames_pdf(path, part.indexes) as pdf:
                _save(pdf, out)
    except pikepdf.PdfError as exc:
        raise UnreadableInputError("the batch's pages cannot be copied") from exc
    out.chmod(FILE_MODE)
    return out


_DRAWING = ("/MediaBox", "/CropBox", "/Rotate", "/UserUnit", "/Contents", "/Resources")
_INHERITED = ("/MediaBox", "/CropBox", "/Rotate", "/Resources")


def _drawn_only(batch: Any, page: Any) -> Any:
    """A copy of ``page`` (of ``batch``) holding only what draws it (its
    content streams and image streams as they are, inherited attributes
    taken down from the page tree) and resource dictionaries of its own:
    a hostile batch whose pages share one resource dictionary naming every
    image, or whose annotations point to other pages, cannot pull the whole
    batch into each part. (The batch itself is kept whole, unchanged.)"""
    import pikepdf

    source = page.obj
    found: dict[str, Any] = {}
    node, depth = source, 0
    while isinstance(node, pikepdf.Dictionary) and depth < 64:
        for key in _DRAWING if node is source else _INHERITED:
            if key in node and key not in found:
                found[key] = node[key]
        node, depth = node.get("/Parent"), depth + 1
    resources = found.get("/Resources")
    if isinstance(resources, pikepdf.Dictionary):  # own dictionaries, shared streams
        found["/Resources"] = pikepdf.Dictionary(
            {
                key: pikepdf.Dictionary(dict(value.items()))
                if isinstance(value, pikepdf.Dictionary)
                else value
                for key, value in resources.items()
            }
        )
    return pikepdf.Page(batch.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Page, **{
        key[1:]: value for key, value in found.items()
    })))  # fmt: skip


def _save(pdf: Any, out: Path) -> None:
    import pikepdf

    pdf.save(
        out,
        deterministic_id=True,
        compress_streams=False,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        recompress_flate=False,
        object_stream_mode=pikepdf.ObjectStreamMode.preserve,
    )


@dataclass(frozen=True)
class Split:
    """A batch scan split into documents, each stored (or found already)."""

    path: Path
    plan: SplitPlan
    parts: list[Ingested]

    @property
    def duplicate(self) -> bool:
        return all(part.duplicate for part in self.parts)

    def message(self, *, verbose: bool = False) -> str:
        name = str(self.path) if verbose else self.path.name
        text = describe(name, self.plan)
        if self.plan.empty:
            text += "; warning: " + "; ".join(self.plan.empty) + " (no document there)"
        return text
