"""The transfer progress line."""

from __future__ import annotations

import io

from sync.progress import TransferProgress, human_bytes


def test_line_shows_bytes_and_files_and_clears() -> None:
    stream = io.StringIO()
    bar = TransferProgress(stream, "offsite")
    bar({"bytes": 1_500_000, "totalBytes": 3_000_000, "transfers": 4, "totalTransfers": 9})
    assert stream.getvalue() == "\roffsite: 1.5 MB/3.0 MB, 4/9 files"
    bar.clear()
    assert stream.getvalue().endswith("\r")


def test_human_bytes() -> None:
    assert human_bytes(999) == "999 B" and human_bytes(12_300) == "12.3 kB"
    assert human_bytes(5e12) == "5000.0 GB"
