"""Full-text search of the catalog: exact, partial and OCR-damaged spellings,
filters, ranking, snippets, hostile queries, and the index kept in step."""

from __future__ import annotations

import random
import sqlite3
import time
import unicodedata
from datetime import date

import pytest

from vault.catalog import SCHEMA_VERSION, Catalog, OutdatedCatalogError
from vault.errors import IntegrityError, UsageError
from vault.manifest import Manifest
from vault.search import (
    Hit,
    edit_distance,
    fold,
    make_snippet,
    parse_date,
    parse_query,
    search,
)

DOCS = {
    "D-REF001": ("referral", "F-0042", "2026-03-01T23:59:59+00:00", [
        "Referral for contact.\nMother: Mrs Anna Przybylski, of Leeds.",
        "Court case NT26P00412, hearing on 3 March.",
    ]),
    "D-REF002": ("referral", "F-0042", "2026-03-02T00:00:00+00:00", [
        "Przybylski family: Anna attended twice. The father did not attend.",
    ]),
    "D-ORD003": ("court-order", "F-0107", "2026-02-10T09:00:00+00:00", [
        "Order in case NT26P0O412: contact with Mr Przybylsk1 on Saturdays.",
    ]),
    "D-LET004": ("letter", None, "2026-01-05T12:00:00+00:00", [
        "Dear Ms Nowak, thank you for your letter about the Saturday visits.",
    ]),
    "D-LET005": ("letter", "F-0107", "2026-04-20T08:30:00+00:00", [
        "Visits by Mr Przybyski (sic) moved to the Tuesday session.",
    ]),
}  # fmt: skip


def _manifest(doc_id: str, doc_type: str, family: str | None, received: str, text: list[str]):  # type: ignore[no-untyped-def]
    return Manifest(
        doc_id=doc_id,
        original="0" * 64,
        name=f"{doc_id}.pdf",
        media_type="application/pdf",
        size=1,
        received=received,
        pages=len(text),
        doc_type=doc_type,
        family=family,
        text=text,
    )


def _catalog(docs: dict[str, tuple[str, str | None, str, list[str]]] = DOCS) -> Catalog:
    catalog = Catalog.new()
    for n, (doc_id, record) in enumerate(docs.items()):
        catalog.add(_manifest(doc_id, *record), f"manifest-{n}")
    return catalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return _catalog()


def _ids(hits: list[Hit]) -> list[str]:
    return [hit.id for hit in hits]


def _by_id(hits: list[Hit]) -> dict[str, Hit]:
    return {hit.id: hit for hit in hits}


# --- words, phrases, parts of words ----------------------------------------------


def test_exact_word_any_case(catalog: Catalog) -> None:
    for query in ("Nowak", "nowak", "NOWAK"):
        hits = search(catalog, query)
        assert _ids(hits) == ["D-LET004"]
        assert hits[0].kind == "exact"
        assert hits[0].snippet_text() == (
            "Dear Ms [Nowak], thank you for your letter about the Saturday visits."
        )


def test_result_carries_the_document_details(catalog: Catalog) -> None:
    (hit,) = search(catalog, "Nowak")
    assert hit.as_dict() == {
        "id": "D-LET004",
        "title": "Letter \u2014 5 Jan 2026",
        "name": "D-LET004.pdf",
        "doc_type": "letter",
        "family": None,
        "received": "2026-01-05T12:00:00+00:00",
        "pages": [1],
        "match": "exact",
        "score": hit.score,
        "snippet": "Dear Ms [Nowak], thank you for your letter about the Saturday visits.",
    }


def test_phrase_across_line_break_and_punctuation(catalog: Catalog) -> None:
    hits = search(catalog, "Anna Przybylski")
    assert hits[0].id == "D-REF001"  # "Mrs Anna Przybylski": the phrase
    assert hits[0].kind == "exact"
    assert "[Anna Przybylski]" in hits[0].snippet_text()
    found = _by_id(hits)
    assert found["D-REF002"].kind == "words"  # both words, not together
    assert found["D-REF001"].score > found["D-REF002"].score
    contact = search(catalog, "contact mother")  # "contact.\nMother:"
    assert contact[0].id == "D-REF001" and contact[0].kind == "exact"
    assert "[contact. Mother]" in contact[0].snippet_text()


