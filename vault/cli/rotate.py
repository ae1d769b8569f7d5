"""``vault rotate``: a new key for the vault, every document encrypted again to it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vault.cli.common import (
    DocumentProgress,
    UnlockSpec,
    available_passphrase,
    new_passphrase_option,
    opened,
    read_secret_file,
    unlock_options,
    unlocked,
)
from vault.cli.setup import (
    _after_printing,
    _sealing_steps,
    _sheet_path,
    choose_passphrase,
    sheet_writer,
)
from vault.errors import UsageError, WrongKeyError

if TYPE_CHECKING:
    from vault.repository import Vault

TRIES = 3
LOCK_WAIT = 600.0  # seconds the switch waits for another command to finish


@click.command()
@unlock_options
@new_passphrase_option("the coordinator's new passphrase")
@click.option(
    "--emergency-sheet",
    "sheet",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the new emergency sheet PDF (print it, then delete the file). "
    "Default: vault-emergency-sheet.pdf on the Desktop, or in your home folder.",
)
@click.option(
    "--keep-key",
    "keep_keys",
    multiple=True,
    metavar="LABEL=FILE",
    help="Keep the personal key LABEL: its holder's passphrase is the first line of FILE. "
    "On a terminal each holder is asked instead. A personal key not kept is removed.",
)
@click.option(
    "--level",
    metavar="LEVEL",
    help="Give only this access level (e.g. session) a new key, and encrypt only its "
    "documents again (the vault's own key and every other document untouched).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.pass_obj
def rotate(
    root: Path,
    unlock: UnlockSpec,
    new_passphrase_file: Path | None,
    sheet: Path | None,
    keep_keys: tuple[str, ...],
    level: str | None,
    quiet: bool,
) -> None:
    """Make a new key for the vault and encrypt every document again to it.

    For when someone who could open the vault leaves (the coordinator, a
    deputy), or a key may have been copied. 'vault passwd' and 'vault key
    remove' only change who can unwrap the vault's key; after a rotation the
    old key opens nothing that is stored here or, after the next 'vault
    sync', in the backups.

    \b
    What it asks and makes:
      - your passphrase (any key of the vault, or the emergency key);
      - a new passphrase for the coordinator's key (the usual rules);
      - each personal key's passphrase, typed by its holder, to keep that
        key; a key not kept is removed (add it again later with
        'vault key add');
      - a new emergency sheet (print it, seal it, shred the old one:
        the old sheet's key stops working).

    Every document, the catalog and the key files are encrypted again; the
    vault can be read and post stored meanwhile. Ctrl-C, a crash or a power
    cut lose nothing: run 'vault rotate' again (with the old passphrase
    until the rotation has switched) to go on from where it stopped.
    Then run 'vault sync': it sends the new files, switches the backup,
    and only then deletes the old ones there. Nothing takes back what
    someone already copied or read.

    --level session gives only the session level a new key (its keyholders
    keep their passphrases) and encrypts only the documents granted to it
    again, under new file keys: for when a session key may have been
    copied ('vault key remove' of a session key does the same). Nothing is
    asked but a full key's passphrase.

    \b
    Example:
        vault rotate
        vault rotate --emergency-sheet ~/new-sheet.pdf --keep-key deputy=deputy.txt
        vault rotate --level session
    """
    from vault import agent_client, rotation

    if level is not None:
        if sheet is not None or keep_keys or new_passphrase_file is not None:
            raise UsageError(
                "--level gives an access level a new key: it takes no new passphrase, "
                "sheet or kept keys"
            )
        rotate_level(root, unlock, level)
        return

    given_keep = _parse_keep(keep_keys)
    before = rotation.read_state(root)
    if before is not None and before.phase == rotation.SWITCHING:
        click.echo(
            "The key rotation had begun switching to the new key: it is finished now, "
            "before anything else. From now on the NEW passphrase (or the new emergency "
            "key) opens the vault; there is no need to run 'vault rotate' again: run "
            "'vault sync'.",
            err=True,
        )
        # Finished as the lock is taken, with no key: the passphrase this
        # command was given to go on with (the old one) opens nothing now.
        with opened(root):
            pass
        if rotation.read_state(root) is None:
            agent_client.forget(root)  # a 'vault unlock' session held the old key
            click.echo("The key rotation is finished. Run 'vault sync' now.")
            return
    # After the emergency key, a rotation is what the usual next steps (a new
    # passphrase, a new sheet) would do, and more: the committee is told below.
    with unlocked(root, unlock, agent=False, next_steps=False) as vault:
        old = vault.unlocked_key()
        state = rotation.read_state(vault.root)
        if state is None and before is not None:
            click.echo("The key rotation is finished. Run 'vault sync' now.")
            return
        if state is None:
            path = _sheet_path(sheet)
            new_passphrase = choose_passphrase(
                new_passphrase_file,
                env="VAULT_NEW_PASSPHRASE",
                prompt="New passphrase for the coordinator's key",
            )
            _refuse_old_passphrase(vault, new_passphrase)
            keep = _kept(vault, unlock, given_keep)
            new = rotation.begin(vault, new_passphrase, keep, sheet_writer(vault, path))
            click.echo(f"The new emergency sheet is at {path}", err=True)
        else:
            path = None
            new = rotation.new_key(vault)
            click.echo(
                f"Going on with the key rotation begun {state.started[:16].replace('T', ' ')}.",
                err=True,
            )
        mover = rotation.hold_mover(vault)  # one 'vault rotate' at a time
        click.get_current_context().call_on_close(mover.release)
        progress = None if quiet or not sys.stderr.isatty() else DocumentProgress("rotate")
        todo = rotation.to_move(vault)
        vault.forget_catalog()
        vault.lock.release()  # storing and reading go on while the documents move
        try:
            rotation.move(vault, old, new, todo, progress, meanwhile=True)
            vault.lock.wait = LOCK_WAIT  # a batch being stored finishes first
            vault.lock.acquire()
            result = rotation.finish(vault, old, new, progress)
        except KeyboardInterrupt:
            if progress is not None:
                progress.clear()
            click.echo(
                "vault: the key rotation stopped; nothing is lost: run 'vault rotate' again "
                "(with the same passphrase) to go on",
                err=True,
            )
            raise
        finally:
            if progress is not None:
                progress.clear()
    agent_client.forget(root)  # a 'vault unlock' session held the old key
    click.echo(f"Key rotated: {result.documents} documents are under the new key.")
    click.echo(f"Old key {result.old}, new key {result.new} (as the audit log names them).")
    click.echo(f"Keys kept: {', '.join(result.kept_keys)}.")
    if result.dropped_keys:
        click.echo(
            f"Keys removed: {', '.join(result.dropped_keys)} (their holders need a new "
            "key: 'vault key add LABEL')."
        )
    if path is not None:
        if sys.stdin.isatty():
            _after_printing(path)
        else:
            click.echo("Print the new emergency sheet now; delete the PDF once it printed clearly.")
        _sealing_steps()
    click.echo(
        "Shred the old emergency sheet. Run 'vault sync' now: the backups switch to the "
        "new key and their old files are deleted."
    )
    if unlock.emergency_key:
        click.echo(
            "The emergency key was used (the time and the reason are in the audit log): "
            "the committee records it in its minutes, then: vault audit ack",
            err=True,
        )


def rotate_level(root: Path, unlock: UnlockSpec, level: str) -> None:
    """``vault rotate --level LEVEL``: a new key for the level (``vault.access``)."""
    from vault import access as changes
    from vault import levels
    from vault.cli.access import finish_cut_short, progress_line, report

    with unlocked(root, unlock) as vault:
        wanted = levels.check_level(vault.config, level)
        finish_cut_short(vault)
        done = changes.new_key(vault, wanted, "rotate", progress_line("Sealing again"))
    report(done)


def _parse_keep(values: tuple[str, ...]) -> dict[str, Path]:
    from vault.key_register import check_label

    found: dict[str, Path] = {}
    for value in values:
        label, sep, file = value.partition("=")
        if not sep or not file:
            raise UsageError(
                f"--keep-key {value!r} is not LABEL=FILE", hint="e.g. --keep-key deputy=deputy.txt"
            )
        found[check_label(label)] = Path(file).expanduser()
    return found


def _refuse_old_passphrase(vault: Vault, passphrase: str) -> None:
    """A rotation's new passphrase must not be one that opens a key now."""
    from vault import key_register
    from vault.errors import VaultError

    try:
        key_register.unlock_any_level(vault.key_paths, vault.config, passphrase)
    except (VaultError, OSError):
        return
    raise UsageError(
        "the new passphrase opens one of the vault's keys now: a rotation needs a new one",
        hint="choose a passphrase nobody has used for this vault",
    )


def _kept(vault: Vault, unlock: UnlockSpec, given: dict[str, Path]) -> dict[str, str]:
    """Each personal key to keep, with its holder's passphrase."""
    from vault import key_register
    from vault.keys import unlock_file

    register = key_register.load_register(vault.key_paths, vault.config, vault.unlocked_key())
    # (a key of an access level wraps its holder's own key: it is kept as it is)
    labels = [
        k.label for k in register.keys if k.label != key_register.COORDINATOR and k.level is None
    ]
    unknown = sorted(set(given) - set(labels))
    if unknown:
        raise UsageError(
            f"no personal key is labelled '{unknown[0]}'",
            hint=f"the personal keys are: {', '.join(labels) or 'none'}",
        )
    keep: dict[str, str] = {}
    for label in labels:
        record = register.find(label)
        assert record is not None
        file = vault.key_paths.root / record.file
        if label in given:
            keep[label] = read_secret_file(given[label], "passphrase")
            continue
        typed = available_passphrase(unlock.passphrase_file)
        if label == vault.key_label and typed is not None:
            keep[label] = typed  # the key that unlocked this command keeps its passphrase
            continue
        if not sys.stdin.isatty():
            note = f"vault: the personal key '{label}' will be removed (no --keep-key)"
            click.echo(note, err=True)
            continue
        for attempt in range(1, TRIES + 1):
            value: str = click.prompt(
                f"Passphrase of the key '{label}' (its holder types it; leave empty to remove it)",
                hide_input=True,
                default="",
                show_default=False,
                err=True,
            )
            if not value:
                break
            try:
                unlock_file(file, vault.key_paths, value)
            except WrongKeyError:
                wrong = f"vault: that is not the passphrase of '{label}' ({attempt} of {TRIES})"
                click.echo(wrong, err=True)
                continue
            keep[label] = value
            break
    return keep
