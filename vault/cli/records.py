"""Commands that correct records: edit."""

from __future__ import annotations

from pathlib import Path

import click

from vault.cli.common import DOC_TYPES, UnlockSpec, unlock_options, unlocked
from vault.errors import UsageError


def _parse_fields(pairs: tuple[str, ...]) -> dict[str, str | None]:
    fields: dict[str, str | None] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--field needs NAME=VALUE, got {pair!r}")
        fields[name.strip()] = value.strip() or None
    return fields


@click.command()
@click.argument("doc_id", metavar="ID")
@click.option("--type", "doc_type", type=click.Choice(DOC_TYPES), help="The kind of document.")
@click.option("--family", metavar="REF", help="Pseudonymous family reference, e.g. F-0042.")
@click.option("--no-family", is_flag=True, help="Remove the family reference.")
@click.option(
    "--field",
    "field_pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a field (e.g. case_number=NT26P00412); NAME= with no value removes it.",
)
@unlock_options
@click.pass_obj
def edit(
    root: Path,
    doc_id: str,
    doc_type: str | None,
    family: str | None,
    no_family: bool,
    field_pairs: tuple[str, ...],
    unlock: UnlockSpec,
) -> None:
    """Correct a document's type, family reference or fields.

    The stored original is never changed; the correction is recorded in the
    audit log.

    \b
    Example:
        vault edit D-7K3M9Q --type court-order --family F-0017
        vault edit D-7K3M9Q --field case_number=NT26P00412
    """
    if family is not None and no_family:
        raise UsageError("--family and --no-family cannot be used together")
    fields = _parse_fields(field_pairs)
    with unlocked(root, unlock) as vault:
        row = vault.edit(
            doc_id, doc_type=doc_type, family=family, clear_family=no_family, fields=fields
        )
    click.echo(f"{row['id']}: type {row['doc_type']}, family {row['family'] or '-'}", err=True)