def test_every_word_must_match(catalog: Catalog) -> None:
    assert search(catalog, "Nowak Przybylski") == []
    assert _ids(search(catalog, "Nowak Saturday")) == ["D-LET004"]


def test_partial_word(catalog: Catalog) -> None:
    hits = _by_id(search(catalog, "Przybylsk"))
    assert {"D-REF001", "D-REF002", "D-ORD003"} <= set(hits)
    assert hits["D-REF001"].kind == "partial"
    assert "Mrs Anna [Przybylsk]i, of Leeds" in hits["D-REF001"].snippet_text()


def test_partial_case_number(catalog: Catalog) -> None:
    assert _ids(search(catalog, "26P00412")) == ["D-REF001"]


def test_accents_do_not_matter() -> None:
    catalog = _catalog({
        "D-ACC001": ("other", None, "2026-01-01T00:00:00+00:00", ["Łukasz Przybylśki, Zoë"]),
        "D-ACC002": ("other", None, "2026-01-01T00:00:00+00:00", ["Anna Przybylski"]),
    })  # fmt: skip
    assert sorted(_ids(search(catalog, "przybylski"))) == ["D-ACC001", "D-ACC002"]
    assert sorted(_ids(search(catalog, "Przybylśki"))) == ["D-ACC001", "D-ACC002"]
    (hit,) = search(catalog, "Lukasz")
    assert hit.snippet_text() == "[Łukasz] Przybylśki, Zoë"
    assert _ids(search(catalog, "zoe")) == ["D-ACC001"]


def test_decomposed_text_and_expanding_letters() -> None:
    decomposed = unicodedata.normalize("NFD", "José García lives at Straße 5")
    catalog = _catalog({"D-NFD001": ("other", None, "2026-01-01T00:00:00+00:00", [decomposed])})
    assert search(catalog, "garcia")[0].snippet_text() == "José [García] lives at Straße 5"
    assert search(catalog, "strasse")[0].snippet_text() == "José García lives at [Straße] 5"
    assert search(catalog, "José García")[0].snippet_text() == "[José García] lives at Straße 5"


# --- OCR damage ---------------------------------------------------------------------


def test_one_wrong_letter_in_the_query(catalog: Catalog) -> None:
    for query in ("Przybylsky", "Przybilski", "Przybylskl"):
        hits = _by_id(search(catalog, query))
        assert {"D-REF001", "D-REF002"} <= set(hits), query
        assert hits["D-REF001"].kind == "fuzzy"
        assert "[Przybylski]" in hits["D-REF001"].snippet_text()


def test_one_missing_letter(catalog: Catalog) -> None:
    hits = _by_id(search(catalog, "Przybylki"))  # missing from the query
    assert {"D-REF001", "D-REF002"} <= set(hits)
    found = _by_id(search(catalog, "Przybylski"))  # missing from the document
    assert "[Przybyski]" in found["D-LET005"].snippet_text()
    assert found["D-LET005"].kind == "fuzzy"


def test_swapped_letters(catalog: Catalog) -> None:
    assert _ids(search(catalog, "Nowka")) == ["D-LET004"]


def test_ocr_damage_in_the_document_ranks_below_exact(catalog: Catalog) -> None:
    hits = search(catalog, "Przybylski")
    kinds = [hit.kind for hit in hits]
    assert kinds[:2] == ["exact", "exact"]
    assert set(_ids(hits[:2])) == {"D-REF001", "D-REF002"}
    assert set(_ids(hits[2:])) == {"D-ORD003", "D-LET005"}  # Przybylsk1, Przybyski
    assert set(kinds[2:]) == {"fuzzy"}
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert "[Przybylsk1]" in _by_id(hits)["D-ORD003"].snippet_text()


