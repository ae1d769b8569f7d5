"""Full-text search of the catalog: the index of page text, and its queries.

This module owns the search tables of the catalog and everything that reads
them. ``Catalog`` calls ``create_index``, ``index_document`` and
``unindex_document``; commands call ``search``.

Text is *folded* before it is indexed or searched: letters lose case and
accents (``Przybylśki`` → ``przybylski``), and every run of anything that is
not a letter or digit becomes one space, so a phrase matches across line
breaks and punctuation.

    word_index        FTS5 (unicode61) over the folded text of every page
    page_keys         the document and page number of each word_index row
    vocabulary        every distinct folded word of 3+ letters in word_index
    vocabulary_index  FTS5 (trigram) over `` word `` for each vocabulary word

A query word is found three ways:

    exact    the whole word, in ``word_index``
    partial  inside a longer word ("Przybylsk", or OCR that lost a space):
             the vocabulary words containing it, through the trigram index
    fuzzy    a spelling one edit away (two for words of 9+ letters), as OCR
             damage leaves it ("Przybylsky", "NT26P0O412"): vocabulary words
             sharing enough trigrams with it, then checked by edit distance
             (optimal string alignment: a swap of neighbours is one edit)

and a document matches as the best of, in falling rank: ``exact`` (the whole
query as a phrase), ``partial`` (one word, inside a longer one) or ``words``
(every word of several, not as one phrase), and ``fuzzy`` (every word, some
only by a near spelling). Within a rank, documents are ordered by FTS5's
bm25 of their best page, then the most recently received.

Only the documents shown are judged page by page. They are chosen first
(``_choose``): the best of the first rank (the whole query as a phrase, or
the one word exactly) in one SQL query that reads the best pages first and
stops once the documents it holds cannot be beaten; when those are fewer
than ``limit``, for one word the best partial matches the same way, then the
best near spellings when all are the same number of edits away; for several
words, the best documents holding every word, in one SQL query over each
word's pages. Only when near spellings are needed otherwise (at two
distances, or of several words) is every match judged, as before. The
chosen documents' pages are then scored from their
text (``vault.relevance``, FTS5's formula and numbers: the same values) for
every way each word was found, which orders their pages and makes the
snippets. So a common word costs one pass of FTS5's bm25 over the pages
that hold it, not the reading of them all into Python.

Query text only ever reaches FTS5 folded (letters, digits and spaces) and
inside a double-quoted string, so it can never be read as FTS5 syntax.
Changing how text is folded changes the index: bump the catalog's
``SCHEMA_VERSION`` so old snapshots are rebuilt.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any

from vault import best_pages, dates
from vault import family as families
from vault.errors import UsageError
from vault.relevance import MismatchError, PageScorer

if TYPE_CHECKING:
    from vault.catalog import Catalog

MIN_QUERY_CHARS = 3
KINDS = ("exact", "partial", "words", "fuzzy")
_RANK = {"exact": 2, "partial": 1, "words": 1, "fuzzy": 0}
_MIN_TERM = 3  # shorter words are not in the vocabulary (never partial or fuzzy)
_MAX_TERM = 64  # longer "words" are OCR noise
_MAX_SPELLINGS = 50  # longer words holding a query word, or near spellings, tried per word
_CONTEXT = 60  # characters of context either side of a hit in a snippet
_CHUNK = 500  # SQL parameters per statement


# --- folding ------------------------------------------------------------------

_SPECIAL = {
    "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ı": "i",
    "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ß": "ss", "þ": "th", "Þ": "th",
}  # fmt: skip
_WORD = re.compile(r"[^\W_]+")  # a run of letters and digits (what str.isalnum is)


class _FoldTable(dict[int, str]):
    """``str.translate`` table, filled in lazily: a letter or digit maps to
    its unaccented lower-case form (never to nothing), anything else to a
    space."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if char in _SPECIAL:
            out = _SPECIAL[char]
        elif char.isalnum():
            decomposed = unicodedata.normalize("NFKD", char).casefold()
            out = "".join(c for c in decomposed if c.isalnum()) or char
        else:
            out = " "
        self[code] = out
        return out


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """The searchable form of ``text``: its folded words, one space apart."""
    return " ".join(unicodedata.normalize("NFC", text).translate(_FOLD).split())


def _origin(text: str, runs: list[tuple[int, int]], folded: str, at: int) -> int:
    """The index in ``text`` (NFC) of the character that became the letter or
    digit at ``at`` in ``folded`` (``fold(text)``); ``runs`` are the spans of
    ``_WORD`` in ``text``, one per folded word."""
    start, end = runs[folded.count(" ", 0, at)]
    inner = at - folded.rfind(" ", 0, at) - 1
    word = text[start:end]
    if len(word.translate(_FOLD)) == len(word):
        return start + inner
    for i, char in enumerate(word, start):
        inner -= len(_FOLD[ord(char)])
        if inner < 0:
            return i
    raise AssertionError("the folded text does not match its original")  # pragma: no cover


def _quote(text: str) -> str:
    """An FTS5 string: ``"`` doubled, the whole wrapped in ``"``."""
    return '"' + text.replace('"', '""') + '"'


