"""The best pages of the words, and pairs of words, that most pages hold.

A search shows the best 50 documents, as FTS5's bm25 ranks their pages. For
a word most pages hold ("the", "hearing", "supervised") or such a pair
("contact centre"), that means ranking every page that holds it: 190,000
pages and 150 ms at 100,000 documents. So for each of them (a *list*) the
catalog keeps the pages bm25 ranked best when the lists were made, and the
next page below them (the list's *floor*). A search then ranks only those
pages, the pages made since (page ids above the *watermark*; ids are never
given twice, ``next_page_id``) and the floors, and knows that no other page
can beat the floor.

Why that holds, although the totals bm25 uses change with every document.
FTS5 scores a page for one phrase as ``idf * f``, with ``f = tf * (k1 + 1) /
(tf + k1 * (1 - b + b * length / mean length))``. ``idf`` is the same for
every page, so a page left out of a list had ``f`` no higher than the
floor's when the list was made. Over a change of the mean page length from
``m0`` to ``m1``, ``f`` of any page changes by a factor between
``min(1, m1/m0)`` and ``max(1, m1/m0)``; so a page left out now scores at most
the floor's score times ``max(m1/m0, m0/m1)`` (the *drift*). Several
phrases (a part of a word: "supervis" is "supervised" OR "supervisor" OR
…) add up: a page left out of every list holding the phrases of a set S
scores at most the sum of their floors, so the pages holding two or more
phrases whose floors add up to more than the documents found are scored as
well, and what is left is bounded by the largest sum left.

The caller (``vault.search``) takes the documents whose best page scores
above that bound: exactly those ranking every page would have put first.
When they are too few (a search filtered by type or date, a bound too
high), it ranks every page as before. So the lists make a search faster
and never change what it finds; ``tests/vault/test_best_pages.py`` checks it
against the search that ranks every page.

The lists are made again at a save (``refresh``) when the pages made since
add up to a quarter of those there were, when the mean length has drifted,
or, for one list, when its floor page is gone (a document edited or
erased). They hold page ids and nothing else of a document.

    best_lists   id, phrase (folded), floor (page id), reach (the relevance
                 of the DOCUMENTS-th document over the floor's, when made:
                 where a search of several phrases may expect its last
                 document, to choose which pages of two or more to score),
                 length (the mean page length when made: the drift of each
                 list is its own, as one list may be made again alone)
    best_pages   list id, page id
    best_made    the watermark and the number of pages when all the lists
                 were made, and the highest page id when one was last made
                 (no page id up to it is given again)

They read the search index of ``vault.search`` (``word_index``, whose rowid
is the page id of ``page_keys``).
"""

from __future__ import annotations

import itertools
import math
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

FREQUENT = 8_192  # pages a word must be on to get a list (a pair: twice that, estimated)
MIN_KEEP = 256  # pages kept at least, per list
MAX_KEEP = 4_096  # and at most
DOCUMENTS = 96  # documents the kept pages must reach, and then by MARGIN below the last
MARGIN = 0.005  # the floor at least this share below the DOCUMENTS-th document
GROWTH = 0.25  # pages made since, as a share of those there were, that make the lists again
DRIFT = 1 + MARGIN / 4  # drift of the mean page length that makes the lists again
SAMPLE = 4_096  # pages whose pairs of words are counted, to find the frequent pairs
MAX_PHRASES = 4  # the most phrases of one search the lists are used for
_SLACK = 1 + 1e-9  # rounding in FTS5's sums


def create(conn: sqlite3.Connection) -> None:
    """Create the tables of the lists (empty), when they are not there."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS best_lists (id INTEGER PRIMARY KEY,"
        " phrase TEXT NOT NULL UNIQUE, floor INTEGER NOT NULL, reach REAL NOT NULL,"
        " length REAL NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS best_pages ("
        "list INTEGER NOT NULL, page INTEGER NOT NULL, PRIMARY KEY (list, page)) WITHOUT ROWID"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS best_made (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " watermark INTEGER NOT NULL, issued INTEGER NOT NULL, pages INTEGER NOT NULL)"
    )


@dataclass(frozen=True)
class _Made:
    watermark: int  # every page up to it was there when all the lists were made
    issued: int  # every page up to it was there when a list was last made
    pages: int  # the pages there were when all the lists were made


def _made(conn: sqlite3.Connection) -> _Made | None:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'best_made'").fetchone():
        return None  # a catalog from before the lists, read as it is
    row = conn.execute("SELECT watermark, issued, pages FROM best_made").fetchone()
    return _Made(*row) if row else None


def next_page_id(conn: sqlite3.Connection) -> int:
    """The id of the next page indexed: above every page there is and every
    page a list may name, so no page a list names is ever another page."""
    (top,) = conn.execute("SELECT coalesce(max(id), 0) FROM page_keys").fetchone()
    made = _made(conn)
    return max(top, made.issued if made else 0) + 1


def mean_length(conn: sqlite3.Connection) -> float | None:
    """FTS5's mean page length in words (its total of words over its number
    of rows, from the index's totals record), None when it cannot be read."""
    row = conn.execute("SELECT block FROM word_index_data WHERE id = 1").fetchone()
    if row is None or not isinstance(row[0], bytes):
        return None
    values: list[int] = []
    at = 0
    while at < len(row[0]) and len(values) < 2:
        value, at = _varint(row[0], at)
        values.append(value)
    if len(values) < 2 or values[0] == 0 or values[1] == 0:
        return None
    return values[1] / values[0]


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's variable-length integer at ``at``: (value, where the next starts)."""
    value = 0
    for n in range(9):
        if at + n >= len(data):
            break
        byte = data[at + n]
        if n == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + n + 1
    return value, len(data)


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