def test_case_number_exact_and_with_an_ocr_confusion(catalog: Catalog) -> None:
    exact = search(catalog, "NT26P00412")
    assert _ids(exact) == ["D-REF001", "D-ORD003"]  # the second reads NT26P0O412
    assert [hit.kind for hit in exact] == ["exact", "fuzzy"]
    assert exact[0].pages == (2,)
    assert "Court case [NT26P00412], hearing" in exact[0].snippet_text()
    confused = search(catalog, "NT26P0O412")
    assert _ids(confused) == ["D-ORD003", "D-REF001"]
    assert "[NT26P00412]" in confused[1].snippet_text()


def test_short_words_are_not_fuzzy() -> None:
    catalog = _catalog({"D-SHORT1": ("other", None, "2026-01-01T00:00:00+00:00", ["Mr Ann Cox"])})
    assert search(catalog, "Ann")[0].kind == "exact"
    assert search(catalog, "Anne") != []  # 4 letters: one edit allowed
    assert search(catalog, "Cux") == []  # 3 letters: exact only


def test_exact_only(catalog: Catalog) -> None:
    assert search(catalog, "Przybylsky", fuzzy=False) == []
    assert {h.kind for h in search(catalog, "Przybylski", fuzzy=False)} == {"exact"}
    assert {h.kind for h in search(catalog, "Przybylsk", fuzzy=False)} == {"partial"}


# --- filters ---------------------------------------------------------------------------


def test_filter_by_type_and_family(catalog: Catalog) -> None:
    assert _ids(search(catalog, "Przybylski", doc_type="court-order")) == ["D-ORD003"]
    assert sorted(_ids(search(catalog, "Przybylski", family="F-0042"))) == [
        "D-REF001",
        "D-REF002",
    ]
    assert search(catalog, "Przybylski", family="F-004") == []  # exact reference only
    assert search(catalog, "Nowak", doc_type="referral") == []


def test_date_range_is_inclusive(catalog: Catalog) -> None:
    def ids(since: date | None, until: date | None) -> list[str]:
        return sorted(_ids(search(catalog, "Przybylski", since=since, until=until)))

    assert ids(None, date(2026, 3, 1)) == ["D-ORD003", "D-REF001"]  # 23:59:59 on 1 March
    assert ids(date(2026, 3, 2), None) == ["D-LET005", "D-REF002"]  # 00:00:00 on 2 March
    assert ids(date(2026, 3, 1), date(2026, 3, 2)) == ["D-REF001", "D-REF002"]
    assert ids(date(2026, 3, 3), date(2026, 4, 19)) == []
    with pytest.raises(UsageError, match="after"):
        ids(date(2026, 3, 2), date(2026, 3, 1))


def test_parse_date() -> None:
    assert parse_date("2026-03-01", "--since") == date(2026, 3, 1)
    assert parse_date("01/03/2026", "--since") == date(2026, 3, 1)  # the UK's day first
    assert parse_date("1 Mar 2026", "--since") == date(2026, 3, 1)
    for bad in ("03/31/2026", "1/3", "2026-02-30", "yesterday", ""):
        with pytest.raises(UsageError) as caught:
            parse_date(bad, "--since")
        assert caught.value.exit_code == 2
        assert "--since" in caught.value.message
        assert "2026-12-04" in (caught.value.hint or "")


# --- ranking, pages, limits --------------------------------------------------------------


def test_pages_best_first() -> None:
    catalog = _catalog({
        "D-PAGES1": ("other", None, "2026-01-01T00:00:00+00:00", [
            "Contact with Mr Przybylsk1.", "Nothing to see.",
            "Mrs Przybylski came to the centre on a long and rainy day in March.",
            "Mrs Przybylski and Mr Przybylski came.",
        ]),
    })  # fmt: skip
    (hit,) = search(catalog, "Przybylski")
    assert hit.kind == "exact"
    assert hit.pages == (4, 3, 1)  # two exact hits, one exact, one near spelling
    assert hit.snippet_text() == "Mrs [Przybylski] and Mr [Przybylski] came."