def _any_of(terms: Iterable[str]) -> str:
    return " OR ".join(_quote(term) for term in terms)


def _grams(word: str) -> set[str]:
    padded = f" {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


# --- the index -----------------------------------------------------------------


def create_index(conn: sqlite3.Connection) -> None:
    """Create the search tables (an empty index)."""
    conn.executescript(
        """
        CREATE TABLE page_keys (
            id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, page INTEGER NOT NULL);
        CREATE INDEX page_keys_doc_id ON page_keys (doc_id);
        CREATE VIRTUAL TABLE word_index USING fts5(
            text, tokenize = 'unicode61 remove_diacritics 0');
        CREATE TABLE vocabulary (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE);
        CREATE VIRTUAL TABLE vocabulary_index USING fts5(term, tokenize = 'trigram');
        """
    )
    best_pages.create(conn)


def _terms(folded_pages: Iterable[str]) -> set[str]:
    return {
        word
        for text in folded_pages
        for word in text.split()
        if _MIN_TERM <= len(word) <= _MAX_TERM
    }


def index_document(conn: sqlite3.Connection, doc_id: str, pages: Sequence[str]) -> None:
    """Index a document's page texts (page 1 first). It must not be indexed yet."""
    folded = [fold(text) for text in pages]
    first = best_pages.next_page_id(conn)  # never an id given before
    for number, text in enumerate(folded, 1):
        key = first + number - 1
        conn.execute(
            "INSERT INTO page_keys (id, doc_id, page) VALUES (?, ?, ?)", (key, doc_id, number)
        )
        conn.execute("INSERT INTO word_index (rowid, text) VALUES (?, ?)", (key, text))
    (last,) = conn.execute("SELECT coalesce(max(id), 0) FROM vocabulary").fetchone()
    conn.executemany(
        "INSERT OR IGNORE INTO vocabulary (term) VALUES (?)",
        [(term,) for term in sorted(_terms(folded))],
    )
    # New words got ids above the old largest one. One row a statement: a
    # statement that may change several rows opens a savepoint, and FTS5
    # writes its pending rows out as a new segment at every savepoint, so an
    # INSERT ... SELECT here made two segments per document, not per save.
    new = conn.execute("SELECT id, term FROM vocabulary WHERE id > ?", (last,)).fetchall()
    conn.executemany(
        "INSERT INTO vocabulary_index (rowid, term) VALUES (?, ?)",
        [(term_id, f" {term} ") for term_id, term in new],
    )


def unindex_document(conn: sqlite3.Connection, doc_id: str) -> None:
    """Remove a document from the index, and from the vocabulary the words
    no other page holds."""
    rows = conn.execute(
        "SELECT k.id, w.text FROM page_keys k JOIN word_index w ON w.rowid = k.id"
        " WHERE k.doc_id = ?",
        (doc_id,),
    ).fetchall()
    conn.executemany("DELETE FROM word_index WHERE rowid = ?", [(key,) for key, _ in rows])
    conn.execute("DELETE FROM page_keys WHERE doc_id = ?", (doc_id,))
    gone = [
        (term,)
        for term in sorted(_terms(text for _, text in rows))
        if conn.execute(
            "SELECT 1 FROM word_index WHERE word_index MATCH ? LIMIT 1", (_quote(term),)
        ).fetchone()
        is None
    ]
    conn.executemany(
        "DELETE FROM vocabulary_index WHERE rowid = (SELECT id FROM vocabulary WHERE term = ?)",
        gone,
    )
    conn.executemany("DELETE FROM vocabulary WHERE term = ?", gone)


def compact_index(conn: sqlite3.Connection) -> None:
    """Merge the FTS5 index segments, so that deleted text leaves no trace
    in them (with ``PRAGMA secure_delete`` the freed pages are zeroed)."""
    conn.execute("INSERT INTO word_index (word_index) VALUES ('optimize')")
    conn.execute("INSERT INTO vocabulary_index (vocabulary_index) VALUES ('optimize')")


# --- spellings ------------------------------------------------------------------


def max_edits(word: str) -> int:
    """How many edits away a spelling of ``word`` may be and still match."""
    if len(word) < 4:
        return 0
    return 1 if len(word) < 9 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance of ``a`` and ``b`` (insert, delete,
    substitute, swap two neighbours), or ``limit + 1`` once above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if not a or not b:
        return min(len(a) + len(b), limit + 1)
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        char = a[i - 1]
        for j in range(1, len(b) + 1):
            other = b[j - 1]
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
            if i > 1 and j > 1 and char == b[j - 2] and a[i - 2] == other:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return min(previous[-1], limit + 1)


def containing_terms(conn: sqlite3.Connection, word: str) -> list[str]:
    """Vocabulary words longer than ``word`` that contain it, the shortest
    first (at most ``_MAX_SPELLINGS``)."""
    if len(word) < 3:
        return []
    rows = conn.execute(
        "SELECT v.term FROM vocabulary_index JOIN vocabulary v ON v.id = vocabulary_index.rowid"
        " WHERE vocabulary_index MATCH ? AND v.term != ? ORDER BY length(v.term), v.term"
        " LIMIT ?",
        (_quote(word), word, _MAX_SPELLINGS),
    )
    return [term for (term,) in rows]


