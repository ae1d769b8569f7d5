"""``vault key add|list|remove``: a key of their own for each person who may open the vault.

Each key is an age scrypt file wrapping the vault's data key under that
person's passphrase (``vault.key_register``); any of them unlocks every
command, and the audit log names the key that did.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vault.cli.common import (
    UnlockSpec,
    json_option,
    new_passphrase_option,
    print_json,
    unlock_options,
    unlocked,
)
from vault.errors import UsageError


@click.group()
def key() -> None:
    """Personal keys: each person who may open the vault has their own.

    Every key opens the whole vault with its own passphrase; the audit log
    names the key used by each command. The vault starts with one key,
    'coordinator' (the passphrase chosen at 'vault init'). Label keys by
    role (deputy, chair), not by a person's name.

    \b
    Example:
        vault key add deputy
        vault key list
        vault key remove deputy
    """


@key.command(name="add")
@click.argument("label")
@click.option(
    "--level",
    metavar="LEVEL",
    default="full",
    show_default=True,
    help="The access level the key opens: 'full' (every document) or a level such as "
    "'session' (only the documents granted to it, to read and search).",
)
@unlock_options
@new_passphrase_option("the new key's passphrase")
@click.pass_obj
def key_add(
    root: Path, label: str, level: str, unlock: UnlockSpec, new_passphrase_file: Path | None
) -> None:
    """Add a key LABEL with a passphrase of its own (asks for it twice).

    Unlock first with a full key you hold (your passphrase is asked, even
    when the vault is unlocked); then the new person types their passphrase,
    which follows the same rules as at 'vault init'. LABEL: 1 to 24
    letters, digits and '-'. With --level session the key opens only the
    documents granted to the session level, to read and search them.

    \b
    Example:
        vault key add deputy
        vault key add volunteer-1 --level session
    """
    from vault import key_register
    from vault import levels as access_levels
    from vault.cli.common import opened

    wanted = key_register.check_new_label(label)  # refused before anything is asked
    with opened(root, reading=True) as found:
        chosen = access_levels.check_level(found.config, level, full=True)
    with unlocked(root, unlock, agent=False) as vault:
        existing = key_register.load_register(vault.key_paths, vault.config, vault.unlocked_key())
        if existing.find(wanted) is not None:
            raise UsageError(
                f"a key labelled '{wanted}' exists already",
                hint=f"choose another label, or 'vault key remove {wanted}' first",
            )
        from vault.cli.setup import choose_passphrase

        passphrase = choose_passphrase(
            new_passphrase_file, env="VAULT_NEW_PASSPHRASE", prompt=f"Passphrase for '{wanted}'"
        )
        key_register.add_key(
            vault.key_paths, vault.config, vault.unlocked_key(), wanted, passphrase, chosen
        )
        if vault.key_label and not vault.by_emergency_key:  # the first register: its day
            key_register.note_use(
                vault.key_paths, vault.config, vault.unlocked_key(), vault.key_label
            )
        if chosen == access_levels.FULL:
            vault.audit.append("key-add", [], label=wanted)
        else:
            vault.audit.append("key-add", [], label=wanted, for_level=chosen)
    if chosen == access_levels.FULL:
        click.echo(f"Key '{wanted}' added: its passphrase now opens the vault.")
    else:
        click.echo(
            f"Key '{wanted}' added: its passphrase opens the documents granted to "
            f"'{chosen}' ('vault access grant {chosen} ID'), to read and search."
        )
    click.echo("Run 'vault sync' so the backups hold it too.", err=True)


@key.command(name="list")
@json_option
@click.pass_obj
def key_list(root: Path, as_json: bool) -> None:
    """List the vault's keys: label, created, last used (no secrets).

    Needs no passphrase.

    \b
    Example:
        vault key list
        vault key list --json
    """
    from vault import key_register
    from vault.cli.common import opened

    with opened(root, reading=True) as vault:
        register = key_register.read_register(vault.key_paths, vault.config)
    rows = sorted(register.keys, key=lambda k: (k.label != key_register.COORDINATOR, k.label))
    if as_json:
        print_json(
            [
                {
                    "label": k.label,
                    "file": f"keys/{k.file}",
                    "created": k.created,
                    "passphrase_changed": k.passphrase_changed,
                    "last_used": k.last_used,
                    "level": k.level_name,
                }
                for k in rows
            ]
        )
        return
    click.echo(f"{'LABEL':<24} {'LEVEL':<10} {'CREATED':<10} {'PASSPHRASE SET':<14} LAST USED")
    for k in rows:
        click.echo(
            f"{k.label:<24} {k.level_name:<10} {_day(k.created):<10} "
            f"{_day(k.passphrase_changed):<14} {k.last_used or 'never'}"
        )


def _day(stamp: str | None) -> str:
    return stamp[:10] if stamp else "unknown"


@key.command(name="remove")
@click.argument("label")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@unlock_options
@click.pass_obj
def key_remove(root: Path, label: str, yes: bool, unlock: UnlockSpec) -> None:
    """Remove key LABEL: its passphrase no longer opens the vault.

    The last full key cannot be removed. Someone leaving: remove their key, then
    'vault sync' (the backups drop it too). Whoever held it may have copied
    the vault's key: only a key rotation takes that away from what is stored
    from then on, and nothing takes back what they already read. A key of
    an access level (session) is followed at once by a new key for that
    level, and its documents are encrypted again (only those).
    On a terminal it asks first; in a script give --yes.

    \b
    Example:
        vault key remove deputy
        vault key remove deputy --yes
    """
    from vault import key_register

    wanted = label.strip().lower()
    with unlocked(root, unlock, agent=False) as vault:
        register = key_register.load_register(vault.key_paths, vault.config, vault.unlocked_key())
        key_register.removable(register, wanted)  # before asking
        if not yes:
            if not (sys.stdin.isatty() and sys.stderr.isatty()):
                raise UsageError("removing a key asks first on a terminal", hint="add --yes")
            try:
                agreed = click.confirm(
                    f"Remove the key '{wanted}'? Its passphrase will no longer open the vault.",
                    default=False,
                    err=True,
                )
            except click.Abort:
                raise KeyboardInterrupt from None
            if not agreed:
                click.echo("Nothing was removed.", err=True)
                return
        record = register.find(wanted)
        level = record.level if record is not None else None
        if level is not None:
            from vault import access as changes
            from vault.cli.access import finish_cut_short

            changes.refuse_during_rotation(vault)  # before anything is removed
            finish_cut_short(vault)
        key_register.remove_key(vault.key_paths, vault.config, vault.unlocked_key(), wanted)
        vault.audit.append("key-remove", [], label=wanted)
        if level is not None:
            from vault.cli.access import progress_line, report

            # Its holder could have kept the level's key: the level gets a new
            # one, and its documents are sealed again under new file keys.
            done = changes.new_key(vault, level, "key-remove", progress_line("Sealing again"))
    if level is not None:
        report(done)
    from vault import agent_client

    # A session 'vault unlock' opened (perhaps with that key) ends here too.
    ended = agent_client.forget(root)
    click.echo(f"Key '{wanted}' removed.")
    if ended:
        click.echo("The vault was locked ('vault unlock' to open it again).", err=True)
    click.echo(
        "Run 'vault sync' so the backups drop it too. Its holder may have kept a copy "
        "of the vault's key: see 'A key for each person' in the README.",
        err=True,
    )