def test_equal_scores_newest_first() -> None:
    text = ["The Saturday session."]
    catalog = _catalog({
        "D-OLD001": ("other", None, "2026-01-01T00:00:00+00:00", text),
        "D-NEW002": ("other", None, "2026-05-01T00:00:00+00:00", text),
    })  # fmt: skip
    assert _ids(search(catalog, "saturday")) == ["D-NEW002", "D-OLD001"]


def test_limit(catalog: Catalog) -> None:
    assert len(search(catalog, "Przybylski", limit=1)) == 1
    assert search(catalog, "Przybylski", limit=1)[0].kind == "exact"


def test_snippet_is_a_short_passage_round_the_hit() -> None:
    before = " ".join(f"word{n}" for n in range(100))
    after = " ".join(f"more{n}" for n in range(100))
    catalog = _catalog({
        "D-LONG01": ("other", None, "2026-01-01T00:00:00+00:00", [f"{before} Przybylski {after}"]),
    })  # fmt: skip
    (hit,) = search(catalog, "Przybylski")
    text = hit.snippet_text()
    assert text.startswith("…word") and text.endswith("…")
    assert "[Przybylski]" in text
    assert len(text) < 200
    assert "word0 " not in text and "more99" not in text


def test_snippet_without_a_hit_shows_the_start() -> None:
    parts = make_snippet("A plain page of text.", [" nothing "])
    assert [(p.text, p.hit) for p in parts] == [("A plain page of text.", False)]


# --- hostile and short queries ------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        'foo" OR "bar', '"Przybylski', "Przybylski*", "NEAR(Przybylski", "NEAR(Przybylski Anna, 2)",
        "text:Przybylski", "{text}: Przybylski", "-Przybylski", "^Przybylski", "Przybylski AND",
        "Przybylski OR", "(Przybylski", "Przybylski)", "'; DROP TABLE documents; --",
        "Przybylski + NOT Anna",
    ],
)  # fmt: skip
def test_fts_syntax_in_a_query_is_inert(catalog: Catalog, query: str) -> None:
    hits = search(catalog, query)  # never an sqlite3 error
    words = fold(query).split()
    for hit in hits:  # whatever is found holds the words of the query, as words
        text = fold(" ".join(_text(catalog, hit.id)))
        assert all(word in text or hit.kind == "fuzzy" for word in words)
    assert catalog.count() == len(DOCS)


def test_fts_operators_are_searched_as_words() -> None:
    catalog = _catalog({
        "D-OPS001": ("other", None, "2026-01-01T00:00:00+00:00", ['He said "foo" or "bar".']),
        "D-OPS002": ("other", None, "2026-01-01T00:00:00+00:00", ["foo bar"]),
    })  # fmt: skip
    assert _ids(search(catalog, 'foo" OR "bar')) == ["D-OPS001"]
    assert _ids(search(catalog, "Przybylski*")) == []
    assert sorted(_ids(search(catalog, "foo*"))) == ["D-OPS001", "D-OPS002"]


def _text(catalog: Catalog, doc_id: str) -> list[str]:
    return catalog.pages(doc_id)


@pytest.mark.parametrize("query", ["", "ab", "*", '""', "a b", "  x  ", "--", "é!", "NE*"])
def test_short_query_is_a_usage_error(catalog: Catalog, query: str) -> None:
    with pytest.raises(UsageError) as caught:
        search(catalog, query)
    assert caught.value.exit_code == 2
    assert "at least 3 letters or digits" in caught.value.message
    with pytest.raises(UsageError):
        parse_query(query)


# --- the index kept in step -----------------------------------------------------------------


def test_replacing_a_document_reindexes_it() -> None:
    catalog = _catalog({"D-EDIT01": ("other", None, "2026-01-01T00:00:00+00:00", ["alpha text"])})
    catalog.add(_manifest("D-EDIT01", "letter", None, "2026-01-01T00:00:00+00:00", ["beta"]), "m2")
    assert search(catalog, "alpha") == []
    assert search(catalog, "alphx") == []  # nor through the vocabulary
    assert [(h.id, h.doc_type) for h in search(catalog, "beta")] == [("D-EDIT01", "letter")]


