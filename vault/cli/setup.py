"""Commands that make a vault and look after its keys: init, passwd, emergency-sheet."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.common import (
    UnlockSpec,
    available_passphrase,
    new_passphrase_option,
    passphrase_options,
    unlock_options,
    unlocked,
)
from vault.errors import StorageError, UsageError, WeakPassphraseError
from vault.sealing import RENEW_COMMAND, SEALING_STEPS, VALIDITY

if TYPE_CHECKING:
    from collections.abc import Callable

    from vault.keys import NewKeys
    from vault.repository import Vault

SHEET_NAME = "vault-emergency-sheet"
TRIES = 3  # chances to choose an acceptable passphrase at a terminal
CENTRE_NAME_MAX = 80


@click.command()
@click.option(
    "--emergency-sheet",
    "sheet",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the emergency sheet PDF (print it, then delete the file). "
    "Default: vault-emergency-sheet.pdf on the Desktop, or in your home folder "
    "when there is no Desktop folder.",
)
@click.option(
    "--centre-name",
    help="The centre's name, printed on the emergency sheet and the committee report "
    "(asked for on a terminal when not given).",
)
@passphrase_options
@click.pass_obj
def init(
    root: Path, sheet: Path | None, centre_name: str | None, passphrase_file: Path | None
) -> None:
    """Create a new vault, its keys and the emergency sheet.

    Everything that can be checked is checked before anything is asked: that
    there is no vault here yet, and that the folders can be written. Then you
    choose the coordinator's passphrase (the rules are shown first; three
    tries) and give the centre's name. A second, emergency key is printed on
    the emergency sheet PDF and is stored nowhere else: print it, seal it in
    an envelope as the centre's policy says, and give it to a committee
    member.

    \b
    Example:
        vault init
        vault init --centre-name "Riverside Contact Centre" --emergency-sheet ~/sheet.pdf
    """
    from vault.repository import Vault, check_new_vault_folder

    check_new_vault_folder(root)
    _check_writable(_existing_ancestor(root), "the vault folder", "--vault DIR")
    sheet = _sheet_path(sheet)
    if centre_name is not None:
        centre_name = _centre_name(centre_name)
    _warn_if_no_tesseract()
    terminal = sys.stdin.isatty()
    passphrase = choose_passphrase(passphrase_file, prompt="Choose a passphrase")
    if centre_name is None and terminal:
        centre_name = click.prompt(
            "The centre's name (printed on the emergency sheet and the committee report)",
            err=True,
            value_proc=_centre_name,
        )

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
    named = f" for {centre_name}" if centre_name else ""
    click.echo(f"Created the vault {vault.vault_id}{named} in {root}")
    click.echo("")
    click.echo(f"The emergency sheet is at {sheet}")
    if terminal:
        _after_printing(sheet)
    else:
        click.echo("Print it now; delete the PDF only once the sheet has printed clearly.")
    _sealing_steps()
    command = _vault_command(root)
    click.echo("")
    click.echo("Next: set up a backup (a folder on a USB disk, or a cloud remote), then back up:")
    click.echo(f"  {command} remote add usb /media/usb-disk/vault-backup --create")
    click.echo(f"  {command} sync")
    click.echo("Write where the backups are on the sheet's 'Backups are kept at' line.")


def choose_passphrase(
    passphrase_file: Path | None, *, env: str = "VAULT_PASSPHRASE", prompt: str
) -> str:
    """A new passphrase that meets the policy: from the file or ``env`` (checked
    once), or at a terminal, with the rules shown first and three tries."""
    from vault.passphrase_policy import RULES, check_passphrase

    given = available_passphrase(passphrase_file, env)
    if given is not None:
        check_passphrase(given)
        return given
    if not sys.stdin.isatty():
        raise UsageError(
            f"no {prompt.lower()} given",
            hint=f"type it on a terminal, or set {env}, or give it in a file",
        )
    click.echo(RULES, err=True)
    refusal = UsageError("no passphrase was chosen")
    for attempt in range(1, TRIES + 1):
        value: str = click.prompt(prompt, hide_input=True, err=True)
        try:
            check_passphrase(value)
        except WeakPassphraseError as error:
            refusal = error
        else:
            again: str = click.prompt("Type it again", hide_input=True, err=True)
            if again == value:
                return value
            refusal = UsageError("the two passphrases typed were not the same")
        if attempt < TRIES:
            click.echo(f"vault: {refusal.message}; try again ({attempt + 1} of {TRIES})", err=True)
    raise UsageError(
        f"{refusal.message} (no passphrase chosen after {TRIES} tries)",
        hint="run the command again; "
        + (refusal.hint or "the rules are shown before the first prompt"),
    )


def _after_printing(sheet: Path) -> None:
    """At a terminal: ask whether the sheet printed before saying to delete it."""
    click.echo("Print it now (open it in a PDF viewer and print it).")
    printed = click.confirm(
        "Has it printed, with the key and the QR code clear?", default=False, err=True
    )
    if printed:
        if click.confirm("Delete the PDF file now?", default=True, err=True):
            sheet.unlink(missing_ok=True)
            click.echo(f"Deleted {sheet}. If you copied it anywhere, delete that copy too.")
        else:
            click.echo(f"Delete {sheet} yourself once the sheet is sealed (and empty the bin).")
        return
    click.echo(f"Keep the PDF for now, and print it again from {sheet}.")
    click.echo("If the PDF is lost before the sheet has printed, make a new emergency key")
    click.echo(f"(the one in this PDF then stops working): {RENEW_COMMAND}")
    click.echo("Delete the PDF once the sheet has printed clearly.")


def _sealing_steps() -> None:
    click.echo("")
    click.echo("What to do with the sheet (the centre's policy):")
    for number, step in enumerate(SEALING_STEPS, start=1):
        text = step.removesuffix(RENEW_COMMAND)
        lines = textwrap.wrap(text, width=74, break_on_hyphens=False)
        if text != step:
            lines.append(f"  {RENEW_COMMAND}")  # on a line of its own, as on the sheet
        click.echo(f"  {number}. " + f"\n{'':5}".join(lines))
    click.echo("")
    click.echo(textwrap.fill("The key on the sheet opens everything in the vault. " + VALIDITY, 78))


def _sheet_path(given: Path | None) -> Path:
    """Where the sheet goes, checked before anything is asked."""
    if given is None:
        return _free_name(_default_sheet_folder())
    sheet = given.expanduser().absolute()
    if sheet.exists():
        raise UsageError(
            f"{sheet} already exists",
            hint="an old emergency sheet must not be overwritten; choose another --emergency-sheet",
        )
    if not sheet.parent.is_dir():
        raise UsageError(
            f"folder {sheet.parent} does not exist (for --emergency-sheet)",
            hint=f"give a folder that exists, or leave --emergency-sheet out to put the "
            f"sheet in {_default_sheet_folder()}",
        )
    _check_writable(sheet.parent, "the emergency sheet's folder", "--emergency-sheet FILE.pdf")
    return sheet


def _default_sheet_folder() -> Path:
    """The Desktop (the name the desktop uses, e.g. XDG_DESKTOP_DIR), else home."""
    home = Path.home()
    for folder in (_xdg_desktop(home), home / "Desktop"):
        if folder is not None and folder.is_dir() and os.access(folder, os.W_OK):
            return folder
    _check_writable(home, "your home folder", "--emergency-sheet FILE.pdf")
    return home


def _xdg_desktop(home: Path) -> Path | None:
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "user-dirs.dirs"
    try:
        text = config.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in text.splitlines():
        name, _, value = line.partition("=")
        if name.strip() == "XDG_DESKTOP_DIR":
            value = value.strip().strip('"').replace("$HOME", str(home))
            return Path(value) if value else None
    return None


def _free_name(folder: Path) -> Path:
    """vault-emergency-sheet.pdf in ``folder``, or -2, -3 ... if taken."""
    candidate = folder / f"{SHEET_NAME}.pdf"
    number = 2
    while candidate.exists():
        candidate = folder / f"{SHEET_NAME}-{number}.pdf"
        number += 1
    return candidate


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_writable(folder: Path, what: str, option: str) -> None:
    if not folder.is_dir():
        raise UsageError(
            f"{folder} is a file, not a folder ({what})", hint=f"choose another with {option}"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StorageError(
            f"cannot write in {folder} ({what}): no permission, or a read-only disk",
            hint=f"choose a folder you can write to with {option}",
        )


def _centre_name(value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise UsageError("the centre's name is empty")
    if len(name) > CENTRE_NAME_MAX or not name.isprintable():
        raise UsageError(
            f"the centre's name must be printable and at most {CENTRE_NAME_MAX} characters"
        )
    return name


def _warn_if_no_tesseract() -> None:
    if shutil.which("tesseract") is None:
        click.echo(
            "vault: warning: tesseract is not installed, so scans cannot be read until it is "
            "(scripts/setup installs it)",
            err=True,
        )


def _vault_command(root: Path) -> str:
    """``vault``, with ``--vault DIR`` when the vault is not in the default place."""
    from vault.paths import default_vault_dir

    if root.expanduser().absolute() == default_vault_dir().absolute():
        return "vault"
    return f"vault --vault {shlex.quote(str(root))}"


@click.command()
@unlock_options
@new_passphrase_option("the new passphrase")
@click.pass_obj
def passwd(root: Path, unlock: UnlockSpec, new_passphrase_file: Path | None) -> None:
    """Change the passphrase of the key you unlock with.

    The key whose passphrase you type (the coordinator's, or a personal key
    added with 'vault key add') gets the new one; the output names it. After
    the emergency key, the coordinator's key gets it. Only that key file is
    re-encrypted; documents are untouched, so this is
    quick. The emergency key keeps working. The new passphrase follows the
    same rules as at 'vault init' (shown before it is asked for; three
    tries). If the passphrase is forgotten, unlock with the emergency key
    (--emergency-key, --reason) to set a new one.

    \b
    Example:
        vault passwd
    """
    _refuse_during_rotation(root, "a new passphrase")  # before asking anything
    with unlocked(root, unlock, agent=False) as vault:  # asks, even when unlocked
        _refuse_during_rotation(root, "a new passphrase")  # begun while this waited
        new = choose_passphrase(
            new_passphrase_file, env="VAULT_NEW_PASSPHRASE", prompt="New passphrase"
        )
        label = vault.change_passphrase(new)
    click.echo(f"Passphrase changed for the key '{label}'.")


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
    opened, or the sheet was lost or never printed): a new emergency key is
    made and printed on a new sheet, and the vault's key is re-wrapped to it.
    The old key stops opening this vault at once, and its backups at the
    next 'vault sync'. The data key itself does not change: whoever read the
    old sheet could have copied it; only a key rotation removes that risk.
    The sheet names the backup remotes (their kind and name).

    \b
    Example:
        vault emergency-sheet --out ~/Desktop/new-emergency-sheet.pdf
    """
    from vault.keys import new_emergency_key

    _refuse_during_rotation(root, "a new emergency sheet")  # before asking anything
    out = out.expanduser().absolute()
    if out.exists():
        raise UsageError(f"{out} already exists", hint="choose another --out")
    if not out.parent.is_dir():
        raise UsageError(f"folder {out.parent} does not exist (for --out)")
    _check_writable(out.parent, "the folder for --out", "--out FILE.pdf")
    with unlocked(root, unlock, agent=False) as vault:  # asks, even when unlocked
        _refuse_during_rotation(root, "a new emergency sheet")  # begun while this waited
        key = vault.key
        assert key is not None
        new_emergency_key(vault.key_paths, key, sheet_writer(vault, out))
        vault.audit.append("emergency-sheet")
    click.echo(f"The new emergency sheet is at {out}")
    if sys.stdin.isatty():
        _after_printing(out)
    else:
        click.echo("Print it now; delete the PDF only once the sheet has printed clearly.")
    _sealing_steps()
    click.echo("Shred the old sheet. Run 'vault sync' so the backups take the new key too.")


