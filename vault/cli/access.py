"""``vault access grant|revoke|list|resume``: who may open which documents.

Each access level has a key of its own (``vault.levels``); granting a
document to a level encrypts its files to that key too, revoking seals them
again without it (``vault.access``). Every command here needs a full key.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.common import UnlockSpec, json_option, print_json, unlock_options, unlocked
from vault.display import escaped

if TYPE_CHECKING:
    from vault.access import Changed
    from vault.repository import Vault


@click.group()
def access() -> None:
    """Access levels: grant documents to a level, take them back, list who opens what.

    A key of the level 'session' (a team leader's, a volunteer's: 'vault key
    add LABEL --level session') opens only the documents granted to
    'session', with the vault and with the age command alone. Granting and
    revoking need a full key; the next 'vault sync' sends the documents'
    new files and removes the old ones from the backups.

    \b
    Example:
        vault access grant session D-7K3M9Q D-2HX4PA
        vault access revoke session D-7K3M9Q
        vault access list
    """


def progress_line(label: str) -> Any:
    """A line on stderr, only on a terminal: documents done, of."""
    if not sys.stderr.isatty():
        return None

    def shown(done: int, total: int) -> None:
        click.echo(f"\r{label}: {done} of {total} documents", nl=done == total, err=True)

    return shown


def finish_cut_short(vault: Vault) -> None:
    """A change of access cut short (a kill, a power cut) is finished first."""
    from vault import access as changes

    job = changes.read_job(vault.root)
    if job is None:
        return
    click.echo(
        f"vault: a change of access begun {job.started[:16].replace('T', ' ')} was cut short: "
        "it is finished first",
        err=True,
    )
    done = changes.resume(vault, progress_line("Finishing"))
    if done is not None:
        report(done)


def report(done: Changed) -> None:
    verb = {"grant": "granted to", "revoke": "taken back from", "new-key": "sealed again for"}[
        done.kind
    ]
    if done.kind == "new-key":
        click.echo(
            f"The access level '{done.level}' has a new key ({done.new_key}; the old one, "
            f"{done.old_key}, opens nothing stored from now on)."
        )
    if done.changed:
        count = len(done.changed)
        click.echo(f"{count} document{'s' if count != 1 else ''} {verb} '{done.level}'.")
    if done.already:
        state = "granted to" if done.kind == "grant" else "not granted to"
        click.echo(f"Already {state} '{done.level}': {', '.join(done.already)}.", err=True)
    if done.changed or done.kind == "new-key":
        click.echo(
            "Run 'vault sync' so the backups hold the new files and drop the old ones.", err=True
        )


def _change(
    root: Path, kind: str, level: str, doc_ids: tuple[str, ...], unlock: UnlockSpec
) -> None:
    from vault import access as changes
    from vault import levels

    with unlocked(root, unlock) as vault:
        wanted = levels.check_level(vault.config, level)  # before anything is written
        finish_cut_short(vault)
        label = "Granting" if kind == changes.GRANT else "Taking back"
        done = changes.change(vault, kind, wanted, doc_ids, progress_line(label))
    report(done)


@access.command(name="grant")
@click.argument("level")
@click.argument("doc_ids", metavar="ID...", nargs=-1, required=True)
@unlock_options
@click.pass_obj
def grant(root: Path, level: str, doc_ids: tuple[str, ...], unlock: UnlockSpec) -> None:
    """Grant documents to access level LEVEL: its keys open them from now on.

    Each document's files are written again with the level's key among
    their recipients (their contents unchanged: only the part of each file
    that says who may open it is new). An e-mail's attachments are
    documents of their own: grant them too if they are wanted. Needs a
    full key.

    \b
    Example:
        vault access grant session D-7K3M9Q D-2HX4PA
    """
    _change(root, "grant", level, doc_ids, unlock)


@access.command(name="revoke")
@click.argument("level")
@click.argument("doc_ids", metavar="ID...", nargs=-1, required=True)
@unlock_options
@click.pass_obj
def revoke(root: Path, level: str, doc_ids: tuple[str, ...], unlock: UnlockSpec) -> None:
    """Take documents back from access level LEVEL: its keys no longer open them.

    Each document's files are encrypted again under new file keys, without
    the level's key, so that no copy made from now on opens with it (not
    even with a file key a keyholder may have kept). What was already read
    or copied cannot be taken back. Needs a full key; run 'vault sync' after.

    \b
    Example:
        vault access revoke session D-7K3M9Q
    """
    _change(root, "revoke", level, doc_ids, unlock)


@access.command(name="resume")
@unlock_options
@click.pass_obj
def resume(root: Path, unlock: UnlockSpec) -> None:
    """Finish a change of access that was cut short (a crash, a power cut).

    Any 'vault access' command does this first; nothing is lost or done
    twice.

    \b
    Example:
        vault access resume
    """
    from vault import access as changes

    with unlocked(root, unlock) as vault:
        if changes.read_job(vault.root) is None:
            click.echo("No change of access is under way.")
            return
        finish_cut_short(vault)


@access.command(name="list")
@json_option
@unlock_options
@click.pass_obj
def list_access(root: Path, as_json: bool, unlock: UnlockSpec) -> None:
    """List the access levels: their keys, the types granted by default, their documents.

    Needs a full key (the titles of the documents are shown).

    \b
    Example:
        vault access list
        vault access list --json
    """
    from vault import access as changes
    from vault import key_register, levels

    with unlocked(root, unlock, reading=True) as vault:
        register = key_register.load_register(vault.key_paths, vault.config, vault.unlocked_key())
        found: list[dict[str, Any]] = []
        settings = levels.configured(vault.config)
        for name, options in settings.items():
            keys = sorted(k.label for k in register.keys if k.level_name == name)
            documents: list[dict[str, Any]] = []
            if name != levels.FULL:
                for doc_id in vault.catalog.at_level(name):
                    row = vault.catalog.get(doc_id) or {}
                    documents.append({"id": doc_id, "title": row.get("title") or row.get("name")})
            found.append(
                {
                    "level": name,
                    "keys": keys,
                    "types": list(options.get("types", [])),
                    "has_key": name == levels.FULL or name in register.levels,
                    "documents": None if name == levels.FULL else documents,
                }
            )
        pending = changes.read_job(vault.root)
    if as_json:
        print_json({"levels": found, "cut_short": pending is not None})
        return
    for entry in found:
        shown = ", ".join(entry["keys"]) or "none"
        click.echo(f"{entry['level']}: keys {shown}")
        if entry["types"]:
            click.echo(f"  granted by type: {', '.join(entry['types'])}")
        if entry["documents"] is None:
            click.echo("  opens every document")
            continue
        if not entry["has_key"]:
            click.echo("  no key yet ('vault key add LABEL --level " + entry["level"] + "')")
        count = len(entry["documents"])
        click.echo(f"  {count} document{'s' if count != 1 else ''} granted")
        for doc in entry["documents"]:
            click.echo(escaped(f"    {doc['id']}  {doc['title']}"))
    if pending is not None:
        click.echo("A change of access was cut short: 'vault access resume' finishes it.")
