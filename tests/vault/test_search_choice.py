"""Search chooses the documents to show before judging them: the choice
must give what judging every match gave (tests/bench/search_before.py, the
search as it was), at the edges too: many pages of one document ahead of the
others, equal scores across the limit, pages FTS5 counts differently."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.bench import search_before
from tests.generate import build_catalog
from tests.letters import add_letter
from vault import search as searching
from vault.catalog import Catalog


def _same(catalog: Catalog, query: str, **options: Any) -> list[searching.Hit]:
    found = searching.search(catalog, query, **options)
    assert found == search_before.search(catalog, query, **options)
    return found


@pytest.fixture(scope="module")
def generated() -> Catalog:
    return build_catalog(200)


@pytest.mark.parametrize("limit", [1, 2, 5, 17, 50, 500])
@pytest.mark.parametrize(
    "query",
    ["the", "contact", "supervis", "Przybylśki", "Nowak", "family court", "hearing Saturday",
     "Leeds contact", "thx", "o'connor", "F-0412", "centr", "NT26P00412", "Nowek", "Przybylsky",
     "Pszybylsky", "Richadsun", "Dąbrowsky", "NT26P0O412", "Kowalczy"],
)  # fmt: skip
def test_the_choice_is_what_judging_every_match_gave(
    generated: Catalog, query: str, limit: int
) -> None:
    _same(generated, query, limit=limit)
    _same(generated, query, limit=limit, fuzzy=False)
    _same(generated, query, limit=limit, doc_type="court-order")


def test_one_document_with_many_good_pages_does_not_crowd_out_the_others() -> None:
    catalog = Catalog.new()
    add_letter(catalog, "D-MANY01", "2026-01-01T00:00:00+00:00", ["contact contact"] * 60)
    for n in range(8):
        add_letter(
            catalog, f"D-FEW00{n}", f"2026-02-0{n + 1}T00:00:00+00:00", [f"contact {n} and more"]
        )
    for fuzzy in (True, False):
        hits = _same(catalog, "contact", limit=4, fuzzy=fuzzy)
        assert hits[0].id == "D-MANY01"
        assert len(hits) == 4


def test_equal_scores_across_the_limit_go_to_the_most_recent() -> None:
    catalog = Catalog.new()
    for n in range(40):  # the last stored, the most recently received
        add_letter(
            catalog, f"D-SAME{n:02}", f"2026-03-01T00:{n:02}:00+00:00", ["a letter about contact"]
        )
    for fuzzy in (True, False):
        hits = _same(catalog, "contact", limit=3, fuzzy=fuzzy)
        assert [hit.id for hit in hits] == ["D-SAME39", "D-SAME38", "D-SAME37"]


def test_pages_fts5_counts_differently_are_scored_by_fts5(
    generated: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise searching.MismatchError("page 1")

    monkeypatch.setattr(searching, "PageScorer", refuse)
    for query in ("the", "supervis", "family court"):
        _same(generated, query)


@pytest.mark.parametrize("few_pages", [0, 1_000_000])
def test_filters_give_the_same_choice_checked_either_way(
    generated: Catalog, monkeypatch: pytest.MonkeyPatch, few_pages: int
) -> None:
    """Filters are checked page by page for few matching pages, else through
    the list of the pages they let through: either way, the same results."""
    monkeypatch.setattr(searching, "_FEW_PAGES", few_pages)
    for query in ("the", "supervis", "family court", "Nowek", "Przybylśki"):
        for options in ({"doc_type": "letter"}, {"family": "F-0412"}, {"since": date(2024, 1, 1)}):
            _same(generated, query, **options)


def test_an_empty_catalog_finds_nothing() -> None:
    catalog = Catalog.new()
    assert _same(catalog, "hello") == []
    assert _same(catalog, "hello world", doc_type="letter") == []
    add_letter(catalog, "D-GONE01", "2026-01-01T00:00:00+00:00", ["hello world"])
    assert [hit.id for hit in _same(catalog, "hello world")] == ["D-GONE01"]
    catalog.remove("D-GONE01")
    catalog.to_bytes()  # compacts the index
    assert _same(catalog, "hello") == []
