"""Commands for backups: remote add/list/remove, sync, repair, status, report.

None of them needs the passphrase: they move and check ciphertext only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vault.cli.common import (
    UnlockSpec,
    available_passphrase,
    json_option,
    opened,
    passphrase_options,
    print_json,
    unlock_options,
    unlocked,
    warn_if_read_only,
)
from vault.display import escaped
from vault.errors import IntegrityError, VaultError

if TYPE_CHECKING:
    from sync.backup import SyncResult
    from sync.checkup.checklist import Checklist
    from sync.status import Status
    from sync.verdict import Verdict
    from vault.repository import Vault


@click.group()
def remote() -> None:
    """Set up where backups go: rclone remotes or local folders.

    A remote is a name for an rclone path: any rclone backend
    (``offsite:bucket/vault``, set up with ``rclone config`` or
    RCLONE_CONFIG_<NAME>_* variables, which hold the credentials) or a
    folder (a USB disk). Several remotes can be used at once.

    \b
    Example:
        vault remote add usb /media/backup/vault
        vault remote add offsite offsite:centre-vault
        vault remote list
    """


@remote.command(name="add")
@click.argument("name")
@click.argument("path", metavar="RCLONE_PATH")
@click.option("--create", is_flag=True, help="Make the folder if it does not exist yet.")
@click.pass_obj
def remote_add(root: Path, name: str, path: str, create: bool) -> None:
    """Add a remote called NAME at RCLONE_PATH (a folder, or remote:path).

    A folder (a USB disk) must exist: plug the disk in first, or give
    --create to make the folder. It gets a small file, vault-backup.txt,
    that marks it as this vault's backup: a sync to a disk that is not
    plugged in then stops with exit status 5 instead of filling a new folder
    on this computer. Credentials never go here: keep them in rclone's
    configuration.

    \b
    Example:
        vault remote add usb /media/backup/vault
        vault remote add usb /media/backup/vault --create
    """
    from sync.remotes import add_remote

    with opened(root) as vault:
        stored = add_remote(vault, name, path, create=create)
    click.echo(f"Added remote {name}: {stored}")
    click.echo(f"Back up to it now with: vault sync {name}", err=True)


@remote.command(name="list")
@json_option
@click.pass_obj
def remote_list(root: Path, as_json: bool) -> None:
    """List the remotes and their rclone paths.

    \b
    Example:
        vault remote list --json
    """
    from sync.remotes import remotes
    from vault.repository import Vault

    found = remotes(Vault.open(root).config)
    if as_json:
        print_json([{"name": n, "path": p} for n, p in sorted(found.items())])
        return
    if not found:
        click.echo("No remotes yet: add one with 'vault remote add NAME PATH'.", err=True)
    for name, path in sorted(found.items()):
        click.echo(f"{escaped(name)}\t{escaped(path)}")


@remote.command(name="remove")
@click.argument("name")
@click.pass_obj
def remote_remove(root: Path, name: str) -> None:
    """Stop backing up to remote NAME (what it holds is left alone).

    \b
    Example:
        vault remote remove usb
    """
    from sync.remotes import remove_remote
    from sync.state import remove_state

    with opened(root) as vault:
        path = remove_remote(vault, name)
        remove_state(vault.root, name)
    click.echo(f"Removed remote {name} ({path}); the files there were not touched.")


def _describe(result: SyncResult) -> str:
    from sync.progress import human_bytes

    if result.up_to_date:
        text = f"{result.name}: already up to date"
    else:
        text = f"{result.name}: sent {result.uploaded} files ({human_bytes(result.bytes)})" + (
            f", removed {result.deleted}" if result.deleted else ""
        )
    head = f", state code {result.head}" if result.head else ""
    text = f"{text}; {result.documents} documents{head}"
    if result.read_back:
        bad = len(result.damaged)
        text += f"; read back {result.read_back} files: " + (
            "all matched" if not bad else f"{bad} missing or damaged"
        )
    return text + "."


@click.command(name="sync")
@click.argument("name", required=False)
@click.option("--full", is_flag=True, help="List the whole remote and send whatever it lacks.")
@click.option(
    "--compact",
    is_flag=True,
    help="First write the catalog as one new file in place of the small daily ones "
    "(needs the passphrase); the backup then drops the older ones.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@unlock_options
@click.pass_obj
def sync_command(
    root: Path, name: str | None, full: bool, compact: bool, quiet: bool, unlock: UnlockSpec
) -> None:
    """Back up the vault to remote NAME, or to every remote.

    Needs no passphrase: only encrypted files are sent. Sends only what the
    remote does not have yet, and the vault's head last, so the backup is
    always consistent even if a sync is cut off; the next sync finishes the
    job. --full checks the whole remote instead of trusting the record of
    what was sent (use it if files were removed from the remote by hand).
    Each sync also reads back a few files the remote already held and
    compares them with their names (no key needed); a missing or damaged one
    is reported and the exit status is 4.

    The catalog travels as small files of each day's changes; now and then
    (or with --compact) it is written as one new file and the small ones
    are dropped from the backup.

    \b
    Example:
        vault sync
        vault sync offsite --full
        vault sync --compact
    """
    from sync.backup import sync_remote
    from sync.progress import TransferProgress
    from sync.remotes import resolve
    from vault.repository import Vault, require_vault

    require_vault(root)
    if compact:
        with unlocked(root, unlock) as opened_vault:
            opened_vault.catalog  # noqa: B018 - opens it and folds the journal in
            opened_vault.save_catalog(compact=True)
    vault = Vault.open(root)
    failures: list[VaultError] = []
    damaged: list[str] = []
    targets = resolve(vault.config, name)
    for remote_name, path in targets.items():
        bar = None
        if not quiet and sys.stderr.isatty():
            bar = TransferProgress(sys.stderr, remote_name)
        try:
            result = sync_remote(vault, remote_name, path, full=full, on_stats=bar)
        except VaultError as error:
            if len(targets) == 1:
                raise
            failures.append(error)
            click.echo(escaped(f"{remote_name}: failed: {error.message}"), err=True)
            continue
        finally:
            if bar is not None:
                bar.clear()
        for note in result.notes:
            click.echo(f"{remote_name}: {note}", err=True)
        for rel, problem in result.damaged:
            click.echo(f"{problem}: {rel.rsplit('/', 1)[-1]} (on {remote_name})")
        click.echo(_describe(result))
        if result.damaged:
            damaged.append(remote_name)
    if failures:
        first = failures[0]
        raise type(first)(
            f"{len(failures)} of the backups failed; first: {first.message}", hint=first.hint
        )
    if damaged:
        raise IntegrityError(
            f"files read back from {', '.join(damaged)} are missing or damaged there",
            hint=f"'vault repair {damaged[0]}' sends good copies from this computer",
        )


@click.command()
@click.argument("name")
@click.pass_obj
def repair(root: Path, name: str) -> None:
    """Mend the vault and remote NAME from each other.

    Re-hashes every stored file on both sides; re-sends files that are
    missing or damaged on the remote, and replaces files that are missing or
    damaged here with the remote's copy once it has been checked. Needs no
    passphrase. Exit status 4 if something could be mended from neither side.

    \b
    Example:
        vault repair offsite
    """
    from sync.remotes import resolve
    from sync.repair import repair_remote
    from vault.repository import Vault, require_vault

    require_vault(root)
    vault = Vault.open(root)
    path = resolve(vault.config, name)[name]
    result = repair_remote(vault, name, path)
    for rel in result.uploaded:
        click.echo(f"sent again: {rel.rsplit('/', 1)[-1]}")
    for rel in result.restored:
        click.echo(f"restored here: {rel.rsplit('/', 1)[-1]}")
    for problem in result.unrepaired:
        click.echo(f"{problem.problem}: {problem.id}")
    click.echo(
        f"Checked {result.checked} files: {len(result.uploaded)} sent again, "
        f"{len(result.restored)} restored here, {len(result.unrepaired)} could not be mended.",
        err=True,
    )
    if not result.ok:
        raise IntegrityError(
            f"{len(result.unrepaired)} files are damaged both here and on {name}",
            hint="try 'vault repair' with another remote",
        )
    if result.head is not None:
        click.echo(f"{result.head.problem}: head.json (on {name})")
    if result.uploaded or result.restored or result.head is not None:
        click.echo(f"Now run: vault sync {name}", err=True)


def _maybe_unlocked(root: Path, passphrase_file: Path | None) -> Vault:
    """The vault, unlocked if a passphrase was given without asking (to check the head)."""
    from vault.repository import Vault

    vault = Vault.open(root)
    passphrase = available_passphrase(passphrase_file)
    if passphrase:
        vault.unlock(passphrase)
    return vault


@click.command()
@json_option
@passphrase_options
@click.pass_obj
def status(root: Path, as_json: bool, passphrase_file: Path | None) -> None:
    """Show the health of the vault and its backups (no passphrase needed).

    Documents held, the last document stored, each backup's last run and
    what the next sync must send, the checks of each copy (sizes, contents
    read back, fully checked), emergency key uses since the committee last
    acknowledged them, the expected post awaited (how many are overdue, the
    oldest due day), the data breaches open (and whether any is past the
    72 hours to report it to the ICO), the passphrase's age and whether the
    vault is unlocked ('vault unlock') and until when, with warnings in plain words
    and the command that deals with each, and how many readable copies of
    documents the vault made or left outside itself (exports not yet
    deleted, views not yet removed, kept scans; 'vault copies' names them),
    and the policy checklist's verdict in one line ('vault checkup' gives
    each check; --json carries them all).
    Times are local. No names or document text are shown. Exits 0 even with
    warnings: monitoring should read "ok" and "warnings" from --json. The
    document count and state code are checked as written by the vault only
    with the passphrase (VAULT_PASSPHRASE or --passphrase-file); otherwise
    they are marked unverified.

    \b
    Example:
        vault status
        vault status --json
    """
    from sync import wording
    from sync.key_check import UNVERIFIED_KEYS, key_line, level_line, rotation_line
    from sync.status import expected_line, gather_status, incidents_line, retention_line
    from vault import copies
    from vault.agent_client import unlocked_until
    from vault.cli.session import iso_local, when
    from vault.cli.view import readable_copies
    from vault.clock import shown
    from vault.repository import require_vault

    require_vault(root)
    vault = _maybe_unlocked(root, passphrase_file)
    found = gather_status(vault)
    checklist, verdict = _checklist(vault, found)
    until = unlocked_until(root)  # vault unlock: asking the agent is not a use
    readable = readable_copies(root)
    if as_json:
        print_json(
            {
                **found.as_dict(),
                "unlocked_until": until and iso_local(until),
                "readable_copies": copies.counts(readable),
                "verdict": verdict.colour,
                "policy_checklist": checklist.as_dict(),
            }
        )
        return
    click.echo(wording.documents_line(found, mark=True))
    if found.documents_untrusted:
        click.echo(f"  ({found.documents_untrusted} more are untrusted, to be set aside)")
    state = wording.state_line(found)
    if state is not None:
        mark = "" if found.head_verified else " (unverified: needs the passphrase to check)"
        click.echo(state[:-1] + mark + ("" if mark else "."))
    click.echo(f"Last document stored: {shown(found.last_ingest)}.")
    for remote_status in found.remotes:
        click.echo("Backup " + wording.backup_line(remote_status))
        for line in wording.remote_check_lines(remote_status):
            click.echo(f"  {line}")
    click.echo(wording.here_check_line(found))
    since = shown(found.emergency_since, never="the vault was made")
    click.echo(
        f"Emergency key uses since the committee last acknowledged them ({since}): "
        f"{len(found.emergency_uses)}"
    )
    for use in found.emergency_uses:
        click.echo(escaped(f"  {shown(use['time'])}: {use['reason']}"))
    click.echo(expected_line(found))
    click.echo(incidents_line(found))
    if found.passphrase_age_days is not None:
        click.echo(f"Passphrase changed: {found.passphrase_age_days} days ago.")
    if found.keys:
        mark = "" if found.keys_verified else f" ({UNVERIFIED_KEYS})"
        click.echo(f"Keys that open the vault ({len(found.keys)}){mark}:")
        for k in found.keys:
            click.echo(f"  {key_line(k)}")
    click.echo(rotation_line(found.last_rotation))
    if any(level.keys or level.documents for level in found.levels[1:]):
        click.echo("Access levels:")
        for level in found.levels:
            click.echo(f"  {level_line(level)}")
    click.echo(retention_line(found.retention_due))
    locks = f"until {when(until)} ('vault lock' locks it now)." if until else "no."
    click.echo(f"Unlocked: {locks}")
    click.echo(_checklist_line(checklist, verdict))
    for warning in found.warnings:
        click.echo(f"warning: {warning}")
    if readable:  # counted, never named: 'vault copies' names them
        click.echo(f"warning: {copies.warning(readable)}")


def _checklist(vault: Vault, found: Status) -> tuple[Checklist, Verdict]:
    """The policy checklist (``sync.checkup``) and the verdict it gives with the status."""
    from sync.checkup.checklist import take_checklist
    from sync.verdict import verdict_lines

    checklist = take_checklist(vault, found)
    return checklist, verdict_lines(found, checklist)


def _checklist_line(checklist: Checklist, verdict: Verdict) -> str:
    """One line for ``vault status``: the verdict, and where the details are."""
    problems, warnings = len(checklist.problems), len(checklist.warnings)
    counts = [
        f"{count} {word}{'s' if count != 1 else ''}"
        for count, word in ((problems, "problem"), (warnings, "warning"))
        if count
    ]
    said = f" ({', '.join(counts)})" if counts else ""
    return (
        f"Policy checklist: {verdict.colour}{said}; 'vault checkup' gives each check and "
        "what to do."
    )


@click.command()
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The report file: FILE.pdf or FILE.html.",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@passphrase_options
@click.pass_obj
def report(root: Path, out: Path, force: bool, passphrase_file: Path | None) -> None:
    """Write the backup and policy report for the management committee.

    Plain English, no passphrase needed, no names or document text: a
    verdict at the top (green: nothing to do; amber: something to do before
    the next meeting; red: act now) with its reasons, the warnings as what to
    ask the coordinator, the
    number of documents and the vault's state code for the minutes,
    backups, checks (each called what it is), emergency key uses since the
    committee last acknowledged them ('vault audit ack'), with reasons, the
    expected post (the overdue by type and by how many days, never who
    from or for whom), the data breaches (each open one with its deadline to report it to the ICO,
    each closed since the last report with its decision; never their
    notes), once the vault is a week old, the days with and without a
    backup, and the policy checklist of 'vault checkup' on a page of its
    own. Times are local, with the zone.

    \b
    Example:
        vault report --out committee-report.pdf
    """
    from sync.report import check_report_path, write_report  # fpdf2: only for a report
    from sync.status import gather_status
    from vault.readonly import adapt as read_only_adapt
    from vault.repository import require_vault

    out = out.expanduser()
    check_report_path(out, force=force)
    require_vault(root)
    vault = _maybe_unlocked(root, passphrase_file)
    found = gather_status(vault)
    checklist, _ = _checklist(vault, found)
    write_report(found, out, force=force, tmp=vault.layout.tmp, checklist=checklist)
    vault.lock.read_only_ok = True
    with vault.lock:
        read_only_adapt(vault)
        vault.audit.append("report", [], documents=found.documents)
        warn_if_read_only(vault)
    click.echo(f"Wrote the report to {out}")
