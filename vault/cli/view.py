"""Reading a document without leaving a copy (``view``), and the readable
copies the vault knows of outside itself (``copies``)."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from vault.cli.common import UnlockSpec, json_option, print_json, unlock_options, unlocked
from vault.display import escaped
from vault.errors import UsageError, VaultError

if TYPE_CHECKING:
    from vault.copies import Copy

VIEWER_ENV = "VAULT_VIEWER"
MINUTES_ENV = "VAULT_VIEW_MINUTES"
CLOSED, TIME_UP, HANDED_ON = "closed", "time up", "handed on"


@click.command()
@click.argument("doc_id", metavar="ID")
@click.option(
    "--searchable", is_flag=True, help="Open the searchable PDF made by OCR, not the original."
)
@click.option(
    "--minutes",
    type=click.FloatRange(min=0.01),
    default=10.0,
    show_default=True,
    envvar=MINUTES_ENV,
    help=f"Remove the temporary copy after this long at the latest (or {MINUTES_ENV}).",
)
@unlock_options
@click.pass_obj
def view(root: Path, doc_id: str, searchable: bool, minutes: float, unlock: UnlockSpec) -> None:
    """Open a document in the computer's viewer, leaving no copy behind.

    The document is decrypted into a private temporary folder (in memory
    where the computer allows), opened with the computer's usual viewer
    (xdg-open on Linux, open on macOS) or with the program in VAULT_VIEWER,
    and removed when that program ends or after --minutes, whichever comes
    first. The computer's usual viewer often returns at once while the
    document is still open: the copy is then removed after --minutes by a
    small background task (or by the next vault command, if the computer
    was switched off meanwhile). Each view is recorded in the audit log.

    \b
    Example:
        vault view D-7K3M9Q
        VAULT_VIEWER=evince vault view D-7K3M9Q --minutes 30
    """
    from vault.viewing import open_copy

    argv, waits = _viewer()
    with _ended_as_interrupt():  # kill or a closed window: the copy still goes
        with unlocked(root, unlock, reading=True) as vault:
            copy = open_copy(
                vault, doc_id, version="searchable" if searchable else "original", minutes=minutes
            )
            vault_root = vault.root
        ended = CLOSED
        try:
            ended = _run_viewer([*argv, str(copy.path)], minutes, waits=waits)
        finally:
            if ended != HANDED_ON:
                copy.close()
    doc = copy.row["id"]
    if ended == HANDED_ON:
        _remove_later(vault_root, copy.path, copy.expires - time.time())
        click.echo(f"Opened {doc}; its temporary copy is removed in {_minutes(minutes)}.", err=True)
    elif ended == TIME_UP:  # the viewer stays open; its file is gone
        click.echo(f"The time is up: the temporary copy of {doc} is removed.", err=True)
    else:
        click.echo(f"Closed {doc}; its temporary copy is removed.", err=True)


@contextlib.contextmanager
def _ended_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``) and SIGHUP (the terminal window closed) raise
    ``KeyboardInterrupt`` here, as Ctrl-C does, so the copy is removed at
    once rather than left until the next vault command; any after the
    first is ignored while it is removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s]
    previous = {signum: signal.getsignal(signum) for signum in wanted}
    caught = [s for s in wanted if previous[s] is not signal.SIG_IGN]  # nohup stays nohup

    def ended(signum: int, frame: FrameType | None) -> None:
        for each in caught:
            signal.signal(each, signal.SIG_IGN)
        raise KeyboardInterrupt

    for signum in caught:
        signal.signal(signum, ended)
    try:
        yield
    finally:
        for signum in caught:
            handler = previous[signum]
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _minutes(minutes: float) -> str:
    whole = round(minutes)
    if abs(minutes - whole) < 1e-9 and whole >= 1:
        return f"{whole} minute{'s' if whole != 1 else ''}"
    return f"{round(minutes * 60)} seconds"


def _viewer() -> tuple[list[str], bool]:
    """The viewer's command, and whether it waits until the document is closed."""
    chosen = os.environ.get(VIEWER_ENV, "").strip()
    if chosen:
        try:
            argv = shlex.split(chosen)
        except ValueError as exc:
            raise UsageError(f"{VIEWER_ENV} cannot be read: {exc}") from None
        return argv, True
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    if sys.platform == "win32":  # pragma: no cover - Windows
        return ["explorer"], False
    if shutil.which(opener) is None:
        raise UsageError(
            f"no viewer found ({opener} is not installed)",
            hint=f"set {VIEWER_ENV} to the program that opens documents, e.g. evince",
        )
    return [opener], False


