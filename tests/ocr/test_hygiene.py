"""Temporary files: all of them in the work folder, none left but the
searchable PDF, nothing in the system temp dir, workers included."""

from __future__ import annotations

import stat
from pathlib import Path

from ocr import ocr_document
from tests import scans
from tests.ocr.conftest import leftovers


def test_only_the_searchable_pdf_is_left(tmp_path: Path, workdir: Path, system_tmp: Path) -> None:
    pages = [scans.scan("clean", dpi=200), scans.scan("upside-down", dpi=200)]
    path = scans.write_tiff_g4(tmp_path / "two.tif", pages, dpi=200)
    seen: list[list[str]] = []

    def peek(done: int, total: int) -> None:
        seen.append(leftovers(workdir))

    result = ocr_document(path, "image/tiff", workdir, jobs=2, on_page=peek)
    assert result.searchable_pdf is not None
    assert leftovers(workdir) == [result.searchable_pdf.name]
    assert leftovers(system_tmp) == []
    # While it ran, its files were in one private folder inside the work folder.
    folders = {entry.split("/")[0] for entries in seen for entry in entries}
    assert len(folders) == 1 and folders.pop().startswith("ocr-")
    assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
