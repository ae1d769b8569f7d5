"""``vault unlock`` and ``vault lock``: one passphrase a morning.

``unlock`` checks the passphrase (or the emergency key, audited) once and
hands the vault's key to the user's key agent (``vault.agent``); until it
locks, the commands that read documents take the key from there and ask
nothing. ``lock`` makes the agent forget it now.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import click

from vault.cli.common import UnlockSpec, unlock_options


def when(moment: float) -> str:
    """A time to come, as the computer's clock shows it (with the date if not today)."""
    local = time.localtime(moment)
    today = time.localtime()
    shown = time.strftime("%H:%M %Z", local)
    if local[:3] != today[:3]:
        shown = time.strftime("%a %d %b ", local) + shown
    return shown


def iso_local(moment: float) -> str:
    """A moment in local time with its offset, to the second (for --json)."""
    return datetime.fromtimestamp(moment).astimezone().isoformat(timespec="seconds")


@click.command()
@unlock_options
@click.pass_obj
def unlock(root: Path, unlock: UnlockSpec) -> None:
    """Unlock the vault for the session: one passphrase, then no more questions.

    The vault's key is kept by a small program of yours, in memory only (never
    on disk); until it locks, list, search, show, edit and export ask for
    nothing. It locks by itself after ui_idle_lock_minutes (in the vault's
    config.json; 10 unless set) without use, when you log out or close the
    window you typed this in, and with 'vault lock'. Other users of the
    computer cannot reach it. Changing the passphrase or the emergency sheet
    still asks for the passphrase. At the prompt, three tries.

    \b
    Example:
        vault unlock
        vault list
        vault lock
    """
    from vault import agent_client
    from vault.cli.common import unlocked
    from vault.config import idle_lock_minutes
    from vault.errors import AgentError

    if not agent_client.available():
        raise AgentError(
            "'vault unlock' is not available on this system",
            hint="give the passphrase to each command instead",
        )
    agent_client.checked_folder(create=True)  # refused before anything is asked
    with unlocked(root, unlock, reading=True) as vault:
        minutes = idle_lock_minutes(vault.config)
        # A key of an access level: its holder's own key, which opens the
        # level's key (and stops opening it once that key is taken away).
        held = vault.level_key.opener if vault.level_key is not None else None
        until = agent_client.store_key(
            vault.root,
            vault.vault_id,
            held or vault.unlocked_key().secret,
            idle_seconds=minutes * 60,
            watch_pid=agent_client.session_watch(),
            label=vault.key_label,
        )
        if not vault.lock.read_only:
            vault.audit.append("unlock")  # names the key (``key_register``)
    shown = f"{minutes:g} minute{'' if minutes == 1 else 's'}"
    click.echo(f"Unlocked until {when(until)}, or longer while in use.")
    click.echo(
        f"It locks after {shown} without use, when you log out or close this window, "
        "or now with: vault lock",
        err=True,
    )


@click.command()
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Lock every vault you unlocked on this computer, and stop the key agent.",
)
@click.pass_obj
def lock(root: Path, everything: bool) -> None:
    """Lock the vault now: its key is forgotten, commands ask again.

    \b
    Example:
        vault lock
    """
    from vault import agent_client

    if agent_client.forget(None if everything else root):
        click.echo("Locked: the key was forgotten.")
    else:
        click.echo("The vault was not unlocked.")
