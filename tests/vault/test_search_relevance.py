"""vault.relevance scores pages from their text exactly as FTS5's bm25 does:
the same value to the last bit, for one word, a phrase, many words at once."""

from __future__ import annotations

import pytest

from tests.generate import build_catalog
from vault.catalog import Catalog
from vault.relevance import MismatchError, PageScorer
from vault.search import _any_of, containing_terms, similar_terms


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return build_catalog(150)


def _fts5(catalog: Catalog, phrases: list[str], rowids: list[int]) -> dict[int, float]:
    marks = ",".join("?" * len(rowids))
    sql = (
        "SELECT rowid, bm25(word_index) FROM word_index"
        f" WHERE word_index MATCH ? AND +rowid IN ({marks})"
    )
    return {rowid: -rank for rowid, rank in catalog.conn.execute(sql, (_any_of(phrases), *rowids))}


def test_pages_are_scored_as_fts5_scores_them(catalog: Catalog) -> None:
    rowids = [row[0] for row in catalog.conn.execute("SELECT id FROM page_keys")]
    scorer = PageScorer(catalog.conn, rowids)
    queries = [
        ["the"], ["hearing"], ["family court"], ["przybylski"], ["o connor"], ["the the"],
        containing_terms(catalog.conn, "supervis"), containing_terms(catalog.conn, "the"),
        list(similar_terms(catalog.conn, "richadsun")), ["contact", "centre", "nowak"],
    ]  # fmt: skip
    compared = 0
    for phrases in queries:
        assert phrases
        expected = _fts5(catalog, phrases, rowids)
        assert scorer.relevance(phrases, rowids) == expected, phrases
        compared += len(expected)
    assert compared > 1000


def test_the_idf_is_taken_from_one_page_fts5_scored(catalog: Catalog) -> None:
    rowids = [row[0] for row in catalog.conn.execute("SELECT id FROM page_keys")]
    for phrase in ("hearing", "family court", "przybylski", "the"):
        (rowid, relevance), *_ = _fts5(catalog, [phrase], rowids).items()
        learnt = PageScorer(catalog.conn, rowids)
        learnt.learn(phrase, rowid, relevance)
        assert phrase in learnt._idf  # no count needed
        assert learnt._idf[phrase] == PageScorer(catalog.conn, rowids).idf(phrase)
        learnt.check()


def test_a_page_scored_differently_is_refused(catalog: Catalog) -> None:
    rowids = [row[0] for row in catalog.conn.execute("SELECT id FROM page_keys LIMIT 5")]
    scorer = PageScorer(catalog.conn, rowids)
    scorer.learn("the", rowids[0], 12.5)
    with pytest.raises(MismatchError):
        scorer.check()
