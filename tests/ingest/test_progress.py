"""The one-line progress display: in words, no rates."""

from __future__ import annotations

import io
from pathlib import Path

from ingest.progress import IngestProgress


def test_says_the_file_and_the_page_in_words() -> None:
    out = io.StringIO()
    bar = IngestProgress(out, 3, width=80)
    bar.start_file(1, Path("/scans/referral.pdf"))
    assert bar.line() == "referral.pdf (file 1 of 3)"
    bar.page(2, 5)
    assert bar.line() == "referral.pdf: page 2 of 5 (file 1 of 3)"
    bar.start_file(2, Path("order.png"))
    bar.page(1, 1)
    assert bar.line() == "order.png: page 1 of 1 (file 2 of 3)"
    assert out.getvalue().startswith("\rreferral.pdf (file 1 of 3)")
    assert "\n" not in out.getvalue() and "/min" not in out.getvalue()


def test_one_file_or_an_unknown_number_has_no_file_count() -> None:
    one = IngestProgress(io.StringIO(), 1, width=80)
    one.start_file(1, Path("a.pdf"))
    one.page(3, 12)
    assert one.line() == "a.pdf: page 3 of 12"
    watching = IngestProgress(io.StringIO(), None, width=80)
    watching.start(Path("scan-0001.pdf"))
    watching.page(1, 2)
    assert watching.line() == "scan-0001.pdf: page 1 of 2"


def test_clear_blanks_the_line_and_long_names_are_cut() -> None:
    out = io.StringIO()
    bar = IngestProgress(out, 1, width=20)
    bar.start_file(1, Path("a-very-long-file-name-indeed.pdf"))
    assert len(bar.line()) == 19 and bar.line().endswith("…")
    bar.clear()
    assert out.getvalue().endswith("\r" + " " * 19 + "\r")
    bar.clear()  # nothing shown: nothing written
    assert out.getvalue().count("\r" + " " * 19) == 1
