"""Commands that correct records: edit."""

from __future__ import annotations

from pathlib import Path

import click

from vault.cli.common import DOC_TYPES, UnlockSpec, typed_text, unlock_options, unlocked
from vault.display import escaped
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
@click.option(
    "--family",
    metavar="REF",
    help="Pseudonymous family reference: F- and digits, e.g. F-0042 (never a name).",
)
@click.option("--no-family", is_flag=True, help="Remove the family reference.")
@click.option(
    "--field",
    "field_pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a field (e.g. case_number=NT26P00412); NAME= with no value removes it.",
)
@click.option(
    "--title",
    metavar="TEXT",
    help='The title shown by list, search and show; "" makes it from the content again.',
)
@click.option(
    "--retention",
    "keep_until",
    metavar="YYYY-MM-DD",
    help="Keep the document until this day (a new --type sets its type's date otherwise).",
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
    title: str | None,
    keep_until: str | None,
    unlock: UnlockSpec,
) -> None:
    """Correct a document's type, family, fields, title or retention date.

    A family reference is F- and digits (f42, F42 and F-42 are F-0042); a
    name is refused. A title made from the content follows a new type; a
    typed one is kept. A new type gives the retention date of its type
    (see 'vault retention'), unless --retention gives one or a date was
    set with --retention before. The stored
    original is never changed; the correction is recorded in the audit log.

    \b
    Example:
        vault edit D-7K3M9Q --type court-order --family F-0017
        vault edit D-7K3M9Q --field case_number=NT26P00412
        vault edit D-7K3M9Q --title "Court order — Family Court at Norwich — 3 Dec 2026"
        vault edit D-7K3M9Q --retention 2040-01-31
    """
    from vault import family as families

    if family is not None and no_family:
        raise UsageError("--family and --no-family cannot be used together")
    if family is not None:
        family = families.normalise(family)
    fields = _parse_fields(tuple(typed_text(p, "--field") or "" for p in field_pairs))
    title = typed_text(title, "--title")
    if keep_until is not None:
        from vault.retention import check_date

        try:
            keep_until = check_date(keep_until)
        except ValueError:
            raise UsageError(
                f"--retention {keep_until!r} is not a date", hint="give it as YYYY-MM-DD"
            ) from None
    with unlocked(root, unlock) as vault:
        row = vault.edit(
            doc_id,
            doc_type=doc_type,
            family=family,
            clear_family=no_family,
            fields=fields,
            title=title,
            keep_until=keep_until,
        )
    click.echo(
        escaped(
            f"{row['id']}: {row['title']} (type {row['doc_type']}, family {row['family'] or '-'})"
        ),
        err=True,
    )