def test_removed_document_leaves_no_trace_in_the_snapshot() -> None:
    secret = "Zebedeeqwerty"
    catalog = _catalog({
        "D-KEEP01": ("other", None, "2026-01-01T00:00:00+00:00", ["ordinary words"]),
        "D-GONE02": ("other", None, "2026-01-01T00:00:00+00:00", [f"{secret} lives here"]),
    })  # fmt: skip
    assert _ids(search(catalog, secret)) == ["D-GONE02"]
    assert catalog.remove("D-GONE02") is True
    assert catalog.remove("D-GONE02") is False
    assert search(catalog, secret) == [] and search(catalog, "Zebedeeqwerti") == []
    assert _ids(search(catalog, "ordinary")) == ["D-KEEP01"]
    data = catalog.to_bytes()
    for form in (secret, secret.lower(), secret.lower()[2:8]):
        assert form.encode() not in data, form
    reopened = Catalog.from_bytes(data)
    assert _ids(search(reopened, "ordinary")) == ["D-KEEP01"]


def test_search_survives_a_snapshot_round_trip(catalog: Catalog) -> None:
    reopened = Catalog.from_bytes(catalog.to_bytes())
    assert _ids(search(reopened, "NT26P0O412")) == ["D-ORD003", "D-REF001"]


def test_old_snapshot_is_outdated_newer_is_refused() -> None:
    for version, error in ((1, OutdatedCatalogError), (SCHEMA_VERSION + 1, IntegrityError)):
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE TABLE documents (id TEXT)")
        conn.execute(f"PRAGMA user_version = {version}")
        with pytest.raises(error) as caught:
            Catalog.from_bytes(bytes(conn.serialize()))
        assert caught.value.exit_code == 4
        if version > SCHEMA_VERSION:
            assert not isinstance(caught.value, OutdatedCatalogError)


def test_fold() -> None:
    assert fold("  Mrs. ANNA-Przybylśki,\n\t(NT26P00412)  ") == "mrs anna przybylski nt26p00412"
    assert fold("snake_case ß ﬁne Ø") == "snake case ss fine o"
    assert fold("!!!") == ""


def test_edit_distance() -> None:
    assert edit_distance("przybylski", "przybylski", 2) == 0
    assert edit_distance("przybylski", "przybylsky", 2) == 1
    assert edit_distance("przybylski", "przybyski", 2) == 1
    assert edit_distance("przybylski", "przyblyski", 2) == 1  # swapped neighbours
    assert edit_distance("przybylski", "pzrybylsky", 2) == 2
    assert edit_distance("przybylski", "kowalska", 2) == 3  # over the limit: limit + 1
    assert edit_distance("nowak", "nowakowska", 1) == 2
    assert edit_distance("", "abc", 2) == 2 + 1
    assert edit_distance("ab", "", 2) == 2


# --- speed --------------------------------------------------------------------------------


@pytest.mark.slow
def test_search_speed_on_a_thousand_documents() -> None:
    """1,000 documents of two ~2,000-character pages: a search is well under
    100 ms (asserted with room for a slow, shared machine)."""
    rng = random.Random(7)
    vocabulary = ["".join(rng.choice("abcdefghijklmnoprstuwyz") for _ in range(rng.randint(3, 11)))
                  for _ in range(20_000)]  # fmt: skip
    surnames = ["Przybylski", "Nowak", "Kowalska", "Smith", "Jones", "Taylor", "Patel"]

    def page() -> str:
        words = [rng.choice(vocabulary) if rng.random() < 0.9 else rng.choice(surnames)
                 for _ in range(300)]  # fmt: skip
        return " ".join(words)[:2000]

    docs = {
        f"D-{n:06d}": ("other", None, f"2026-01-{1 + n % 28:02d}T10:00:00+00:00", [page(), page()])
        for n in range(1000)
    }
    catalog = _catalog(docs)
    for query in ("Przybylski", "Przybylsky", "Przybylsk", "Anna Przybylski", "NT26P0O412"):
        best = min(_timed(lambda q=query: search(catalog, q)) for _ in range(3))  # type: ignore[misc]
        assert best < 0.25, (query, best)


def _timed(run) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    run()
    return time.perf_counter() - start
