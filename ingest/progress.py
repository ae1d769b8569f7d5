"""A one-line progress display for ingest and watch, redrawn in place.

Says, in words, which file is being read and how far it is:
``referral.pdf: page 3 of 12 (file 2 of 7)``; watch, which does not know how
many files will come, leaves the file count out. It draws on a
``vault.display.StatusLine`` (the CLI gives stderr, and only on a
terminal); OCR may report pages from worker threads, so drawing is locked.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import TextIO

from vault.display import StatusLine, escaped


class IngestProgress:
    def __init__(
        self, stream: TextIO, total_files: int | None, *, width: int | None = None
    ) -> None:
        self.total_files = total_files  # None: not known (watch)
        self.width = width
        self._status = StatusLine(stream)
        self._lock = threading.Lock()
        self._file = 0
        self._name = ""
        self._page = (0, 0)

    def start_file(self, number: int, path: Path) -> None:
        with self._lock:
            self._file, self._name, self._page = number, escaped(path.name), (0, 0)
            self._status.show(self.line())

    def start(self, path: Path) -> None:
        """A file begins, its number not counted (watch)."""
        self.start_file(0, path)

    def page(self, done: int, total: int) -> None:
        with self._lock:
            self._page = (done, total)
            self._status.show(self.line())

    def line(self) -> str:
        done, total = self._page
        text = f"{self._name}: page {done} of {total}" if total else self._name
        if self.total_files is not None and self.total_files > 1 and self._file:
            text += f" (file {self._file} of {self.total_files})"
        width = (self.width or shutil.get_terminal_size().columns) - 1
        return text if len(text) <= width else text[: max(width - 1, 0)] + "…"

    def clear(self) -> None:
        """Blank the line (before other output is written to the terminal)."""
        with self._lock:
            self._status.clear()
