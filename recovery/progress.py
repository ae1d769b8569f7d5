"""How far a recovery has got: bytes, documents and files, for a progress bar.

A document counts as restored once every one of its files (its original or
parts, its searchable copy, its manifest) has arrived and been checked.
Which files make a document is known from the backup's catalog snapshot and
journal; when the catalog is rebuilt from the manifests instead, documents
are not known in advance and ``documents_total`` is 0 (count files then).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    bytes_done: int
    bytes_total: int
    documents_done: int
    documents_total: int  # 0: not known
    files_done: int
    files_total: int


ProgressCallback = Callable[[Progress], None]


class DocumentTracker:
    """Counts the documents whose files have all arrived."""

    def __init__(self, documents: Iterable[set[str]], have: set[str]) -> None:
        self._waiting: dict[str, list[int]] = {}
        self._left: list[int] = []
        for number, files in enumerate(documents):
            missing = files - have
            self._left.append(len(missing))
            for rel in missing:
                self._waiting.setdefault(rel, []).append(number)
        self.total = len(self._left)
        self.done = sum(1 for left in self._left if left == 0)

    def arrived(self, rel: str) -> None:
        for number in self._waiting.pop(rel, []):
            self._left[number] -= 1
            if self._left[number] == 0:
                self.done += 1
