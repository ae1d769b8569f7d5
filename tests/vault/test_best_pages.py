"""The best pages of frequent words and pairs (``vault.best_pages``) make a
search faster and never change what it finds: on a generated catalog, with
the thresholds made small so that most words get a list, every search gives
what ranking every page gave (tests/bench/search_before.py), after the lists
are made, and after documents are added, edited and removed, and the mean
page length drifts, before they are made again."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bench import search_before
from tests.generate import build_catalog, documents
from tests.letters import add_letter
from vault import best_pages, catalog_db
from vault import search as searching
from vault.catalog import Catalog
from vault.manifest import Manifest

QUERIES = (
    "the", "and", "contact", "hearing", "Saturday", "supervis", "centr", "family court",
    "contact centre", "supervised contact", "next hearing", "Przybylśki", "Nowek",
    "NT26P00412", "court order", "the child",
)  # fmt: skip
LIMITS = (1, 3, 5, 12)


@pytest.fixture(autouse=True)
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thresholds for a catalog of a few hundred pages."""
    monkeypatch.setattr(best_pages, "FREQUENT", 40)
    monkeypatch.setattr(best_pages, "MIN_KEEP", 8)
    monkeypatch.setattr(best_pages, "MAX_KEEP", 96)
    monkeypatch.setattr(best_pages, "DOCUMENTS", 8)
    monkeypatch.setattr(best_pages, "SAMPLE", 300)


