"""The one-line progress display."""

from __future__ import annotations

import io
from pathlib import Path

from ingest.progress import IngestProgress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_shows_file_page_and_rate() -> None:
    out, clock = io.StringIO(), Clock()
    bar = IngestProgress(out, 3, clock=clock, width=80)
    bar.start_file(1, Path("/scans/referral.pdf"))
    assert bar.line() == "[1/3] referral.pdf"
    clock.now += 30
    bar.page(2, 5)
    assert bar.line() == "[1/3] referral.pdf  page 2/5  4 pages/min"
    bar.page(5, 5)
    bar.start_file(2, Path("order.png"))
    clock.now += 30
    bar.page(1, 1)
    assert bar.line() == "[2/3] order.png  page 1/1  6 pages/min"
    assert out.getvalue().startswith("\r[1/3] referral.pdf")
    assert "\n" not in out.getvalue()


def test_clear_blanks_the_line_and_long_names_are_cut() -> None:
    out = io.StringIO()
    bar = IngestProgress(out, 1, width=20)
    bar.start_file(1, Path("a-very-long-file-name-indeed.pdf"))
    assert len(bar.line()) == 19 and bar.line().endswith("…")
    bar.clear()
    assert out.getvalue().endswith("\r" + " " * 19 + "\r")
    bar.clear()  # nothing shown: nothing written
    assert out.getvalue().count("\r" + " " * 19) == 1