def _refuse_during_rotation(root: Path, what: str) -> None:
    """While a key rotation is under way its new keys are made already: a
    passphrase or sheet changed now would be lost at its switch. Checked
    before anything is asked, and again holding the vault lock: a rotation
    begun while the command waited for the lock has let it go by then."""
    from vault import rotation

    if rotation.read_state(root) is not None:
        raise UsageError(
            f"a key rotation is under way: {what} now would not outlast it",
            hint="finish it first ('vault rotate'); it sets a new passphrase and sheet itself",
        )


def sheet_writer(vault: Vault, out: Path) -> Callable[[str], None]:
    """What puts a new emergency key on a sheet at ``out`` (``vault
    emergency-sheet``, ``vault rotate``): the vault's id, the centre's name,
    the day the vault was made and its backups, as at ``vault init``."""
    from sync.remote_kinds import describe_remotes
    from vault.config import centre_name
    from vault.emergency_sheet import write_emergency_sheet  # fpdf2 is slow to import

    config = vault.config
    backups = describe_remotes(config)

    def deliver(secret: str) -> None:
        write_emergency_sheet(
            out,
            secret_key=secret,
            vault_id=vault.vault_id,
            centre_name=centre_name(config),
            created=datetime.fromisoformat(str(config["created"])),
            backups=backups,
        )

    return deliver