# --- making the lists -------------------------------------------------------------


def refresh(conn: sqlite3.Connection) -> None:
    """Make the lists again when they are due (see the module); called by a
    save before it commits."""
    made = _made(conn)
    top, pages = conn.execute("SELECT coalesce(max(id), 0), count(*) FROM page_keys").fetchone()
    if made is None:
        if pages >= FREQUENT:
            _make_all(conn, top, pages)
        return
    length = mean_length(conn)
    low, high = conn.execute("SELECT min(length), max(length) FROM best_lists").fetchone()
    if (
        top - made.watermark > GROWTH * made.pages
        or length is None
        or (low is not None and max(length / low, high / length) > DRIFT)
    ):
        _make_all(conn, top, pages)
        return
    gone = conn.execute(
        "SELECT id, phrase FROM best_lists WHERE floor NOT IN (SELECT id FROM page_keys)"
    ).fetchall()
    for list_id, phrase in gone:
        conn.execute("DELETE FROM best_pages WHERE list = ?", (list_id,))
        conn.execute("DELETE FROM best_lists WHERE id = ?", (list_id,))
        _make(conn, phrase, length)
    if gone and top > made.issued:
        conn.execute("UPDATE best_made SET issued = ?", (top,))


def _make_all(conn: sqlite3.Connection, top: int, pages: int) -> None:
    conn.execute("DELETE FROM best_pages")
    conn.execute("DELETE FROM best_lists")
    conn.execute("DELETE FROM best_made")
    length = mean_length(conn)
    if pages < FREQUENT or length is None:
        return
    words = _frequent_words(conn)
    for phrase in [*words, *_frequent_pairs(conn, set(words), pages)]:
        _make(conn, phrase, length)
    conn.execute(
        "INSERT INTO best_made (id, watermark, issued, pages) VALUES (1, ?, ?, ?)",
        (top, top, pages),
    )


def _frequent_words(conn: sqlite3.Connection) -> list[str]:
    conn.execute("CREATE VIRTUAL TABLE temp.best_vocabulary USING fts5vocab(main, word_index, row)")
    try:
        rows = conn.execute(
            "SELECT term FROM temp.best_vocabulary WHERE doc >= ? ORDER BY term", (FREQUENT,)
        ).fetchall()
    finally:
        conn.execute("DROP TABLE temp.best_vocabulary")
    return [term for (term,) in rows]