@pytest.fixture
def full_ranks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Notes every search that ranked every page of its phrases."""
    calls: list[str] = []
    real = searching._best_pages_sql

    def noted(conn: object, match: str, filters: searching._Filters) -> str:
        calls.append(match)
        return real(conn, match, filters)  # type: ignore[arg-type]

    monkeypatch.setattr(searching, "_best_pages_sql", noted)
    return calls


def made(count: int = 200) -> Catalog:
    """A generated catalog with its lists made, as a save leaves it."""
    catalog = build_catalog(count)
    best_pages.refresh(catalog.conn)
    catalog.conn.commit()
    return catalog


def same_everywhere(catalog: Catalog) -> None:
    for query in QUERIES:
        for limit in LIMITS:
            for options in ({}, {"fuzzy": False}, {"doc_type": "court-order"}):
                found = searching.search(catalog, query, limit=limit, **options)
                expected = search_before.search(catalog, query, limit=limit, **options)
                assert found == expected, (query, limit, options)


def lists(catalog: Catalog) -> dict[str, tuple[int, int]]:
    """phrase -> (floor page, pages kept)."""
    return {
        phrase: (floor, kept)
        for phrase, floor, kept in catalog.conn.execute(
            "SELECT l.phrase, l.floor, count(p.page) FROM best_lists l"
            " LEFT JOIN best_pages p ON p.list = l.id GROUP BY l.id"
        )
    }


def _edited(doc: Manifest) -> Manifest:
    return dataclasses.replace(doc, text=[f"{page} the contact hearing" for page in doc.text])


def _generated(start: int, count: int) -> Iterator[Manifest]:
    for doc in documents(start + count, start=start):
        yield doc.manifest()


def test_the_lists_hold_frequent_words_and_pairs_and_their_best_pages() -> None:
    catalog = made()
    found = lists(catalog)
    assert {"the", "contact", "hearing"} <= set(found)
    assert any(" " in phrase for phrase in found)  # pairs too
    assert all(kept >= best_pages.MIN_KEEP for _, kept in found.values())
    assert catalog.conn.execute("SELECT count(*) FROM best_made").fetchone() == (1,)
    # the floor is ranked right below the pages kept
    floor, kept = found["contact"]
    ranked = [
        rowid
        for (rowid,) in catalog.conn.execute(
            "SELECT rowid FROM word_index WHERE word_index MATCH 'contact'"
            " ORDER BY bm25(word_index), rowid"
        )
    ]
    listed = {
        page
        for (page,) in catalog.conn.execute(
            "SELECT page FROM best_pages JOIN best_lists ON id = list WHERE phrase = 'contact'"
        )
    }
    assert floor not in listed
    assert ranked.index(floor) >= kept - 1
    assert all(ranked.index(page) <= ranked.index(floor) + 2 for page in listed)


def test_a_search_with_the_lists_finds_what_ranking_every_page_found(
    full_ranks: list[str],
) -> None:
    catalog = made()
    same_everywhere(catalog)
    full_ranks.clear()
    for query in ("the", "contact", "hearing", "family court", "supervis"):
        searching.search(catalog, query, limit=3)
    # every one answered from the lists; "supervis" itself is on no page
    # (its longer words are: "supervised" OR "supervision" OR ...)
    assert full_ranks == ['"supervis"']


def test_without_lists_a_search_ranks_every_page(full_ranks: list[str]) -> None:
    catalog = build_catalog(200)
    searching.search(catalog, "contact", limit=3)
    assert full_ranks == ['"contact"']


def test_documents_added_edited_and_removed_since_change_nothing_found() -> None:
    catalog = made()
    for manifest in _generated(200, 30):
        catalog.add(manifest, f"added-{manifest.doc_id}")
    first = [m for m in _generated(0, 20)]
    for manifest in first[:10]:
        catalog.add(_edited(manifest), f"edited-{manifest.doc_id}")
    for manifest in first[10:]:
        catalog.remove(manifest.doc_id)
    # and the documents holding the floors of the busiest words
    for phrase in ("the", "contact"):
        floor = lists(catalog)[phrase][0]
        row = catalog.conn.execute("SELECT doc_id FROM page_keys WHERE id = ?", (floor,)).fetchone()
        if row:
            catalog.remove(row[0])
    catalog.conn.commit()
    same_everywhere(catalog)


def test_a_drifting_mean_page_length_changes_nothing_found() -> None:
    catalog = made()
    before = best_pages.mean_length(catalog.conn)
    for manifest in _generated(200, 15):  # much longer pages
        catalog.add(dataclasses.replace(manifest, text=[" ".join(manifest.text) * 6]), "long")
    catalog.conn.commit()
    after = best_pages.mean_length(catalog.conn)
    assert before is not None and after is not None and after > before * 1.05
    same_everywhere(catalog)


def test_page_ids_are_never_given_twice() -> None:
    catalog = made()
    (top,) = catalog.conn.execute("SELECT max(id) FROM page_keys").fetchone()
    last = catalog.conn.execute("SELECT doc_id FROM page_keys WHERE id = ?", (top,)).fetchone()[0]
    catalog.remove(last)
    manifest = next(_generated(500, 1))
    catalog.add(manifest, "new")
    (lowest,) = catalog.conn.execute(
        "SELECT min(id) FROM page_keys WHERE doc_id = ?", (manifest.doc_id,)
    ).fetchone()
    assert lowest > top


def test_the_mean_length_is_fts5s_words_over_pages() -> None:
    catalog = build_catalog(60)
    texts = [text for (text,) in catalog.conn.execute("SELECT text FROM word_index")]
    expected = sum(len(text.split()) for text in texts) / len(texts)
    assert best_pages.mean_length(catalog.conn) == pytest.approx(expected, rel=1e-12)


def test_lists_are_made_again_when_due() -> None:
    catalog = made()
    first = catalog.conn.execute("SELECT watermark, pages FROM best_made").fetchone()
    # a floor gone: that list alone is made again
    floor = lists(catalog)["contact"][0]
    doc = catalog.conn.execute("SELECT doc_id FROM page_keys WHERE id = ?", (floor,)).fetchone()[0]
    catalog.remove(doc)
    best_pages.refresh(catalog.conn)
    assert lists(catalog)["contact"][0] != floor
    assert catalog.conn.execute("SELECT watermark, pages FROM best_made").fetchone() == first
    # a quarter more pages: all of them
    for manifest in _generated(200, 60):
        catalog.add(manifest, "more")
    best_pages.refresh(catalog.conn)
    watermark, pages = catalog.conn.execute("SELECT watermark, pages FROM best_made").fetchone()
    assert watermark > first[0] and pages > first[1]


def test_a_small_catalog_has_no_lists() -> None:
    catalog = build_catalog(10)
    best_pages.refresh(catalog.conn)
    assert lists(catalog) == {}
    assert best_pages.candidates(catalog.conn, ["the"], '"the"') is None


def test_a_save_makes_the_lists_on_an_encrypted_catalog(tmp_path: Path) -> None:
    catalog = Catalog.opened(catalog_db.open_database(tmp_path / "catalog.db", b"k" * 32))
    for manifest in _generated(0, 120):
        catalog.add(manifest, f"m-{manifest.doc_id}")
    catalog.mark_saved(1)
    assert "contact" in lists(catalog)
    same = searching.search(catalog, "contact", limit=3)
    assert same == search_before.search(catalog, "contact", limit=3)


def test_groups_of_phrases_whose_floors_add_up() -> None:
    groups, bound = best_pages._groups({"a": 2.0, "b": 1.5, "c": 0.1}, 3.0)
    assert groups == [("a", "b")]
    assert bound == pytest.approx(2.1)  # a and c together
    groups, bound = best_pages._groups({"a": 2.0, "b": 1.5}, 5.0)
    assert groups == []
    assert bound == pytest.approx(3.5)


def _page(words: list[str]) -> str:
    return " ".join(words)


def test_a_longer_mean_length_is_allowed_for_in_the_bound() -> None:
    """Long pages gain on short ones as the mean length grows, so a page
    below the floor when the lists were made can rise above it: the bound
    allows for it (the drift), and the results stay what they were."""
    import random

    rng = random.Random(7)
    catalog = Catalog.new()
    filler = [f"word{n}" for n in range(50)]
    for n in range(160):
        length = rng.choice([4, 8, 16, 64, 128])
        hits = rng.randint(1, max(1, length // 4))
        words = ["alpha"] * hits + rng.choices(filler, k=length - hits)
        rng.shuffle(words)
        add_letter(
            catalog, f"D-A{n:04}", f"2026-01-01T00:{n // 60:02}:{n % 60:02}+00:00", [_page(words)]
        )
    best_pages.refresh(catalog.conn)
    assert "alpha" in lists(catalog)
    for n in range(120):  # pages of 400 words without it: the mean length grows
        add_letter(
            catalog, f"D-B{n:04}", "2026-02-01T00:00:00+00:00", [_page(rng.choices(filler, k=400))]
        )
    catalog.conn.commit()
    for limit in range(1, 40):
        found = searching.search(catalog, "alpha", limit=limit)
        assert found == search_before.search(catalog, "alpha", limit=limit), limit


# --- found by trying to break them -------------------------------------------------


def _one_page(catalog: Catalog, doc_id: str, text: str, minute: int) -> None:
    add_letter(catalog, doc_id, f"2026-01-01T{minute // 60:02}:{minute % 60:02}:00+00:00", [text])


def _alphas(count: int, length: int, salt: int) -> str:
    return " ".join(["alpha"] * count + [f"f{(salt * 7 + i) % 50}" for i in range(length - count)])


def _same_alpha(catalog: Catalog, limits: range) -> None:
    for limit in limits:
        found = searching.search(catalog, "alpha", limit=limit)
        assert found == search_before.search(catalog, "alpha", limit=limit), limit


def test_a_list_made_again_alone_allows_for_the_drift_since_it_was_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A list made again alone (its floor's document removed) is made at the
    mean length of that moment: its drift counts from there, not from when
    all the lists were made. Here the mean goes back to where it was when
    all were made, and a short page left out of the list made again beats
    its long floor."""
    monkeypatch.setattr(best_pages, "FREQUENT", 10)
    catalog = Catalog.new()
    for n in range(8):
        _one_page(catalog, f"T{n}", _alphas(5, 5, n), n)  # the best 8
    _one_page(catalog, "G", _alphas(2, 2, 8), 10)  # the floor when all are made
    _one_page(catalog, "F", _alphas(12, 427, 9), 11)  # long, alpha 12 times
    _one_page(catalog, "E", _alphas(1, 5, 10), 50)  # short, alpha once
    for n in range(20):
        _one_page(catalog, f"L{n}", _alphas(1, 200, n), 12 + n)
    for n in range(169):  # no alpha: the mean length is 100
        _one_page(catalog, f"P{n:03}", _alphas(0, 92 if n < 168 else 70, n), 100 + n)
    catalog.mark_saved(1)
    catalog.remove("G")
    _one_page(catalog, "P1", _alphas(0, 22, 1), 400)  # the mean: 100.1
    catalog.mark_saved(2)  # the list of alpha alone made again: its floor is F
    (floor,) = catalog.conn.execute(
        "SELECT floor FROM best_lists WHERE phrase = 'alpha'"
    ).fetchone()
    doc = catalog.conn.execute("SELECT doc_id FROM page_keys WHERE id = ?", (floor,)).fetchone()
    assert doc == ("F",)
    catalog.remove("P1")
    _one_page(catalog, "N", _alphas(1, 5, 10), 20)  # E's page, received before E
    _one_page(catalog, "P2", _alphas(0, 97, 2), 401)  # the mean back to 100
    catalog.mark_saved(3)
    _same_alpha(catalog, range(1, 20))


