"""Documents of given page text put straight into a catalog, for the tests
of search that need pages of exactly that text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vault.manifest import Manifest

if TYPE_CHECKING:
    from vault.catalog import Catalog


def add_letter(catalog: Catalog, doc_id: str, received: str, pages: list[str]) -> None:
    """A letter of these pages, received then (an ISO time), in ``catalog``."""
    manifest = Manifest(
        doc_id=doc_id, original="0" * 64, name=f"{doc_id}.pdf", media_type="application/pdf",
        size=1, received=received, pages=len(pages), doc_type="letter", text=pages,
    )  # fmt: skip
    catalog.add(manifest, f"manifest-{doc_id}")
