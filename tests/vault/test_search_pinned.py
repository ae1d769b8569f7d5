"""The results of search, pinned: on a generated vault of a few hundred
documents, every query of the benchmark's set (every query class of issue 21,
with and without filters) and a few more gives exactly the hits it gave when
the fixture was written: the same documents in the same order, with the same
match kind, score, pages and snippet.

The fixture, tests/vault/data/search_pinned.json, was written by the search
as it was before it learnt to stop at the results shown. To write it again
(only when a change of results is meant): ``python -m
tests.vault.test_search_pinned --write``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.bench.bench_search import FILTERS, QUERY_CLASSES
from tests.generate import build_vault
from vault.catalog import Catalog
from vault.search import search

FIXTURE = Path(__file__).parent / "data" / "search_pinned.json"
DOCUMENTS = 300
PASSPHRASE = "Pinned Results 42"

# Beyond the benchmark's set: another type, a family, near spellings off,
# a limit that cuts inside a lower rank, words not side by side.
EXTRA: dict[str, dict[str, Any]] = {
    "letter": {"doc_type": "letter"},
    "family": {"family": "F-0412"},
    "since 2025": {"since": date(2025, 1, 1)},
    "exact only": {"fuzzy": False},
    "limit 3": {"limit": 3},
    "limit 100": {"limit": 100},
}
EXTRA_QUERIES = (
    "Nowak", "Przybylsky", "Przybyl", "the", "family court", "hearing Saturday",
    "contact centre Leeds", "NT26P0O412", "o'connor", "supervised contact",
    "Richardson", "Dąbrowsky", "Kowalczyk", "Saturday",
)  # fmt: skip


def cases() -> list[tuple[str, str, dict[str, Any]]]:
    """(query, label of its options, options) for every pinned search."""
    found = [
        (query, label, kwargs)
        for queries in QUERY_CLASSES.values()
        for query in queries
        for label, kwargs in FILTERS.items()
    ]
    found += [
        (query, label, kwargs)
        for query in EXTRA_QUERIES
        for label, kwargs in {"no filter": {}, **EXTRA}.items()
    ]
    return found


def results(catalog: Catalog) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for query, label, kwargs in cases():
        hits = search(catalog, query, **kwargs)
        out[f"{query} | {label}"] = [
            {
                "id": hit.id, "kind": hit.kind, "score": hit.score, "pages": list(hit.pages),
                "snippet": hit.snippet_text(),
            }
            for hit in hits
        ]  # fmt: skip
    return out


def generated_catalog(root: Path) -> Catalog:
    """The catalog of a new vault of the generated documents, as it was saved."""
    from vault.repository import Vault

    build_vault(root, DOCUMENTS, PASSPHRASE)
    vault = Vault.open(root)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        return vault.catalog


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return generated_catalog(tmp_path_factory.mktemp("pinned") / "vault")


def test_the_generated_vault_is_the_one_pinned(catalog: Catalog) -> None:
    pinned = json.loads(FIXTURE.read_text())
    assert catalog.count() == pinned["documents"]
    assert sorted(catalog.ids())[:5] == pinned["first ids"]


def test_search_results_are_the_pinned_ones(catalog: Catalog) -> None:
    pinned = json.loads(FIXTURE.read_text())["results"]
    found = results(catalog)
    assert found.keys() == pinned.keys()
    changed = [key for key in pinned if found[key] != pinned[key]]
    assert not changed, f"{len(changed)} searches changed, e.g. {changed[:3]}"


def test_the_pins_cover_every_rank_and_a_cut(catalog: Catalog) -> None:
    """A pin that never sees a rank, or never a list cut at the limit, pins nothing there."""
    pinned = json.loads(FIXTURE.read_text())["results"]
    kinds = {hit["kind"] for hits in pinned.values() for hit in hits}
    assert kinds == {"exact", "partial", "words", "fuzzy"}
    assert len(pinned["the | no filter"]) == 50
    mixed = [hits for hits in pinned.values() if len({hit["kind"] for hit in hits}) > 1]
    assert len(mixed) >= 5


def _dumps(data: dict[str, Any]) -> str:
    """JSON with one line per hit, so that a change shows as the lines it changes."""

    def line(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    searches = ",\n".join(
        f"  {line(key)}: [" + ",".join(f"\n   {line(hit)}" for hit in hits) + "]"
        for key, hits in sorted(data["results"].items())
    )
    head = {key: value for key, value in data.items() if key != "results"}
    return line(head)[:-1] + ', "results": {\n' + searches + "\n}}\n"


def write_fixture() -> None:
    with tempfile.TemporaryDirectory() as work:
        os.environ["XDG_STATE_HOME"] = str(Path(work) / "state")  # not the real anchors
        catalog = generated_catalog(Path(work) / "vault")
        data: dict[str, Any] = {
            "documents": catalog.count(),
            "first ids": sorted(catalog.ids())[:5],
            "results": results(catalog),
        }
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(_dumps(data))
    print(f"wrote {FIXTURE} ({len(data['results'])} searches)")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.vault.test_search_pinned --write")
    write_fixture()
