"""The ``separator-sheet`` command: printable sheets that split a batch scan."""

from __future__ import annotations

from pathlib import Path

import click

from vault.cli.common import DOC_TYPES
from vault.display import escaped


@click.command(name="separator-sheet")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The PDF to write (A4, to print).",
)
@click.option(
    "--type",
    "doc_type",
    type=click.Choice(DOC_TYPES),
    help="The kind of the document after the sheet (default: found from its text).",
)
@click.option(
    "--family",
    metavar="REF",
    help="The family reference of the document after the sheet: F- and digits, e.g. F-0042.",
)
@click.option(
    "--copies",
    type=click.IntRange(1, 500),
    default=1,
    show_default=True,
    help="How many pages of the same sheet.",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def separator_sheet(
    out: Path, doc_type: str | None, family: str | None, copies: int, force: bool
) -> None:
    """Make separator sheets to put between documents scanned in one go.

    Each A4 sheet has a large QR code and says in large words what it
    means: "Vault separator: the next document is a court order for family
    F-0042", or "next document" when no --type or --family is given. Put a
    sheet on top of each document and scan the pile as one file: 'vault
    ingest' and 'vault watch' store one document per part, leave the sheets
    out, and give the document after a sheet its type and family. The QR
    code holds only a short code of the vault's own, the type and the
    family reference (never a name). A sheet without details can be used
    again and again. Sheets holding the code PATCHT (of other scanning
    software) work as sheets without details.

    \b
    Example:
        vault separator-sheet --out sheets.pdf --copies 20
        vault separator-sheet --out order.pdf --type court-order --family F-0042
    """
    from vault import family as families
    from vault.outfile import check_destination
    from vault.separator_sheet import Sheet, meaning, write_separator_sheets

    out = out.expanduser()
    check_destination(out, force=force)
    sheet = Sheet(doc_type, families.normalise(family) if family is not None else None)
    write_separator_sheets(out, sheet, copies=copies)
    pages = f"{copies} sheet{'s' if copies != 1 else ''}"
    click.echo(f'Wrote {pages} to {escaped(out)}: "Vault separator: {meaning(sheet)}".')
    click.echo("Print them; put one on top of each document of a pile scanned in one go.")