def test_a_page_a_list_names_is_never_another_page() -> None:
    """A list made again alone may take as its floor a page newer than when
    all were made; removing or editing its document before the next save
    must not give that page's id to another page."""
    import random

    rng = random.Random(1)
    filler = [f"w{n}" for n in range(40)]
    catalog = Catalog.new()
    for n in range(120):  # "alpha" n % 7 + 1 times in 30 + n words: no ties
        words = ["alpha"] * (n % 7 + 1) + rng.choices(filler, k=30 + n - (n % 7 + 1))
        rng.shuffle(words)
        _one_page(catalog, f"D{n:03}", " ".join(words), n)
    catalog.mark_saved(1)
    (watermark,) = catalog.conn.execute("SELECT watermark FROM best_made").fetchone()
    (floor,) = catalog.conn.execute(
        "SELECT floor FROM best_lists WHERE phrase = 'alpha'"
    ).fetchone()
    doc, text = catalog.conn.execute(
        "SELECT k.doc_id, w.text FROM page_keys k JOIN word_index w ON w.rowid = k.id"
        " WHERE k.id = ?",
        (floor,),
    ).fetchone()
    _one_page(catalog, "X", text, 200)  # a copy of the floor's page comes in, the floor goes
    catalog.remove(doc)
    catalog.mark_saved(2)  # the list of "alpha" made again alone
    (floor,) = catalog.conn.execute(
        "SELECT floor FROM best_lists WHERE phrase = 'alpha'"
    ).fetchone()
    assert floor > watermark
    _one_page(catalog, "X", "alpha " + " ".join(rng.choices(filler, k=149)), 200)  # X edited
    _one_page(catalog, "Z", catalog.pages("D060")[0], 201)
    assert catalog.conn.execute("SELECT 1 FROM page_keys WHERE id = ?", (floor,)).fetchone() is None
    _same_alpha(catalog, range(1, 61))


