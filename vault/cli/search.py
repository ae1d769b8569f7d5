"""The ``search`` command: parse the options, call ``vault.search.search``,
show the hits (or JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from vault.cli.common import (
    DOC_TYPES,
    UnlockSpec,
    json_option,
    print_json,
    unlock_options,
    unlocked,
)

if TYPE_CHECKING:
    from vault.search import Hit
from vault.display import escaped


@click.command()
@click.argument("query", nargs=-1, required=True)
@click.option(
    "--type", "doc_type", type=click.Choice(DOC_TYPES), help="Only this kind of document."
)
@click.option("--family", metavar="REF", help="Only this family reference (exactly), e.g. F-0042.")
@click.option("--since", metavar="YYYY-MM-DD", help="Only documents received on or after this day.")
@click.option(
    "--until", metavar="YYYY-MM-DD", help="Only documents received on or before this day."
)
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
    line of text round the hit. Received dates are UTC days, as in
    'vault list'.

    \b
    Example:
        vault search Przybylski
        vault search "court order" --type court-order --since 2026-01-01
        vault search NT26P00412 --json
    """
    from vault.search import parse_date, parse_query
    from vault.search import search as search_catalog

    parsed = parse_query(" ".join(query))
    first = parse_date(since, "--since") if since is not None else None
    last = parse_date(until, "--until") if until is not None else None
    with unlocked(root, unlock, reading=True) as vault:
        hits = search_catalog(
            vault.catalog,
            parsed,
            doc_type=doc_type,
            family=family,
            since=first,
            until=last,
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
    cells = [escaped(v or "-") for v in (hit.id, hit.received, hit.doc_type, hit.family)]
    click.echo(
        f"{cells[0]:<10} {cells[1][:10]:<11} {cells[2]:<12} {cells[3]:<8} "
        f"{escaped(hit.name)}  p. {pages}{note}"
    )
    snippet = "".join(
        click.style(escaped(part.text), bold=True) if part.hit else escaped(part.text)
        for part in hit.snippet
    )
    click.echo(f"    {snippet}")
