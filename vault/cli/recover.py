"""Commands that restore from a backup: recover (a new computer) and drill (a rehearsal)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from vault.cli.common import (
    ENVELOPE_HINT,
    PROMPT_TRIES,
    UnlockSpec,
    ask_with_tries,
    emergency_next_steps,
    read_secret,
    unlock_options,
    will_prompt,
)
from vault.display import StatusLine, escaped
from vault.errors import IntegrityError, WrongKeyError

if TYPE_CHECKING:
    from recovery.progress import Progress
    from recovery.restore import RecoverResult
    from recovery.trust import Credentials
    from vault.repository import Vault


class RecoverProgress:
    """``recover: 12.0/40.0 MB, 10/40 documents, about 0:05 left`` redrawn in place."""

    def __init__(self, stream: TextIO) -> None:
        self._line = StatusLine(stream)
        self._start: tuple[float, int] | None = None  # when the download began, bytes then

    def __call__(self, progress: Progress) -> None:
        from sync.progress import human_bytes

        done, total = progress.bytes_done, progress.bytes_total
        if self._start is None:
            self._start = (time.monotonic(), done)
        elapsed = time.monotonic() - self._start[0]
        moved = done - self._start[1]
        text = f"recover: {human_bytes(done)}/{human_bytes(total)}, "
        if progress.documents_total:
            text += f"{progress.documents_done}/{progress.documents_total} documents"
        else:
            text += f"{progress.files_done}/{progress.files_total} files"
        if moved > 0 and done < total and elapsed > 1:
            seconds = int(elapsed * (total - done) / moved)
            text += f", about {seconds // 60}:{seconds % 60:02d} left"
        self._line.show(text)

    def clear(self) -> None:
        self._line.clear()


def _credentials(spec: UnlockSpec) -> Credentials:
    from recovery.trust import Credentials

    secret = read_secret(spec, ask_reason=True)
    return Credentials(secret.passphrase, secret.emergency_key, secret.reason)


class _Asker:
    """What unlocks the backup, asked when the remote has answered: at a prompt,
    up to ``PROMPT_TRIES`` times (the backup's own keys decide what is wrong)."""

    def __init__(self, spec: UnlockSpec) -> None:
        self.spec = spec
        self.prompted = 0

    def __call__(self) -> Credentials:
        from recovery.trust import Credentials

        if not will_prompt(self.spec):
            return _credentials(self.spec)
        if self.prompted:
            left = PROMPT_TRIES - self.prompted
            click.echo(
                f"Wrong passphrase; try again ({left} {'try' if left == 1 else 'tries'} left).",
                err=True,
            )
        self.prompted += 1
        passphrase: str = click.prompt("Passphrase", hide_input=True, err=True)
        return Credentials(passphrase, ask_again=self.prompted < PROMPT_TRIES)

    def gave_up(self, error: WrongKeyError) -> WrongKeyError:
        """The error to show: after the last try at a prompt, the envelope."""
        if self.prompted < PROMPT_TRIES:
            return error
        return WrongKeyError(f"wrong passphrase ({PROMPT_TRIES} tries)", hint=ENVELOPE_HINT)


def _report(result: RecoverResult) -> None:
    from sync.progress import human_bytes

    head = result.head
    click.echo(
        f"Restored {result.documents} documents ({result.files} files, "
        f"{human_bytes(result.bytes)}) into {result.root} in {result.seconds:.1f} s"
        + (f"; {result.kept} files were already here from an earlier run" if result.kept else "")
        + "."
    )
    click.echo(
        f"State code of the backup: {head.short} (number {head.seq}, {head.time}): "
        "compare these with the last committee report."
    )
    if result.rebuilt:
        click.echo("The catalog was rebuilt from the document manifests.")
    if result.register_rebuilt:
        click.echo(
            "vault: warning: the backup's list of keys (keys/people.json) was damaged or "
            "altered; it was made again from the key files the backup holds: check it "
            "('vault key list') and remove any key that should not be there",
            err=True,
        )
    if result.catalog_missing:
        click.echo(
            f"vault: warning: the backup lacks {len(result.catalog_missing)} of the catalog "
            "files its head names, so the catalog was rebuilt from the document manifests; "
            "check that backup ('vault verify --remote NAME')",
            err=True,
        )
    click.echo(
        f"The backup is set up as remote {result.remote!r} ({result.path}); "
        f"'vault --vault {result.root} sync {result.remote}' continues it."
    )
    if result.other_remotes:
        named = ", ".join(sorted(result.other_remotes))
        click.echo(
            f"The old computer's other remotes are kept ({named}): check that each is right "
            "for this computer with 'vault remote list' before the next 'vault sync' "
            "(a USB disk's folder may have another path here).",
            err=True,
        )
    for manifest_id in result.left_out:
        click.echo(
            f"not restored: journal entry {manifest_id[:12]}: not signed by the signing key "
            "the backup's head names",
            err=True,
        )
    for name, reason in result.set_aside:
        click.echo(f"not restored: journal entry {name[:12]}: {reason}", err=True)
    for damage in result.damaged:
        owner = f"{damage.doc_id} {escaped(damage.name)}" if damage.doc_id else "document unknown"
        click.echo(f"not restored: {owner}: {damage.problem} file {damage.id}", err=True)


@click.command()
@click.option(
    "--from",
    "source",
    required=True,
    metavar="REMOTE",
    help="Where the backup is: an rclone path (offsite:centre-vault) or a folder (a USB disk).",
)
@click.option(
    "--to",
    "dest",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The new vault folder (new or empty; or one an interrupted recovery left).",
)
@unlock_options
@click.option(
    "--expect-state",
    metavar="CODE",
    help="Refuse the backup unless its state code is CODE (from the last committee report).",
)
@click.option(
    "--name",
    "remote_name",
    help="The name the backup gets as a remote of the new vault (default: its old name, "
    "else 'origin').",
)
@click.option(
    "--rebuild-catalog",
    is_flag=True,
    help="Leave the backup's catalog snapshot out and rebuild it from the document manifests.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def recover(
    source: str,
    dest: Path,
    unlock: UnlockSpec,
    expect_state: str | None,
    remote_name: str | None,
    rebuild_catalog: bool,
    quiet: bool,
) -> None:
    """Rebuild the vault on this computer from a backup.

    For a new computer after theft, fire or a dead disk. REMOTE is what
    'vault remote add' took: an rclone remote path (set it up on this
    computer first with '.venv/bin/rclone config', or RCLONE_CONFIG_<NAME>_*
    variables) or a folder on a USB disk. Unlocks with the passphrase, or with
    the sealed emergency key and a reason (recorded). Nothing is written
    into DIR until the key opens the backup and its head proves authentic;
    every file is re-hashed as it arrives. An interrupted recovery resumes
    where it stopped when run again. Missing or corrupt files are named with
    their documents (exit 4); the rest is restored. The new vault has the
    backup as its remote: the next 'vault sync' continues it.

    \b
    Example:
        vault recover --from offsite:centre-vault --to ~/centre-vault
        vault recover --from /media/usb/centre-vault --to ~/centre-vault \\
            --emergency-key key.txt --reason "office burgled, minutes 2026-12-01"
    """
    from recovery.restore import recover as run_recover

    bar = None
    if not quiet and sys.stderr.isatty():
        bar = RecoverProgress(sys.stderr)
    asker = _Asker(unlock)
    try:
        result = run_recover(
            source,
            dest,
            asker,
            expect_state=expect_state,
            remote_name=remote_name,
            rebuild_catalog=rebuild_catalog,
            on_progress=bar,
        )
    except WrongKeyError as error:
        raise asker.gave_up(error) from None
    finally:
        if bar is not None:
            bar.clear()
    _report(result)
    if result.emergency:
        emergency_next_steps(result.root)
    if result.damaged:
        documents = {d.doc_id or d.id for d in result.damaged}
        raise IntegrityError(
            f"{len(result.damaged)} files of the backup are missing or corrupt "
            f"({len(documents)} documents not restored, named above); the rest was restored",
            hint="try another backup of this vault for those documents "
            "('vault repair NAME' brings them in from another remote)",
        )
    if result.audit_damaged:
        rel, problem = sorted(result.audit_damaged.items())[0]
        raise IntegrityError(
            f"the backup's audit log is damaged ({rel}: {problem}); the documents were "
            "restored, and the audit log only as far as it was whole",
            hint="this is recorded in the new vault's audit log; tell the committee "
            "(it may be tampering), and keep the old backup as it is",
        )
    if result.left_out or result.set_aside:
        count = len(result.left_out) + len(result.set_aside)
        raise IntegrityError(
            f"{count} documents the backup's journal names were not restored: not signed "
            "by the signing key its head names (named above); the rest was restored",
            hint="a document stored on the old computer after its last unlocked use, "
            "or one written by someone else: check with the coordinator",
        )


@click.command()
@click.argument("name", required=False)
@click.option(
    "--sample",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Decrypt this many random documents on both sides and compare them.",
)
@click.option("--all", "every", is_flag=True, help="Decrypt and compare every document.")
@unlock_options
@click.pass_obj
def drill(root: Path, name: str | None, sample: int, every: bool, unlock: UnlockSpec) -> None:
    """Rehearse a recovery from remote NAME (or every remote); the vault is not touched.

    Recovers from the backup into a private temporary folder exactly as
    'vault recover' would, compares it with this vault (the documents, every
    object, and the decrypted bytes of a random sample of documents), records
    the result in the audit log for 'vault status' and the committee report,
    and removes the folder. Exit status 0 when the backup restores to this
    vault, 4 on a difference (each one named), 5 if the remote cannot be
    reached. Run it after 'vault sync': documents stored since are not in
    the backup yet.

    \b
    Example:
        vault drill offsite
        vault drill usb --all
    """
    from recovery.drill import run_drill
    from sync.remotes import resolve
    from vault.repository import Vault, require_vault

    require_vault(root)
    vault = Vault.open(root)
    targets = resolve(vault.config, name)
    credentials = _drill_credentials(vault, unlock)
    failed = []
    for remote_name, path in targets.items():
        result = run_drill(vault, remote_name, path, credentials, sample=None if every else sample)
        for doc_id, problem in result.problems:
            label = (
                f"{doc_id} {escaped(result.names[doc_id])}" if doc_id in result.names else doc_id
            )
            click.echo(f"{remote_name}: {label}: {problem}", err=True)
        outcome = "passed" if result.ok else f"FAILED: {result.reason}"
        click.echo(
            f"Drill of {remote_name} {outcome} ({result.documents} documents, "
            f"{result.objects} objects, {result.sampled} decrypted and compared, "
            f"{result.seconds:.1f} s)."
        )
        if not result.ok:
            failed.append(remote_name)
    if credentials.emergency_key:
        emergency_next_steps(root)
    if failed:
        raise IntegrityError(
            f"the restore drill of {', '.join(failed)} failed",
            hint="'vault sync' sends what is missing; 'vault verify --remote NAME --read-data' "
            "and 'vault repair NAME' mend a damaged backup",
        )


def _drill_credentials(vault: Vault, spec: UnlockSpec) -> Credentials:
    """What the drill unlocks with; a passphrase typed at a prompt is checked
    against this computer's keys first (any of them, ``vault.key_register``),
    up to ``PROMPT_TRIES`` tries."""
    from recovery.trust import Credentials
    from vault import key_register

    if not will_prompt(spec):
        return _credentials(spec)
    passphrase = ask_with_tries(
        lambda typed: key_register.unlock_any(vault.key_paths, vault.config, typed)
    )
    return Credentials(passphrase)