def similar_terms(conn: sqlite3.Connection, word: str) -> dict[str, int]:
    """Vocabulary words within ``max_edits(word)`` of ``word`` that do not
    contain it (those are partial matches), with their distance.

    Candidates share enough of the padded trigrams of ``word``: an insertion,
    deletion or substitution changes at most 3 of them. A swap changes up to
    4, which is allowed for one edit; a swap plus another edit in a long word
    can be missed.
    """
    limit = max_edits(word)
    if limit == 0:
        return {}
    grams = _grams(word)
    needed = max(1, len(grams) - (4 if limit == 1 else 3 * limit))
    shared: Counter[int] = Counter()
    for gram in grams:
        shared.update(
            row[0]
            for row in conn.execute(
                "SELECT rowid FROM vocabulary_index WHERE vocabulary_index MATCH ?", (_quote(gram),)
            )
        )
    ids = [term_id for term_id, count in shared.items() if count >= needed]
    found: list[tuple[int, str]] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT term FROM vocabulary WHERE id IN ({marks})"  # noqa: S608
        for (term,) in conn.execute(sql, chunk):
            if abs(len(term) - len(word)) > limit or word in term:
                continue
            distance = edit_distance(word, term, limit)
            if distance <= limit:
                found.append((distance, term))
    return {term: distance for distance, term in sorted(found)[:_MAX_SPELLINGS]}


# --- queries and results -----------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A parsed query: its folded words, in order."""

    words: tuple[str, ...]

    @property
    def phrase(self) -> str:
        return " ".join(self.words)


def parse_query(text: str) -> Query:
    """Fold a query; refuse one with fewer than 3 letters or digits."""
    words = tuple(fold(text).split())
    if sum(len(word) for word in words) < MIN_QUERY_CHARS:
        raise UsageError(
            f"a search needs at least {MIN_QUERY_CHARS} letters or digits",
            hint="search for a longer word, e.g. part of a surname or a case number",
        )
    return Query(words)


def parse_date(text: str, option: str) -> date:
    """A day given for ``option`` (named in the error), as ``vault.dates`` reads it."""
    return dates.parse(text, option)


@dataclass(frozen=True)
class Fragment:
    """A piece of a snippet; ``hit`` marks text that matched the query."""

    text: str
    hit: bool = False