def test_a_catalog_from_before_the_lists_read_only_is_searched_without_them(
    tmp_path: Path,
) -> None:
    path, key = tmp_path / "catalog.db", b"k" * 32
    catalog = Catalog.opened(catalog_db.open_database(path, key))
    for manifest in _generated(0, 30):
        catalog.add(manifest, f"m-{manifest.doc_id}")
    for table in ("best_pages", "best_lists", "best_made"):  # as an older catalog is
        catalog.conn.execute(f"DROP TABLE {table}")
    catalog.conn.commit()
    catalog.conn.close()
    old = Catalog.opened(catalog_db.open_database(path, key, read_only=True))
    assert (
        old.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'best_made'").fetchone() is None
    )
    assert searching.search(old, "contact", limit=3) == search_before.search(
        old, "contact", limit=3
    )


def test_pages_without_words_leave_no_mean_length_to_divide_by(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalog = made()
    add_letter(catalog, "D-BLANK1", "2026-01-01T00:00:00+00:00", [""])
    catalog.mark_saved(1)
    for manifest in _generated(0, 200):
        catalog.remove(manifest.doc_id)
    assert best_pages.mean_length(catalog.conn) is None
    assert searching.search(catalog, "contact") == []
    catalog.mark_saved(2)
    assert lists(catalog) == {}
    # blank scans only, as many as make lists: none made, and saves go on
    monkeypatch.setattr(best_pages, "FREQUENT", 64)
    blank = Catalog.new()
    add_letter(blank, "D-BLANK2", "2026-01-01T00:00:00+00:00", [""] * 64)
    blank.mark_saved(1)
    add_letter(blank, "D-LETTER", "2026-01-02T00:00:00+00:00", ["the contact centre"])
    blank.mark_saved(2)
    assert [hit.id for hit in searching.search(blank, "contact")] == ["D-LETTER"]
