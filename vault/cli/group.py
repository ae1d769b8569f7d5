"""The ``vault`` group: commands loaded on demand, errors turned into exit codes.

``LazyGroup`` knows each command by the module and name it lives under and a
one-line summary for ``vault --help``, so listing the commands imports none
of them; a command's module is imported only when that command is asked for
(to run it, or for its own ``--help``). This follows click's documented
lazy-loading pattern.

``LazyGroup.invoke`` takes the secret environment variables out of the
environment for the run (``vault.children``), so no program a command starts
inherits them, and is the only place where errors become messages and exit
codes: a ``VaultError`` prints ``vault: error: …`` and ``vault: hint: …`` and
exits with its code; Ctrl-C exits 130. Only the first Ctrl-C interrupts
(``first_interrupt_only``): the ones after it, pressed while the command
tidies up (stops its OCR workers or rclone, removes its temporary files), are
ignored, so the tidying is never cut short, left hanging or ended by a
traceback, and the command still ends with one line and exit 130. An ``OSError`` (disk full,
permission denied, a read-only folder) is the computer refusing, not a bug:
it becomes one line too (``vault.oserror``), exit status 1. Anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import importlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

import click

from vault.errors import ExitCode, VaultError

EXIT_STATUSES = """\b
Exit status: 0 ok, 1 failure, 2 usage, 3 wrong passphrase or key,
4 integrity failure, 5 remote unreachable, 6 some inputs not stored,
7 refused at the key's access level, 130 interrupted."""
SECRETS = "vault.secrets"  # ctx.meta: the secret environment variables of this run


@dataclass(frozen=True)
class Entry:
    """Where a command lives, and the summary ``vault --help`` shows for it."""

    module: str  # e.g. "vault.cli.documents"
    attribute: str  # the click command object in that module
    summary: str  # must equal the command's own short help (a test checks)


def report_error(error: VaultError) -> None:
    from vault.display import escaped  # a message may quote a file name

    click.echo(f"vault: error: {escaped(error.message)}", err=True)
    if error.hint:
        click.echo(f"vault: hint: {escaped(error.hint)}", err=True)


def add_epilog(command: click.Command) -> None:
    """Give a command (and its subcommands) the exit statuses as epilog."""
    command.epilog = command.epilog or EXIT_STATUSES
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_epilog(sub)


@contextlib.contextmanager
def first_interrupt_only() -> Iterator[None]:
    """The first Ctrl-C (SIGINT) raises ``KeyboardInterrupt``; any after it is
    ignored until the process ends (its exit waits for worker processes, and
    a Ctrl-C there would print a traceback). A Ctrl-C already ignored (a
    command started in the background) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN or previous is None:
        yield
        return

    def first(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGINT) is first:  # not interrupted: as it was
            signal.signal(signal.SIGINT, previous)


class LazyGroup(click.Group):
    """A click group whose commands are imported when first used."""

    def __init__(self, *args: Any, lazy: dict[str, Entry] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, Entry] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(self.load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def load(self, cmd_name: str) -> click.Command:
        entry = self.lazy[cmd_name]
        command = getattr(importlib.import_module(entry.module), entry.attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry.module}.{entry.attribute} is not a click command")
        add_epilog(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, as click lays it out, from the table:
        no command is imported."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:
                stand_in = click.Command(name, help=self.lazy[name].summary)
                rows.append((name, stand_in.get_short_help_str(limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Refuse the emergency key typed on the command line in words (groups of
        four) before click takes them for other arguments and echoes them."""
        if "--emergency-key" in " ".join(args):
            from vault.emergency_key import in_arguments, refusal

            if in_arguments(args):
                error = refusal()
                report_error(error)
                ctx.exit(int(error.exit_code))
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        from vault.children import withheld_secrets

        try:
            with first_interrupt_only(), withheld_secrets() as secrets:  # (see both)
                ctx.meta[SECRETS] = secrets
                return super().invoke(ctx)
        except VaultError as error:
            report_error(error)
            ctx.exit(int(error.exit_code))
        except OSError as exc:
            from pathlib import Path

            from vault.oserror import storage_error

            report_error(storage_error(exc, ctx.obj if isinstance(ctx.obj, Path) else None))
            ctx.exit(int(ExitCode.FAILURE))
        except KeyboardInterrupt:
            click.echo("vault: interrupted", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))
        except click.exceptions.Abort as abort:
            if not isinstance(abort.__context__, KeyboardInterrupt):
                raise  # Ctrl-D at a prompt: click's "Aborted!"
            click.echo("vault: interrupted", err=True)  # Ctrl-C at a prompt: as anywhere
            ctx.exit(int(ExitCode.INTERRUPTED))