@dataclass(frozen=True)
class Hit:
    """One matching document."""

    id: str
    name: str
    title: str
    doc_type: str
    family: str | None
    received: str
    pages: tuple[int, ...]  # the pages that match, the best first
    kind: str  # one of KINDS
    score: float  # higher is better; results come in falling score
    snippet: tuple[Fragment, ...]  # from the best page

    def snippet_text(self, before: str = "[", after: str = "]") -> str:
        """The snippet with each hit wrapped in ``before`` and ``after``."""
        return "".join(f"{before}{f.text}{after}" if f.hit else f.text for f in self.snippet)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``kind`` is called ``match`` there)."""
        return {
            "id": self.id, "title": self.title, "name": self.name, "doc_type": self.doc_type,
            "family": self.family, "received": self.received, "pages": list(self.pages),
            "match": self.kind, "score": self.score, "snippet": self.snippet_text(),
        }  # fmt: skip


# --- searching --------------------------------------------------------------------


@dataclass(frozen=True)
class _Filters:
    sql: str
    params: tuple[Any, ...]


def _filters(
    doc_type: str | None, family: str | None, since: date | None, until: date | None
) -> _Filters:
    if since is not None and until is not None and since > until:
        raise UsageError(f"--since {since} is after --until {until}")
    clauses: list[str] = []
    params: list[Any] = []
    if doc_type is not None:
        clauses.append("d.doc_type = ?")
        params.append(doc_type)
    if family is not None:
        clauses.append("family_key(d.family) = ?")
        params.append(families.display(family))
    if since is not None:
        clauses.append("d.received >= ?")
        params.append(since.isoformat())
    if until is not None:
        clauses.append("d.received < ?")
        params.append((until + timedelta(days=1)).isoformat())
    return _Filters("".join(f" AND {c}" for c in clauses), tuple(params))


# The pages one FTS5 query finds: (doc id, page) -> relevance (minus bm25, >= 0).
_PageHits = dict[tuple[str, int], float]


@dataclass
class _Lookup:
    """Runs FTS5 queries (each a list of folded phrases, any of which
    matches) over ``word_index`` within the filters, noting the received
    time of each document found (to order equal scores).

    With ``pages_of`` set (rowid -> (doc id, page)), only those pages are
    looked at, scored by ``vault.relevance`` from their text (or, where it
    cannot, by FTS5 limited to them): the same values, without a walk of
    the whole index of each phrase."""

    conn: sqlite3.Connection
    filters: _Filters
    received: dict[str, str] = field(default_factory=dict)
    pages_of: dict[int, tuple[str, int]] | None = None
    scorer: PageScorer | None = None

    def pages(self, phrases: Sequence[str], skip: Container[tuple[str, int]] = ()) -> _PageHits:
        """The pages that hold any of ``phrases``, with their relevance; the
        pages in ``skip`` may be left out (the caller does not want them)."""
        if self.pages_of is not None:
            return self._pages_within(phrases, self.pages_of, skip)
        # the filters are fixed clauses; their values are bound
        sql = (
            "SELECT k.doc_id, k.page, bm25(word_index), d.received FROM word_index"  # noqa: S608
            " JOIN page_keys k ON k.id = word_index.rowid JOIN documents d ON d.id = k.doc_id"
            " WHERE word_index MATCH ?" + self.filters.sql
        )
        hits: _PageHits = {}
        for doc, page, rank, received in self.conn.execute(
            sql, (_any_of(phrases), *self.filters.params)
        ):
            hits[doc, page] = -rank
            self.received[doc] = received
        return hits

    def _pages_within(
        self,
        phrases: Sequence[str],
        pages_of: dict[int, tuple[str, int]],
        skip: Container[tuple[str, int]],
    ) -> _PageHits:
        if self.scorer is not None:
            wanted = [rowid for rowid, key in pages_of.items() if key not in skip]
            found = self.scorer.relevance(phrases, wanted)
            return {pages_of[rowid]: relevance for rowid, relevance in found.items()}
        hits: _PageHits = {}
        rowids = list(pages_of)
        for start in range(0, len(rowids), _CHUNK):
            chunk = rowids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            # "+rowid": FTS5 walks the phrases' index once, not once per page
            sql = (
                "SELECT rowid, bm25(word_index) FROM word_index"  # noqa: S608
                f" WHERE word_index MATCH ? AND +rowid IN ({marks})"
            )
            for rowid, rank in self.conn.execute(sql, (_any_of(phrases), *chunk)):
                hits[pages_of[rowid]] = -rank
        return hits


@dataclass
class _Word:
    """Where one query word was found, each page under its best way only."""

    word: str
    exact: _PageHits
    partial: _PageHits = field(default_factory=dict)
    fuzzy: _PageHits = field(default_factory=dict)  # relevance discounted by distance
    spellings: tuple[str, ...] = ()  # the near spellings that were looked for

    def found(self, key: tuple[str, int]) -> float | None:
        for hits in (self.exact, self.partial, self.fuzzy):
            if key in hits:
                return hits[key]
        return None


@dataclass
class _Vocabulary:
    """``containing_terms`` and ``similar_terms``, each asked once per word."""

    conn: sqlite3.Connection
    _longer: dict[str, list[str]] = field(default_factory=dict)
    _similar: dict[str, dict[str, int]] = field(default_factory=dict)

    def longer(self, word: str) -> list[str]:
        if word not in self._longer:
            self._longer[word] = containing_terms(self.conn, word)
        return self._longer[word]

    def similar(self, word: str) -> dict[str, int]:
        if word not in self._similar:
            self._similar[word] = similar_terms(self.conn, word)
        return self._similar[word]


def _find_word(lookup: _Lookup, vocabulary: _Vocabulary, word: str, *, fuzzy: bool) -> _Word:
    found = _Word(word, lookup.pages([word]))
    longer = vocabulary.longer(word)
    if longer:
        hits = lookup.pages(longer, skip=found.exact)
        found.partial = {key: v for key, v in hits.items() if key not in found.exact}
    if not fuzzy:
        return found
    similar = vocabulary.similar(word)
    found.spellings = tuple(similar)
    for distance in sorted(set(similar.values())):
        spellings = [term for term, d in similar.items() if d == distance]
        seen = {**found.exact, **found.partial, **found.fuzzy}
        for key, relevance in lookup.pages(spellings, skip=seen).items():
            if found.found(key) is None:
                found.fuzzy[key] = relevance / (1 + distance)
    return found


@dataclass(frozen=True)
class _Match:
    kind: str
    relevance: float

    @property
    def score(self) -> float:
        """Rank first (2 exact … 0 fuzzy), then relevance squeezed into [0, 1)."""
        return _RANK[self.kind] + self.relevance / (1 + self.relevance)


def _best(values: Iterable[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return max(found) if found else None


def _judge(
    doc: str, pages: set[int], phrase: _PageHits | None, words: list[_Word]
) -> _Match | None:
    """How a document matches (``phrase`` is None for a one-word query)."""
    if phrase is None:
        (word,) = words
        for kind, hits in (("exact", word.exact), ("partial", word.partial), ("fuzzy", word.fuzzy)):
            score = _best(hits.get((doc, p)) for p in pages)
            if score is not None:
                return _Match(kind, score)
        return None
    score = _best(phrase.get((doc, p)) for p in pages)
    if score is not None:
        return _Match("exact", score)
    kind, total = "words", 0.0
    for word in words:
        score = _best(word.exact.get((doc, p), word.partial.get((doc, p))) for p in pages)
        if score is None:
            kind = "fuzzy"
            score = _best(word.fuzzy.get((doc, p)) for p in pages)
            if score is None:
                return None
        total += score
    return _Match(kind, total)


def _order_pages(
    doc: str, pages: set[int], phrase: _PageHits | None, words: list[_Word]
) -> list[int]:
    """A document's matching pages, the best first."""

    def key(page: int) -> tuple[Any, ...]:
        at = (doc, page)
        return (
            phrase is not None and at in phrase,
            sum(at in w.exact for w in words),
            sum(at in w.partial for w in words),
            sum(w.found(at) or 0.0 for w in words),
            -page,
        )

    return sorted(pages, key=key, reverse=True)


