"""``vault retention``: the documents kept past their retention date."""

from __future__ import annotations

from pathlib import Path

import click

from vault.cli.common import UnlockSpec, json_option, print_json, unlock_options, unlocked
from vault.display import escaped


@click.command()
@json_option
@unlock_options
@click.pass_obj
def retention(root: Path, as_json: bool, unlock: UnlockSpec) -> None:
    """List the documents past their retention date, the oldest date first.

    A document's retention date is the day it was received plus the years
    its type is kept: 'retention_years' in the vault's config.json, the
    centre's decision (by default referral 7, court-order 7, letter 3,
    other 7). 'vault edit ID --retention YYYY-MM-DD' sets one document's
    date; a new --type gives its type's date. Shows the id, type, family
    reference and retention date of each (no names).

    \b
    Example:
        vault retention
        vault retention --json
    """
    from vault import retention as dates

    with unlocked(root, unlock, reading=True) as vault:
        dates.check_types(vault.config)
        rows = dates.due(vault.catalog.documents(), vault.config)
        config_years = {t: dates.years_for(t, vault.config) for t in dates.DEFAULT_YEARS}
    found = [
        {k: row.get(k) for k in ("id", "doc_type", "family", "retention", "received")}
        for row in rows
    ]
    if as_json:
        print_json(found)
        return
    if not found:
        kept = ", ".join(f"{t} {y} years" for t, y in config_years.items())
        click.echo(f"No document is past its retention date ({kept}).")
        return
    click.echo(f"{'ID':<10} {'TYPE':<12} {'FAMILY':<8} KEEP UNTIL")
    for row in found:
        cells = [escaped(row[k] or "-") for k in ("id", "doc_type", "family")]
        click.echo(f"{cells[0]:<10} {cells[1]:<12} {cells[2]:<8} {row['retention']}")
    if len(found) == 1:
        click.echo("1 document is past its retention date.", err=True)
    else:
        click.echo(f"{len(found)} documents are past their retention date.", err=True)
