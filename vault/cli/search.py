"""The ``search`` command: parse the options, call ``vault.search.search``,
show the hits (or JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from vault.cli.common import (
    UnlockSpec,
    json_option,
    print_json,
    unlock_options,
    unlocked,
)
from vault.cli.filters import filter_options, read_filters

if TYPE_CHECKING:
    from vault.search import Hit
from vault.display import escaped


@click.command()
@click.argument("query", nargs=-1, required=True)
@filter_options
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Show at most this many documents.",
)
@click.option("--exact", is_flag=True, help="No near spellings: only the words as typed.")
@json_option
@unlock_options
@click.pass_obj
def search(
    root: Path,
    query: tuple[str, ...],
    doc_type: str | None,
    family: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    exact: bool,
    as_json: bool,
    unlock: UnlockSpec,
) -> None:
    """Search the text of the documents (OCR or embedded text).

    Finds whole words and phrases, parts of words ("Przybylsk"), and, below
    those, spellings an edit or two away, as scanning often leaves them
    ("Przybylsky", "NT26P0O412"). Case and accents do not matter. Documents
    come best first, each with its matching pages (the best first) and a
    line of text round the hit. --since and --until take days as the UK
    writes them (04/12/2026, 4 Dec 2026) or 2026-12-04; received dates are
    UTC days, as in 'vault list'.

    \b
    Example:
        vault search Przybylski
        vault search "court order" --type court-order --since 1/1/2026
        vault search contact --family F-0042
        vault search NT26P00412 --json
    """
    from vault.search import parse_query
    from vault.search import search as search_catalog

    parsed = parse_query(" ".join(query))
    filters = read_filters(doc_type, family, since, until)
    with unlocked(root, unlock, reading=True) as vault:
        hits = search_catalog(
            vault.catalog,
            parsed,
            **filters.as_kwargs(),
            limit=limit + 1,
            fuzzy=not exact,
        )
        # Snippets show document text, as 'show' does: record which documents
        # were shown (ids only, never the query, which is often a name).
        vault.audit.append("search", [hit.id for hit in hits[:limit]])
    more = len(hits) > limit
    hits = hits[:limit]
    if as_json:
        print_json([hit.as_dict() for hit in hits])
        return
    if not hits:
        click.echo("No documents match.", err=True)
        return
    for hit in hits:
        _show(hit)
    if more:
        click.echo(f"Showing the best {limit}; use --limit to see more.", err=True)


def _show(hit: Hit) -> None:
    pages = ", ".join(str(page) for page in hit.pages)
    note = "  (similar spelling)" if hit.kind == "fuzzy" else ""
    from vault.cli.describe import received_day

    cells = [escaped(v or "-") for v in (hit.id, received_day(hit.received), hit.family)]
    click.echo(
        f"{cells[0]:<10} {cells[1]:<11} {cells[2]:<8} {escaped(hit.title)}  p. {pages}{note}"
    )
    snippet = "".join(
        click.style(escaped(part.text), bold=True) if part.hit else escaped(part.text)
        for part in hit.snippet
    )
    click.echo(f"    {snippet}")
