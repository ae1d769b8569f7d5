"""Commands that make a vault and look after its keys: init, passwd, emergency-sheet."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.common import (
    UnlockSpec,
    get_passphrase,
    passphrase_options,
    unlock_options,
    unlocked,
)
from vault.errors import UsageError

if TYPE_CHECKING:
    from vault.keys import NewKeys

DEFAULT_SHEET = Path("vault-emergency-sheet.pdf")


@click.command()
@click.option(
    "--emergency-sheet",
    "sheet",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_SHEET,
    show_default=True,
    help="Where to write the emergency sheet PDF (print it, then delete the file).",
)
@click.option("--centre-name", help="The centre's name, printed on the emergency sheet.")
@passphrase_options
@click.pass_obj
def init(root: Path, sheet: Path, centre_name: str | None, passphrase_file: Path | None) -> None:
    """Create a new vault, its keys and the emergency sheet.

    You choose the coordinator's passphrase (at least 8 characters, with at
    least two of upper case, lower case and digits). A second, emergency key
    is printed on the emergency sheet PDF and is stored nowhere else: print
    it, seal it in an envelope and give it to a committee member.

    \b
    Example:
        vault init --emergency-sheet ~/Desktop/emergency-sheet.pdf
    """
    from vault.passphrase_policy import check_passphrase
    from vault.repository import Vault

    sheet = sheet.expanduser().absolute()
    if sheet.exists():
        raise UsageError(
            f"{sheet} already exists",
            hint="an old emergency sheet must not be overwritten; choose another --emergency-sheet",
        )
    if not sheet.parent.is_dir():
        raise UsageError(f"folder {sheet.parent} does not exist (for --emergency-sheet)")
    passphrase = get_passphrase(passphrase_file, confirm=True, prompt="Choose a passphrase")
    check_passphrase(passphrase)

    from vault.emergency_sheet import write_emergency_sheet  # fpdf2 is slow to import

    def deliver(keys: NewKeys, config: dict[str, Any]) -> None:
        write_emergency_sheet(
            sheet,
            secret_key=keys.emergency_secret,
            vault_id=str(config["vault_id"]),
            centre_name=centre_name,
            created=datetime.fromisoformat(str(config["created"])),
        )

    vault = Vault.create(root, passphrase, centre_name=centre_name, deliver_emergency_key=deliver)
    click.echo(f"Created the vault {vault.vault_id} in {root}")
    click.echo("")
    click.echo(f"The emergency sheet is at {sheet}")
    click.echo("What to do with it now:")
    click.echo("  1. Print it. Then delete the PDF file (and empty the bin).")
    click.echo("  2. Put the printed sheet in an envelope and seal it.")
    click.echo("  3. A committee member signs across the flap; tape over the signature.")
    click.echo("  4. A management committee member keeps it. Any opening is recorded")
    click.echo("     in the committee minutes, with the reason.")
    click.echo("The emergency key opens everything in the vault if the passphrase is lost.")


@click.command()
@unlock_options
@click.option(
    "--new-passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the new passphrase from this file. Or set VAULT_NEW_PASSPHRASE.",
)
@click.pass_obj
def passwd(root: Path, unlock: UnlockSpec, new_passphrase_file: Path | None) -> None:
    """Change the coordinator's passphrase.

    Only the key file is re-encrypted; documents are untouched, so this is
    quick. The emergency key keeps working. If the passphrase is forgotten,
    unlock with the emergency key (--emergency-key, --reason) to set a new one.

    \b
    Example:
        vault passwd
    """
    with unlocked(root, unlock) as vault:
        new = get_passphrase(
            new_passphrase_file, env="VAULT_NEW_PASSPHRASE", confirm=True, prompt="New passphrase"
        )
        vault.change_passphrase(new)
    click.echo("Passphrase changed.")


@click.command(name="emergency-sheet")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the new emergency sheet PDF (print it, then delete the file).",
)
@unlock_options
@click.pass_obj
def emergency_sheet(root: Path, out: Path, unlock: UnlockSpec) -> None:
    """Print a new emergency sheet; the old sheet's key stops working.

    After the emergency key was used (or the sealed envelope was found
    opened): a new emergency key is made and printed on a new sheet, and the
    vault's key is re-wrapped to it. The old key stops opening this vault at
    once, and its backups at the next 'vault sync'. The data key itself does
    not change: whoever read the old sheet could have copied it; only a key
    rotation removes that risk.

    \b
    Example:
        vault emergency-sheet --out ~/Desktop/new-emergency-sheet.pdf
    """
    from vault.emergency_sheet import write_emergency_sheet  # fpdf2 is slow to import
    from vault.keys import new_emergency_key

    out = out.expanduser().absolute()
    if out.exists():
        raise UsageError(f"{out} already exists", hint="choose another --out")
    if not out.parent.is_dir():
        raise UsageError(f"folder {out.parent} does not exist (for --out)")
    with unlocked(root, unlock) as vault:
        key = vault.key
        assert key is not None
        config = vault.config

        def deliver(secret: str) -> None:
            write_emergency_sheet(
                out,
                secret_key=secret,
                vault_id=vault.vault_id,
                centre_name=config.get("centre_name"),
                created=datetime.fromisoformat(str(config["created"])),
            )

        new_emergency_key(vault.key_paths, key, deliver)
        vault.audit.append("emergency-sheet")
    click.echo(f"The new emergency sheet is at {out}")
    click.echo("  1. Print it, then delete the PDF file (and empty the bin).")
    click.echo("  2. Seal it in an envelope for the committee, as before; destroy the old sheet.")
    click.echo("  3. Run 'vault sync' so the backups take the new key too.")
