"""A one-line transfer display, e.g. ``offsite: 3.1/12.0 MB, 40/120 files``.

Fed from rclone's JSON stats records (``--stats 1s``); redrawn in place on the
stream it is given. The CLI gives it stderr, and only when stderr is a
terminal; elsewhere nothing is drawn.
"""

from __future__ import annotations

from typing import Any, TextIO

from vault.display import StatusLine


def human_bytes(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(size) < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover


class TransferProgress:
    def __init__(self, stream: TextIO, label: str) -> None:
        self.label = label
        self._line = StatusLine(stream)

    def __call__(self, stats: dict[str, Any]) -> None:
        done, total = stats.get("bytes", 0), stats.get("totalBytes", 0)
        files, total_files = stats.get("transfers", 0), stats.get("totalTransfers", 0)
        self._line.show(
            f"{self.label}: {human_bytes(done)}/{human_bytes(total)}, {files}/{total_files} files"
        )

    def clear(self) -> None:
        self._line.clear()
