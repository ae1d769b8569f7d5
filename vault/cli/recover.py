"""Commands that restore from a backup: recover (a new computer) and drill (a rehearsal)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from vault.cli.common import UnlockSpec, read_secret, unlock_options
from vault.errors import IntegrityError

if TYPE_CHECKING:
    from recovery.restore import Credentials, RecoverResult


class RecoverProgress:
    """``recover: 12.0/40.0 MB, 10/40 files, about 0:05 left`` redrawn in place."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self._shown = 0

    def __call__(self, done: int, total: int, files: int, total_files: int) -> None:
        from sync.progress import human_bytes

        elapsed = time.monotonic() - self.started
        left = ""
        if 0 < done < total and elapsed > 1:
            seconds = int(elapsed * (total - done) / done)
            left = f", about {seconds // 60}:{seconds % 60:02d} left"
        text = f"recover: {human_bytes(done)}/{human_bytes(total)}, {files}/{total_files} files"
        text += left
        self.stream.write("\r" + text.ljust(self._shown))
        self.stream.flush()
        self._shown = len(text)

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
            self._shown = 0


def _credentials(spec: UnlockSpec) -> Credentials:
    from recovery.restore import Credentials

    secret = read_secret(spec, ask_reason=True)
    return Credentials(secret.passphrase, secret.emergency_key, secret.reason)


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
    click.echo(
        f"The backup is set up as remote {result.remote!r} ({result.path}); "
        f"'vault --vault {result.root} sync {result.remote}' continues it."
    )
    for damage in result.damaged:
        owner = f"{damage.doc_id} {damage.name}" if damage.doc_id else "document unknown"
        click.echo(f"not restored: {owner}: {damage.problem} file {damage.id}", err=True)


def emergency_next_steps(root: Path) -> None:
    """After an emergency opening: what to do next, in plain words."""
    click.echo(
        "The emergency key was used; this is recorded in the audit log with the reason.\n"
        "Next, before anything else:\n"
        f"  1. set a new passphrase:        vault --vault {root} passwd --emergency-key FILE "
        '--reason "..."\n'
        f"  2. print a new emergency sheet: vault --vault {root} emergency-sheet --out "
        "new-sheet.pdf\n"
        "  3. seal the new sheet and destroy the old one; the committee acknowledges the use "
        "with 'vault audit ack'.",
        err=True,
    )


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
    try:
        result = run_recover(
            source,
            dest,
            lambda: _credentials(unlock),
            expect_state=expect_state,
            remote_name=remote_name,
            rebuild_catalog=rebuild_catalog,
            on_progress=bar,
        )
    finally:
        if bar is not None:
            bar.clear()
    _report(result)
    if result.emergency:
        emergency_next_steps(result.root)
    if not result.ok:
        documents = {d.doc_id or d.id for d in result.damaged}
        raise IntegrityError(
            f"{len(result.damaged)} files of the backup are missing or corrupt "
            f"({len(documents)} documents not restored, named above); the rest was restored",
            hint="try another backup of this vault for those documents",
        )
