"""Turning paths on disk into stored documents.

``collect`` walks files and folders (never following symlinks), ``ingest_paths``
detects each file's type by content, skips what cannot be stored with a
reason, and stores the rest through the vault library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.detect import detect_media_type
from vault.repository import Stored, Vault


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


@dataclass
class IngestReport:
    stored: list[tuple[Path, Stored]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def duplicates(self) -> list[tuple[Path, Stored]]:
        return [(p, s) for p, s in self.stored if s.duplicate_of]


def collect(paths: Iterable[Path]) -> Iterator[Path | Skipped]:
    """Files named, and files inside folders named (sorted, hidden ones left out)."""
    for path in paths:
        if path.is_symlink():
            yield Skipped(path, "symbolic links are not followed")
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                if any(part.startswith(".") for part in child.relative_to(path).parts):
                    continue
                if child.is_symlink():
                    yield Skipped(child, "symbolic links are not followed")
                elif child.is_file():
                    yield child
        elif path.is_file():
            yield path
        else:
            yield Skipped(path, "no such file")


def check_file(path: Path) -> str | Skipped:
    """The media type of a file that can be stored, or why it cannot."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return Skipped(path, f"cannot read: {exc.strerror}")
    if size == 0:
        return Skipped(path, "empty file (0 bytes)")
    try:
        media_type = detect_media_type(path)
    except OSError as exc:
        return Skipped(path, f"cannot read: {exc.strerror}")
    if media_type is None:
        return Skipped(path, "not a PDF, TIFF, JPEG or PNG (type detected from its content)")
    return media_type


def ingest_paths(
    vault: Vault,
    items: Iterable[Path | Skipped],
    *,
    doc_type: str = "other",
    family: str | None = None,
    on_file: Callable[[Path | Skipped], None] | None = None,
) -> IngestReport:
    """Store each collected file; ``on_file`` is called as each one starts."""
    report = IngestReport()
    for item in items:
        if on_file:
            on_file(item)
        if isinstance(item, Skipped):
            report.skipped.append(item)
            continue
        checked = check_file(item)
        if isinstance(checked, Skipped):
            report.skipped.append(checked)
            continue
        stored = vault.store_file(
            item, name=item.name, media_type=checked, doc_type=doc_type, family=family
        )
        report.stored.append((item, stored))
    return report