def _frequent_pairs(conn: sqlite3.Connection, words: set[str], pages: int) -> list[str]:
    """Pairs of frequent words side by side on about ``2 * FREQUENT`` pages
    or more, as a sample of the pages counts them."""
    ids = [
        key
        for (key,) in conn.execute(
            "SELECT id FROM page_keys WHERE id % ? = 0", (max(1, pages // SAMPLE),)
        )
    ]
    counted: Counter[tuple[str, str]] = Counter()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT text FROM word_index WHERE rowid IN ({marks})"  # noqa: S608
        for (text,) in conn.execute(sql, chunk):
            split = text.split()
            counted.update(
                {p for p in itertools.pairwise(split) if p[0] in words and p[1] in words}
            )
    if not ids:
        return []
    enough = 2 * FREQUENT * len(ids) / pages
    return sorted(f"{a} {b}" for (a, b), count in counted.items() if count >= enough)


def _make(conn: sqlite3.Connection, phrase: str, length: float) -> None:
    """Keep the best pages of ``phrase``: at least ``MIN_KEEP``, as many as
    reach ``DOCUMENTS`` documents and then fall ``MARGIN`` below the last of
    them (at most ``MAX_KEEP``); the next page is the floor. None for a
    phrase on too few pages to need it."""
    rows = conn.execute(
        "SELECT w.rowid, -bm25(word_index), k.doc_id FROM word_index w"
        " JOIN page_keys k ON k.id = w.rowid WHERE word_index MATCH ?"
        " ORDER BY bm25(word_index) LIMIT ?",
        (_quote(phrase), MAX_KEEP + 1),
    ).fetchall()
    if len(rows) <= MIN_KEEP:
        return
    seen: set[str] = set()
    last: float | None = None  # the score of the DOCUMENTS-th document's best page
    keep = len(rows) - 1
    for n, (_, score, doc) in enumerate(rows):
        if last is None and doc not in seen:
            seen.add(doc)
            if len(seen) == DOCUMENTS:
                last = score
        if n >= MIN_KEEP and last is not None and score <= last * (1 - MARGIN):
            keep = n
            break
    reach = last / rows[keep][1] if last is not None and rows[keep][1] > 0 else 1.0
    cursor = conn.execute(
        "INSERT INTO best_lists (phrase, floor, reach, length) VALUES (?, ?, ?, ?)",
        (phrase, rows[keep][0], reach, length),
    )
    conn.executemany(
        "INSERT INTO best_pages (list, page) VALUES (?, ?)",
        sorted((cursor.lastrowid, rowid) for rowid, _, _ in rows[:keep]),
    )


# --- searching with them -----------------------------------------------------------


Rows = list[tuple[int, float]]  # (page id, bm25 rank: lower is better), best first


def candidates(
    conn: sqlite3.Connection, phrases: Sequence[str], match: str
) -> tuple[Rows, float] | None:
    """The pages that may hold the best matches of any of ``phrases``
    (``match``: the FTS5 query for any of them) with their bm25 rank, best
    first, and the relevance (minus the rank) that no other page can beat;
    None when the lists cannot tell (a phrase without a list, a floor gone,
    the lists not made). Only pages above that relevance are given."""
    phrases = list(dict.fromkeys(phrases))
    made = _made(conn)
    if made is None or len(phrases) > MAX_PHRASES:
        return None
    marks = ",".join("?" * len(phrases))
    length = mean_length(conn)
    if length is None:
        return None
    lists = {
        phrase: (list_id, floor, reach, max(length / then, then / length) * _SLACK)
        for phrase, list_id, floor, reach, then in conn.execute(
            "SELECT phrase, id, floor, reach, length FROM best_lists"  # noqa: S608
            f" WHERE phrase IN ({marks})",
            phrases,
        )
    }
    if len(lists) < len(phrases):
        return None
    ids = [list_id for list_id, _, _, _ in lists.values()]
    floors = [floor for _, floor, _, _ in lists.values()]
    where = (
        "rowid > ? OR +rowid IN (SELECT page FROM best_pages"  # noqa: S608
        f" WHERE list IN ({_marks(ids)})) OR +rowid IN ({_marks(floors)})"
    )
    params: list[object] = [match, made.watermark, *ids, *floors]
    bound = None
    if len(phrases) > 1:
        alone = {}
        for phrase, (_, floor, _, drift) in lists.items():
            found = conn.execute(
                "SELECT bm25(word_index) FROM word_index WHERE word_index MATCH ? AND rowid = ?",
                (_quote(phrase), floor),
            ).fetchone()
            if found is None:
                return None
            alone[phrase] = -found[0] * drift
        # about where the last document shown will be (from when the lists were made)
        wanted = max(alone[phrase] * lists[phrase][2] for phrase in phrases)
        groups, bound = _groups(alone, wanted)
        if groups:
            where += " OR +rowid IN (SELECT rowid FROM word_index WHERE word_index MATCH ?)"
            params.append(" OR ".join(f"({' AND '.join(map(_quote, g))})" for g in groups))
    sql = (
        "SELECT rowid, bm25(word_index) FROM word_index"  # noqa: S608
        f" WHERE word_index MATCH ? AND ({where}) ORDER BY bm25(word_index)"
    )
    rows: Rows = conn.execute(sql, params).fetchall()
    if bound is None:
        floor_rank = dict(rows).get(floors[0])
        if floor_rank is None:
            return None
        bound = -floor_rank * lists[phrases[0]][3]
    return [row for row in rows if -row[1] > bound], bound


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def _groups(alone: dict[str, float], wanted: float) -> tuple[list[tuple[str, ...]], float]:
    """The sets of two or more phrases whose floors add up to ``wanted`` or
    more (none inside another), whose pages are to be scored too; and the
    largest sum of floors of the sets left (any page in no list scores at
    most that)."""
    phrases = sorted(alone)
    groups: list[tuple[str, ...]] = []
    bound = 0.0
    for size in range(1, len(phrases) + 1):
        for subset in itertools.combinations(phrases, size):
            if any(set(group) <= set(subset) for group in groups):
                continue
            total = math.fsum(alone[p] for p in subset) * _SLACK
            if size >= 2 and total >= wanted:
                groups.append(subset)
            else:
                bound = max(bound, total)
    return groups, bound