def _run_viewer(argv: list[str], minutes: float, *, waits: bool) -> str:
    """Run the viewer: CLOSED when it ended, TIME_UP when --minutes passed
    first (remove the copy), HANDED_ON when it passed the file to another
    program and returned (the copy must stay a while)."""
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    except OSError as exc:
        raise UsageError(
            f"the viewer {escaped(argv[0])} cannot be started: {exc.strerror}",
            hint=f"set {VIEWER_ENV} to the program that opens documents",
        ) from None
    try:
        code = proc.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        return TIME_UP
    if code != 0:
        raise VaultError(
            f"the viewer {escaped(argv[0])} failed (exit status {code})",
            hint=f"set {VIEWER_ENV} to the program that opens documents",
        )
    return CLOSED if waits else HANDED_ON


def _remove_later(root: Path, path: Path, seconds: float) -> None:
    """Start the detached task that removes the copy once its time is up."""
    argv = [sys.executable, "-m", "vault.view_remover", str(root), str(path), f"{seconds:.1f}"]
    detached = getattr(subprocess, "DETACHED_PROCESS", 0)  # Windows; elsewhere a new session
    with contextlib.suppress(OSError):  # else the next vault command removes it when time is up
        subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=sys.platform != "win32",
            creationflags=detached,
        )


def readable_copies(root: Path) -> list[Copy]:
    """The readable copies outside the vault at ``root`` that the vault knows of."""
    from ingest.quarantine import quarantine_folder, quarantined_files
    from vault import copies
    from vault.repository import Vault

    quarantined: list[Path] = []
    with contextlib.suppress(VaultError, OSError):
        vault = Vault.open(root)
        quarantined = quarantined_files(quarantine_folder(vault.root, None, vault.config))
    return copies.found(root, quarantined=quarantined)


@click.command(name="copies")
@click.option(
    "--delete",
    "delete",
    is_flag=True,
    help="Delete them all (on a terminal, after asking; elsewhere only with --yes).",
)
@click.option("--yes", is_flag=True, help="With --delete: do not ask.")
@json_option
@click.pass_obj
def copies_command(root: Path, delete: bool, yes: bool, as_json: bool) -> None:
    """List the readable copies outside the vault (exports, views, kept scans).

    Exports not yet deleted, documents open with 'vault view', scans kept in
    a watch's --processed folder and unencrypted files in the quarantine can
    be read by anyone using this computer. 'vault status' counts them
    without naming them; this lists them, one path a line, so they can be
    checked, and --delete deletes them all. An export is only counted (and
    deleted) if it is still the very file the vault wrote. No passphrase is
    needed.

    \b
    Example:
        vault copies
        vault copies --delete
    """
    from vault import copies
    from vault.repository import require_vault

    require_vault(root)
    found = readable_copies(root)
    if as_json and not delete:
        print_json([{"kind": c.kind, "path": str(c.path)} for c in found])
        return
    if not found:
        click.echo("No readable copies outside the vault that it knows of.")
        return
    for c in found:
        click.echo(f"{c.kind:<11} {escaped(c.path)}")
    if not delete:
        click.echo(f"{copies.summary(found)}: delete each one when you are done with it.", err=True)
        return
    if not yes:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise UsageError("--delete asks first on a terminal", hint="add --yes in a script")
        try:
            agreed = click.confirm(f"Delete these {len(found)}?", default=False, err=True)
        except click.Abort:
            raise KeyboardInterrupt from None
        if not agreed:
            return
    deleted, failed = copies.delete(found)
    copies.found(root)  # forget them
    click.echo(f"Deleted {deleted} readable cop{'y' if deleted == 1 else 'ies'}.", err=True)
    for path, why in failed:
        click.echo(f"vault: not deleted: {escaped(path)}: {escaped(why)}", err=True)
    if failed:
        raise VaultError(f"{len(failed)} readable copies could not be deleted")