def select(
    catalog: Catalog,
    *,
    doc_type: str | None = None,
    family: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[dict[str, Any]]:
    """The documents of this type, family and received days, oldest first
    (``vault list``'s filters: the same as ``search``'s)."""
    found = _filters(doc_type, family, since, until)
    ids = [
        row[0]
        for row in catalog.conn.execute(
            f"SELECT d.id FROM documents d WHERE 1 = 1{found.sql} ORDER BY d.received, d.id",  # noqa: S608
            found.params,
        )
    ]
    return [row for doc_id in ids if (row := catalog.get(doc_id)) is not None]


def search(
    catalog: Catalog,
    query: str | Query,
    *,
    doc_type: str | None = None,
    family: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 50,
    fuzzy: bool = True,
) -> list[Hit]:
    """The documents matching ``query``, best first, at most ``limit``.

    ``since`` and ``until`` are inclusive days of the received date (UTC).
    With ``fuzzy=False`` only exact and partial matches count.
    """
    parsed = query if isinstance(query, Query) else parse_query(query)
    conn = catalog.conn
    filters = _filters(doc_type, family, since, until)
    lookup = _Lookup(conn, filters)
    vocabulary = _Vocabulary(conn)
    learned: list[tuple[str, int, float]] = []
    chosen = _choose(conn, vocabulary, parsed, filters, limit, fuzzy=fuzzy, learned=learned)
    if chosen is not None:
        lookup = _lookup_within(conn, filters, chosen, learned)
    words = [_find_word(lookup, vocabulary, w, fuzzy=fuzzy) for w in dict.fromkeys(parsed.words)]
    phrase = lookup.pages([parsed.phrase]) if len(parsed.words) > 1 else None
    pages: dict[str, set[int]] = defaultdict(set)
    for found in (phrase or {}, *(h for w in words for h in (w.exact, w.partial, w.fuzzy))):
        for doc, page in found:
            pages[doc].add(page)
    matches = {
        doc: match
        for doc, doc_pages in pages.items()
        if (match := _judge(doc, doc_pages, phrase, words)) is not None
    }
    # best score first; among equals, the most recently received
    ranked = sorted(matches, key=lambda doc: (lookup.received[doc], doc), reverse=True)
    ranked.sort(key=lambda doc: matches[doc].score, reverse=True)
    hits = []
    for doc in ranked[:limit]:
        match = matches[doc]
        row = conn.execute(
            "SELECT name, doc_type, family_key(family), received, title "
            "FROM documents WHERE id = ?",
            (doc,),
        ).fetchone()
        ordered = _order_pages(doc, pages[doc], phrase, words)
        text = conn.execute(
            "SELECT text FROM pages WHERE doc_id = ? AND page = ?", (doc, ordered[0])
        ).fetchone()
        hits.append(
            Hit(
                id=doc,
                name=row[0],
                title=row[4] or row[0],
                doc_type=row[1],
                family=row[2],
                received=row[3],
                pages=tuple(ordered),
                kind=match.kind,
                score=round(match.score, 6),
                snippet=make_snippet(text[0] if text else "", _needles(parsed, match, words)),
            )
        )
    return hits


# --- choosing the documents to show ------------------------------------------------


def _squeeze(relevance: float) -> float:
    """What a relevance adds to a rank in a score (``_Match.score``)."""
    return relevance / (1 + relevance)


def _choose(
    conn: sqlite3.Connection,
    vocabulary: _Vocabulary,
    query: Query,
    filters: _Filters,
    limit: int,
    *,
    fuzzy: bool,
    learned: list[tuple[str, int, float]],
) -> dict[str, str] | None:
    """The documents ``search`` shows (id -> received), found without
    judging every match: the best of the first rank (the whole query as a
    phrase, or the one word exactly) in one SQL query; for one word, when
    those are too few, the best partial matches in another, then the best
    near spellings (when all are the same number of edits away). None when
    the lower ranks are needed otherwise (several words apart, spellings at
    two distances): then every match is judged. For several words, the
    best documents holding every word (``_best_word_documents``) follow
    the phrase's; near spellings are never chosen here."""
    first = [query.phrase] if len(query.words) > 1 else [query.words[0]]
    chosen = _best_documents(conn, first, filters, limit, {}, learned=learned)
    if len(chosen) >= limit:
        return chosen
    if len(query.words) > 1:
        words = list(dict.fromkeys(query.words))
        chosen.update(_best_word_documents(conn, vocabulary, words, filters, limit, chosen))
        return chosen if len(chosen) >= limit or not fuzzy else None
    longer = vocabulary.longer(query.words[0])
    if longer:
        chosen.update(_best_documents(conn, longer, filters, limit - len(chosen), chosen))
    if len(chosen) >= limit or not fuzzy:
        return chosen
    similar = vocabulary.similar(query.words[0])
    distances = set(similar.values())
    if len(distances) > 1:
        return None
    if similar:
        (distance,) = distances
        want = limit - len(chosen)
        chosen.update(_best_documents(conn, list(similar), filters, want, chosen, 1 + distance))
    return chosen


def _best_documents(
    conn: sqlite3.Connection,
    phrases: list[str],
    filters: _Filters,
    want: int,
    skip: dict[str, str],
    divisor: int = 1,
    learned: list[tuple[str, int, float]] | None = None,
) -> dict[str, str]:
    """The ``want`` documents not in ``skip`` whose best page matches any of
    ``phrases`` best, as ``search`` ranks them within one rank (the best
    page's relevance, divided by ``divisor`` for near spellings, then the
    most recently received), id -> received; all of them when fewer match.
    ``learned`` gets (phrase, page, relevance) for the best page of each, as
    FTS5 scored it (for one phrase only).

    FTS5 gives the best pages first; documents are taken from them until
    ``want`` are sure: better than the last page read, so no page not read
    can beat them. Else more pages are read.
    """
    if want <= 0:
        return {}
    match = _any_of(phrases)
    sure: dict[str, float] | None = None
    listed = None
    if not filters.sql:  # the pages a search filtered is about are rarely the best
        listed = best_pages.candidates(conn, phrases, match)
    if listed is not None:
        rows, bound = listed
        sure, best_page = _sure(conn, rows, skip, divisor, _squeeze(bound / divisor), want)
        if len(sure) < want:
            sure = None
    if sure is None:
        sql = _best_pages_sql(conn, match, filters)
        read = 4 * (want + len(skip)) + 16
        while True:
            rows = conn.execute(sql, (match, *filters.params, read)).fetchall()
            every = len(rows) < read  # every matching page was read
            floor = None if every else _squeeze(-rows[-1][1] / divisor)
            sure, best_page = _sure(conn, rows, skip, divisor, floor, want)
            if len(sure) >= want or every:
                break
            read *= 4
    ranked = sorted(sure, key=lambda doc: _squeeze(sure[doc]), reverse=True)
    if len(ranked) > want:  # only those up to the last shown and its equals may be shown
        last = _squeeze(sure[ranked[want - 1]])
        ranked = [doc for doc in ranked if _squeeze(sure[doc]) >= last]
    received = _received(conn, ranked)
    ranked.sort(key=lambda doc: (received[doc], doc), reverse=True)
    ranked.sort(key=lambda doc: _squeeze(sure[doc]), reverse=True)
    if learned is not None and len(phrases) == 1 and divisor == 1:
        learned.extend((phrases[0], best_page[doc], sure[doc]) for doc in ranked[:want])
    return {doc: received[doc] for doc in ranked[:want]}


def _sure(
    conn: sqlite3.Connection,
    rows: list[tuple[int, float]],
    skip: dict[str, str],
    divisor: int,
    floor: float | None,
    want: int,
) -> tuple[dict[str, float], dict[str, int]]:
    """Of the documents of ``rows`` (pages and their bm25, best first) not in
    ``skip``: those whose best page is surely above any page not read (its
    score above ``floor``; None: every page was read), with that page's
    relevance, as far as the ``want``-th and its equals; and that page of
    each."""
    best: dict[str, float] = {}
    best_page: dict[str, int] = {}
    last: float | None = None  # the score of the want-th document
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        docs = _documents_of(conn, [rowid for rowid, _ in chunk])
        for rowid, rank in chunk:
            score = _squeeze(-rank / divisor)
            if (floor is not None and score <= floor) or (last is not None and score < last):
                break  # no document first seen from here on is sure, or shown
            doc = docs[rowid]
            if doc not in skip and doc not in best:
                best[doc] = -rank / divisor
                best_page[doc] = rowid
                if len(best) == want:
                    last = score
        else:
            continue
        break
    return best, best_page


def _best_word_documents(
    conn: sqlite3.Connection,
    vocabulary: _Vocabulary,
    words: list[str],
    filters: _Filters,
    limit: int,
    chosen: dict[str, str],
) -> dict[str, str]:
    """The best documents (at most ``limit`` less ``chosen``, none of
    ``chosen``: every document holding the whole phrase) that hold every
    one of ``words``, whole or inside a longer word, as ``search`` ranks them
    (the sum over the words of the best page's relevance for each, a whole
    word's before a longer word's on the same page; then the most recently
    received), id -> received; all of them when fewer."""
    want = limit - len(chosen)
    if want <= 0:
        return {}
    parts, params = [], []
    for n, word in enumerate(words):
        parts.append(
            f"e{n} AS MATERIALIZED (SELECT rowid AS id, -bm25(word_index) AS r"  # noqa: S608
            " FROM word_index WHERE word_index MATCH ?)"
        )
        params.append(_quote(word))
        union = f"SELECT id, r FROM e{n}"  # noqa: S608
        longer = vocabulary.longer(word)
        if longer:
            parts.append(
                f"p{n} AS MATERIALIZED (SELECT rowid AS id, -bm25(word_index) AS r"  # noqa: S608
                " FROM word_index WHERE word_index MATCH ?)"
            )
            params.append(_any_of(longer))
            union += f" UNION ALL SELECT id, r FROM p{n} WHERE id NOT IN (SELECT id FROM e{n})"  # noqa: S608
        parts.append(
            f"b{n} AS MATERIALIZED (SELECT k.doc_id AS doc, max(u.r) AS best FROM ({union}) u"  # noqa: S608
            " JOIN page_keys k ON k.id = u.id GROUP BY k.doc_id)"
        )
    total = "0.0" + "".join(f" + b{n}.best" for n in range(len(words)))
    joins = "".join(f" JOIN b{n} ON b{n}.doc = b0.doc" for n in range(1, len(words)))
    # the names are made here, the filters are fixed clauses; every value is bound
    sql = (
        "WITH " + ", ".join(parts) + f" SELECT b0.doc, {total} AS total, d.received FROM b0"  # noqa: S608
        + joins + " JOIN documents d ON d.id = b0.doc WHERE 1 = 1" + filters.sql
        + " ORDER BY total DESC LIMIT ?"
    )  # fmt: skip
    read = 2 * limit + 16
    while True:
        rows = conn.execute(sql, (*params, *filters.params, read)).fetchall()
        found = {doc: (total, received) for doc, total, received in rows if doc not in chosen}
        if len(rows) < read:  # every document was read
            sure = found
        else:
            floor = _squeeze(rows[-1][1])
            sure = {doc: row for doc, row in found.items() if _squeeze(row[0]) > floor}
        if len(sure) >= want or len(rows) < read:
            break
        read *= 4
    ranked = sorted(sure, key=lambda doc: (sure[doc][1], doc), reverse=True)
    ranked.sort(key=lambda doc: _squeeze(sure[doc][0]), reverse=True)
    return {doc: sure[doc][1] for doc in ranked[:want]}


_FEW_PAGES = 5000  # pages a filter is checked on one by one; more: the filter's pages first


def _best_pages_sql(conn: sqlite3.Connection, match: str, filters: _Filters) -> str:
    """SQL for the pages that match (bound: ``match``, the filters' values
    and how many), best first. With filters, few matching pages are checked
    one by one; for many, the pages of the documents the filters let through
    are listed first."""
    best = "SELECT word_index.rowid, bm25(word_index) FROM word_index"
    if not filters.sql:
        return best + " WHERE word_index MATCH ? ORDER BY bm25(word_index) LIMIT ?"
    (pages,) = conn.execute(  # counted no further than needed
        "SELECT count(*) FROM (SELECT 1 FROM word_index WHERE word_index MATCH ? LIMIT ?)",
        (match, _FEW_PAGES + 1),
    ).fetchone()
    if pages <= _FEW_PAGES:  # the filters are fixed clauses; their values are bound
        return (
            best + " CROSS JOIN page_keys k ON k.id = word_index.rowid"
            " CROSS JOIN documents d ON d.id = k.doc_id"
            " WHERE word_index MATCH ?" + filters.sql + " ORDER BY bm25(word_index) LIMIT ?"
        )
    return (
        best + " WHERE word_index MATCH ? AND +word_index.rowid IN (SELECT k.id"  # noqa: S608
        " FROM documents d JOIN page_keys k ON k.doc_id = d.id WHERE 1 = 1" + filters.sql + ")"
        " ORDER BY bm25(word_index) LIMIT ?"
    )


def _pairs(conn: sqlite3.Connection, sql: str, keys: Sequence[Any]) -> dict[Any, Any]:
    """The rows of ``sql`` (two columns, ``IN ({marks})`` to fill) for ``keys``,
    asked ``_CHUNK`` keys at a time, as {first column: second}."""
    found: dict[Any, Any] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        found.update(conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk).fetchall())
    return found


