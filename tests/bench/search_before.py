"""The search as it was before it stopped at the results shown: every
matching page of every rank brought into Python, judged and ranked. Kept for
the benchmark (``bench_search --old``), which times it and checks that
today's search gives the same results."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from vault.search import (
    _RANK,
    Hit,
    Query,
    _any_of,
    _Filters,
    _filters,
    _quote,
    containing_terms,
    make_snippet,
    parse_query,
    similar_terms,
)

if TYPE_CHECKING:
    from vault.catalog import Catalog

# The pages one FTS5 query finds: (doc id, page) -> relevance (minus bm25, >= 0).
_PageHits = dict[tuple[str, int], float]


@dataclass
class _Lookup:
    """Runs FTS5 queries over ``word_index`` within the filters, noting the
    received time of each document found (to order equal scores)."""

    conn: sqlite3.Connection
    filters: _Filters
    received: dict[str, str] = field(default_factory=dict)

    def pages(self, match: str) -> _PageHits:
        # the filters are fixed clauses; their values are bound
        sql = (
            "SELECT k.doc_id, k.page, bm25(word_index), d.received FROM word_index"
            " JOIN page_keys k ON k.id = word_index.rowid JOIN documents d ON d.id = k.doc_id"
            " WHERE word_index MATCH ?" + self.filters.sql
        )
        hits: _PageHits = {}
        for doc, page, rank, received in self.conn.execute(sql, (match, *self.filters.params)):
            hits[doc, page] = -rank
            self.received[doc] = received
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


def _find_word(lookup: _Lookup, word: str, *, fuzzy: bool) -> _Word:
    found = _Word(word, lookup.pages(_quote(word)))
    longer = containing_terms(lookup.conn, word)
    if longer:
        hits = lookup.pages(_any_of(longer))
        found.partial = {key: v for key, v in hits.items() if key not in found.exact}
    if not fuzzy:
        return found
    similar = similar_terms(lookup.conn, word)
    found.spellings = tuple(similar)
    for distance in sorted(set(similar.values())):
        spellings = [term for term, d in similar.items() if d == distance]
        for key, relevance in lookup.pages(_any_of(spellings)).items():
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
    lookup = _Lookup(catalog.conn, _filters(doc_type, family, since, until))
    words = [_find_word(lookup, w, fuzzy=fuzzy) for w in dict.fromkeys(parsed.words)]
    phrase = lookup.pages(_quote(parsed.phrase)) if len(parsed.words) > 1 else None
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
        row = catalog.conn.execute(
            "SELECT name, doc_type, family_key(family), received, title "
            "FROM documents WHERE id = ?",
            (doc,),
        ).fetchone()
        ordered = _order_pages(doc, pages[doc], phrase, words)
        text = catalog.conn.execute(
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


def _needles(query: Query, match: _Match, words: list[_Word]) -> list[str]:
    """What to mark in a snippet, in folded form, the most telling first: a
    word with spaces round it matches only whole words."""
    needles = [f" {query.phrase} "] if match.kind == "exact" else []
    needles += [f" {w.word} " for w in words]
    if match.kind != "exact":  # inside longer words
        needles += [w.word for w in words if len(w.word) >= 3]
    needles += [f" {spelling} " for w in words for spelling in w.spellings]
    return needles
