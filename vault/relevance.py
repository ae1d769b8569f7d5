"""FTS5's bm25 of a query on a few pages, computed from their text.

``vault.search`` ranks documents by the relevance FTS5 gives their pages
(minus its ``bm25``). Asking FTS5 for the relevance of a few given pages
costs a walk of the whole index of every query word, however few the
pages; once the documents to show are chosen, their pages are scored here
instead, with FTS5's own formula and numbers, so the result is the same
value to the last bit:

    relevance = sum over the query's phrases of
                idf * (f * (k1 + 1)) / (f + k1 * (1 - b + b * D / avgdl))

    k1 = 1.2, b = 0.75; f the phrase's occurrences in the page; D the page's
    length in words (FTS5's own count, from ``word_index_docsize``); avgdl
    the mean length of all pages and idf = log((N - n + 0.5) / (n + 0.5)),
    at least 1e-6, for N pages of which n hold the phrase (FTS5's own counts).

The page text in the index is folded (``vault.search.fold``): words one
space apart, so a page's words are ``text.split()``. A page whose length
by that count differs from FTS5's is not scored here (``Mismatch``), and
the caller asks FTS5 instead.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence

_K1 = 1.2
_B = 0.75
_CHUNK = 500  # SQL parameters per statement


class MismatchError(Exception):
    """A page's words are not what FTS5 counted: score it with FTS5 instead."""


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's varint at ``at``: (value, where the next one starts)."""
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class PageScorer:
    """Scores queries on the pages ``rowids`` of ``word_index`` (table names
    as ``vault.search.create_index`` makes them)."""

    def __init__(self, conn: sqlite3.Connection, rowids: Iterable[int]) -> None:
        self.conn = conn
        self._texts: dict[int, str] = {}  # " folded text ", spaces round every word
        self._counts: dict[int, Counter[str]] = {}
        self._length: dict[int, int] = {}
        wanted = sorted(set(rowids))
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            for rowid, text in conn.execute(
                f"SELECT rowid, text FROM word_index WHERE rowid IN ({marks})",  # noqa: S608
                chunk,
            ):
                self._texts[rowid] = f" {text} "
            for rowid, size in conn.execute(
                f"SELECT id, sz FROM word_index_docsize WHERE id IN ({marks})",  # noqa: S608
                chunk,
            ):
                self._length[rowid] = _varint(size, 0)[0]
        for rowid in wanted:
            text = self._texts.get(rowid, "")
            words = text.count(" ") - 1 if text.strip() else 0  # folded: one space apart
            if words != self._length.get(rowid, -1):
                raise MismatchError(f"page {rowid}")
        found = conn.execute("SELECT block FROM word_index_data WHERE id = 1").fetchone()
        averages = found[0] if found and found[0] else b"\0\0"  # nothing indexed yet
        self._rows, at = _varint(averages, 0)
        tokens, _ = _varint(averages, at)
        self._avgdl = float(tokens) / float(self._rows) if self._rows else 0.0
        self._idf: dict[str, float] = {}
        self._known: dict[tuple[str, int], float] = {}  # FTS5's own relevance of pages

    def _weight(self, rowid: int, count: int) -> float:
        """The part of a phrase's score that is not its idf, in a page."""
        freq, length = float(count), float(self._length[rowid])
        return (freq * (_K1 + 1.0)) / (freq + _K1 * (1 - _B + _B * length / self._avgdl))

    def learn(self, phrase: str, rowid: int, relevance: float) -> None:
        """Note FTS5's relevance of one of the pages for ``phrase`` alone:
        ``relevance`` checks this module's figure for that page, and gives
        the phrase's idf when exactly one count of pages holding the phrase
        reproduces it (sparing the count, which reads the whole index of it)."""
        self._known[phrase, rowid] = relevance
        count = self._occurrences(rowid, phrase, many=False)
        if phrase in self._idf or not count or not self._rows:
            return
        weight = self._weight(rowid, count)
        ratio = math.exp(relevance / weight)
        near = round((self._rows + 0.5 - 0.5 * ratio) / (1 + ratio))
        fitting = {
            idf
            for hits in range(max(0, near - 3), min(self._rows, near + 3) + 1)
            if -(-1.0 * (0.0 + (idf := self._idf_of(hits)) * weight)) == relevance
        }
        if len(fitting) == 1:
            self._idf[phrase] = fitting.pop()

    def _idf_of(self, hits: int) -> float:
        idf = math.log((self._rows - hits + 0.5) / (hits + 0.5))
        return idf if idf > 0.0 else 1e-6

    def idf(self, phrase: str) -> float:
        """FTS5's idf of a folded phrase (one word or several)."""
        if phrase not in self._idf:
            # Held by half the pages or more, a phrase's idf is the floor,
            # 1e-6, whatever the count: so it is counted no further.
            half = (self._rows + 1) // 2
            (hits,) = self.conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM word_index WHERE word_index MATCH ? LIMIT ?)",
                ('"' + phrase.replace('"', '""') + '"', half),
            ).fetchone()
            self._idf[phrase] = self._idf_of(hits)
        return self._idf[phrase]

    def _occurrences(self, rowid: int, phrase: str, many: bool) -> int:
        """How often ``phrase`` (folded words) is in the page, as FTS5 counts
        (overlapping: "a a" twice in "a a a"); ``many``: one of many phrases
        to count in this page (then its words are counted once)."""
        if many and " " not in phrase:
            counts = self._counts.get(rowid)
            if counts is None:
                counts = self._counts[rowid] = Counter(self._texts[rowid].split())
            return counts[phrase]
        text, needle = self._texts[rowid], f" {phrase} "
        found, at = 0, text.find(needle)
        while at != -1:
            found += 1
            at = text.find(needle, at + 1)
        return found

    def relevance(self, phrases: Sequence[str], rowids: Iterable[int]) -> dict[int, float]:
        """The relevance (minus FTS5's bm25) of those of the pages ``rowids``
        (given to the constructor) that hold any of ``phrases`` (FTS5's
        ``"a" OR "b c"``), by rowid."""
        many = len(phrases) > 4
        counted = {
            rowid: counts
            for rowid in rowids
            if any(counts := [self._occurrences(rowid, phrase, many) for phrase in phrases])
        }
        if not counted:
            return {}
        # A phrase not in the page adds 0.0 to its score: only the others are summed.
        used = sorted({n for counts in counted.values() for n, count in enumerate(counts) if count})
        idfs = {n: self.idf(phrases[n]) for n in used}
        found: dict[int, float] = {}
        for rowid, counts in counted.items():
            score = 0.0
            for n in used:
                score += idfs[n] * self._weight(rowid, counts[n])
            found[rowid] = -(-1.0 * score)
        return found

    def check(self) -> None:
        """Raise ``MismatchError`` unless the relevance of every page noted
        with ``learn`` is FTS5's to the last bit."""
        for (phrase, rowid), relevance in self._known.items():
            if self.relevance([phrase], [rowid]).get(rowid) != relevance:
                raise MismatchError(f"page {rowid}")