def _documents_of(conn: sqlite3.Connection, rowids: list[int]) -> dict[int, str]:
    """The document of each page (``word_index`` rowid)."""
    return _pairs(conn, "SELECT id, doc_id FROM page_keys WHERE id IN ({marks})", rowids)


def _received(conn: sqlite3.Connection, docs: list[str]) -> dict[str, str]:
    return _pairs(conn, "SELECT id, received FROM documents WHERE id IN ({marks})", docs)


def _lookup_within(
    conn: sqlite3.Connection,
    filters: _Filters,
    docs: dict[str, str],
    learned: list[tuple[str, int, float]],
) -> _Lookup:
    """A lookup that sees only the pages of ``docs`` (id -> received);
    ``learned``: pages FTS5 scored (``_best_documents``), which check the
    scoring from the text and spare it counts."""
    pages_of: dict[int, tuple[str, int]] = {}
    chosen = list(docs)
    for start in range(0, len(chosen), _CHUNK):
        chunk = chosen[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT id, doc_id, page FROM page_keys WHERE doc_id IN ({marks})"  # noqa: S608
        pages_of.update((rowid, (doc, page)) for rowid, doc, page in conn.execute(sql, chunk))
    try:
        scorer = PageScorer(conn, pages_of)
        for phrase, rowid, relevance in learned:
            scorer.learn(phrase, rowid, relevance)
        scorer.check()
    except MismatchError:
        return _Lookup(conn, filters, dict(docs), pages_of, None)
    return _Lookup(conn, filters, dict(docs), pages_of, scorer)


# --- snippets ---------------------------------------------------------------------


def _needles(query: Query, match: _Match, words: list[_Word]) -> list[str]:
    """What to mark in a snippet, in folded form, the most telling first: a
    word with spaces round it matches only whole words."""
    needles = [f" {query.phrase} "] if match.kind == "exact" else []
    needles += [f" {w.word} " for w in words]
    if match.kind != "exact":  # inside longer words
        needles += [w.word for w in words if len(w.word) >= 3]
    needles += [f" {spelling} " for w in words for spelling in w.spellings]
    return needles


def make_snippet(text: str, needles: Sequence[str]) -> tuple[Fragment, ...]:
    """A short passage of ``text`` round the first of ``needles`` (folded
    strings) found in it, with every needle found in the passage marked."""
    text = unicodedata.normalize("NFC", text)
    folded = f" {fold(text)} "  # spaces at the ends, so " word " finds a whole word
    cores = [(needle, needle.strip()) for needle in needles if needle.strip()]
    first = min(
        ((at, n) for n, (needle, _) in enumerate(cores) if (at := folded.find(needle)) != -1),
        key=lambda found: found[1],
        default=None,
    )
    if first is None:
        return _fragments(text, 0, _cut_after(text, 2 * _CONTEXT), [])
    # Folding shortens text (but for the odd ß → ss), so a hit inside the
    # passage is within a few times _CONTEXT of the anchor in ``folded`` too.
    low, high = max(0, first[0] - 4 * _CONTEXT), first[0] + 4 * _CONTEXT
    found: list[tuple[int, int]] = []  # first and last letter of each hit, in ``folded`` - 1
    for n, (needle, core) in enumerate(cores):
        offset = needle.index(core[0]) - 1  # -1: the space added in front
        start = first[0] if n == first[1] else folded.find(needle, low, high)
        while start != -1:
            found.append((start + offset, start + offset + len(core) - 1))
            start = folded.find(needle, start + 1, high)
    bare = folded[1:-1]
    runs: list[tuple[int, int]] = []  # spans of the words of ``text``, as far as needed
    scan = _WORD.finditer(text)

    def origin(at: int) -> int:
        needed = bare.count(" ", 0, at) + 1 - len(runs)
        if needed > 0:
            runs.extend(run.span() for run in islice(scan, needed))
        return _origin(text, runs, bare, at)

    def span(hit: tuple[int, int]) -> tuple[int, int]:
        return origin(hit[0]), origin(hit[1]) + 1

    anchor = span(found[0])
    begin = _cut_before(text, anchor[0] - _CONTEXT)
    end = _cut_after(text, anchor[1] + _CONTEXT)
    marked: list[tuple[int, int]] = []
    for start, stop in sorted({span(hit) for hit in found}):
        if start < begin or stop > end:
            continue
        if marked and start <= marked[-1][1]:
            marked[-1] = (marked[-1][0], max(marked[-1][1], stop))
        else:
            marked.append((start, stop))
    return _fragments(text, begin, end, marked)


def _cut_before(text: str, at: int) -> int:
    """A start for a passage near ``at``, at the start of a word if one is close."""
    if at <= 0:
        return 0
    space = re.compile(r"\s").search(text, at, at + 15)
    return space.end() if space else at


def _cut_after(text: str, at: int) -> int:
    """An end for a passage near ``at``, at the end of a word if one is close."""
    if at >= len(text):
        return len(text)
    spaces = [m.start() for m in re.finditer(r"\s", text[max(0, at - 15) : at])]
    return max(0, at - 15) + spaces[-1] if spaces else at


def _fragments(
    text: str, begin: int, end: int, marked: list[tuple[int, int]]
) -> tuple[Fragment, ...]:
    pieces: list[Fragment] = []
    at = begin
    for start, stop in marked:
        pieces += [Fragment(text[at:start]), Fragment(text[start:stop], hit=True)]
        at = stop
    pieces.append(Fragment(text[at:end]))
    pieces = [Fragment(re.sub(r"\s+", " ", p.text), p.hit) for p in pieces]
    # The first and last pieces are the text round the marks, never a hit.
    pieces[0] = Fragment(("…" if begin > 0 else "") + pieces[0].text.lstrip())
    pieces[-1] = Fragment(pieces[-1].text.rstrip() + ("…" if end < len(text) else ""))
    return tuple(p for p in pieces if p.text)
