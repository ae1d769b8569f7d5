"""A one-line progress display for an ingest run, redrawn in place.

Shows the file number, the file's name, the page being read and the pages
read per minute so far, e.g. ``[2/7] referral.pdf  page 3/5  42 pages/min``.
It writes to the stream it is given (the CLI gives stderr, and only on a
terminal); OCR may report pages from worker threads, so drawing is locked.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from vault.display import escaped


class IngestProgress:
    def __init__(
        self,
        stream: TextIO,
        total_files: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        width: int | None = None,
    ) -> None:
        self.stream = stream
        self.total_files = total_files
        self.clock = clock
        self.width = width
        self._lock = threading.Lock()
        self._started = clock()
        self._file = 0
        self._name = ""
        self._page = (0, 0)
        self._pages_before = 0  # pages read in earlier files
        self._shown = 0  # characters now on the line

    def start_file(self, number: int, path: Path) -> None:
        with self._lock:
            self._pages_before += self._page[0]
            self._file, self._name, self._page = number, escaped(path.name), (0, 0)
            self._draw()

    def page(self, done: int, total: int) -> None:
        with self._lock:
            self._page = (done, total)
            self._draw()

    def pages_per_minute(self) -> float:
        minutes = (self.clock() - self._started) / 60
        pages = self._pages_before + self._page[0]
        return pages / minutes if minutes > 0 else 0.0

    def line(self) -> str:
        parts = [f"[{self._file}/{self.total_files}] {self._name}"]
        done, total = self._page
        if total:
            parts.append(f"page {done}/{total}")
        if self._pages_before + done:
            parts.append(f"{self.pages_per_minute():.0f} pages/min")
        text = "  ".join(parts)
        width = (self.width or shutil.get_terminal_size().columns) - 1
        return text if len(text) <= width else text[: max(width - 1, 0)] + "…"

    def clear(self) -> None:
        """Blank the line (before other output is written to the terminal)."""
        with self._lock:
            self._erase()

    def _erase(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
            self._shown = 0

    def _draw(self) -> None:
        text = self.line()
        padded = text.ljust(self._shown)  # cover what was there before
        self.stream.write("\r" + padded)
        self.stream.flush()
        self._shown = len(padded)
