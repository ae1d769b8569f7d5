"""Options and helpers shared by the CLI modules: secrets, opening, output.

Secrets come, in order, from ``--passphrase-file``, ``VAULT_PASSPHRASE``, the
key agent while the vault is unlocked (``vault unlock``, ``vault.agent_client``)
or a prompt on a terminal (three tries); the emergency key from
``--emergency-key`` (a file, an image of the sheet, or a hidden prompt; never
the command line, see ``vault.emergency_key``). They are never echoed or logged.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vault.cli.group import SECRETS
from vault.errors import IntegrityError, StorageError, UsageError, WrongKeyError

if TYPE_CHECKING:  # the repository (pyrage, sqlite) is imported when a command runs
    from ingest.pipeline import Failed
    from vault.repository import Vault

F = TypeVar("F", bound=Callable[..., Any])

DOC_TYPES = ["referral", "court-order", "letter", "other"]


def passphrase_options(func: F) -> F:
    func = click.option(
        "--passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Read the passphrase from this file (first line). Or set VAULT_PASSPHRASE.",
    )(func)
    return func


def new_passphrase_option(whose: str) -> Callable[[F], F]:
    """Add --new-passphrase-file (``whose``: "the new passphrase", say)."""
    return click.option(
        "--new-passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"Read {whose} from this file. Or set VAULT_NEW_PASSPHRASE.",
    )


@dataclass(frozen=True)
class UnlockSpec:
    """How the user asked to unlock: passphrase (file, environment, prompt)
    or the emergency key with a reason."""

    passphrase_file: Path | None = None
    emergency_key: str | None = None
    reason: str | None = None


def unlock_options(func: F) -> F:
    """Add --passphrase-file, --emergency-key and --reason, passed on as ``unlock``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["unlock"] = UnlockSpec(
            kwargs.pop("passphrase_file"), kwargs.pop("emergency_key"), kwargs.pop("reason")
        )
        return func(*args, **kwargs)

    wrapped = click.option(
        "--reason", help="Why the emergency key is being used (recorded in the audit log)."
    )(wrapper)
    wrapped = click.option(
        "--emergency-key",
        metavar="FILE|IMAGE|-",
        is_flag=False,
        flag_value="-",
        help="Unlock with the sealed emergency key: a file holding it, a photo or scan "
        "of the emergency sheet (its QR code is read), or '-' (or no value) to type it "
        "at a hidden prompt. Never the key itself: the command line is not secret.",
    )(wrapped)
    return passphrase_options(wrapped)  # type: ignore[return-value]


def max_pages_option(func: F) -> F:
    """--max-pages, for ingest and watch."""
    return click.option(
        "--max-pages",
        type=click.IntRange(min=1),
        help="Refuse documents longer than this (default: max_pages in config.json, else 200).",
    )(func)


def quarantine_options(func: F) -> F:
    """--quarantine and --max-pages, for watch."""
    func = max_pages_option(func)
    return click.option(
        "--quarantine",
        "quarantine_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where unreadable files are moved (default: quarantine_dir in the vault's "
        "config.json, else a 'quarantine' folder beside the vault folder).",
    )(func)


def verbose_option(func: F) -> F:
    return click.option(
        "--verbose",
        "-v",
        is_flag=True,
        help="Name files by their full path (by default only by name, so that a "
        "scheduled task's log holds no folder names).",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON only.")(func)


def read_secret_file(path: Path, what: str) -> str:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the {what} file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise UsageError(
            f"the {what} file {path} is not UTF-8 text",
            hint="save it as UTF-8 (plain text) and try again",
        ) from None
    line = text.splitlines()[0] if text.strip() else ""
    if not line:
        raise UsageError(f"the {what} file {path} is empty")
    return line


def typed_text(value: str | None, option: str) -> str | None:
    """Text given on the command line, ``value``; refused when it holds bytes
    that are not UTF-8 (a terminal or script in another encoding), which
    Python keeps as lone surrogates that no file or database can store."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(
                f"{option}: the text is not UTF-8",
                hint="type it again in a terminal that uses UTF-8",
            ) from None
    return value


def standard_input_text(option: str) -> str:
    """All of standard input as UTF-8 text (``option`` is named if it is not)."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    if isinstance(data, str):
        return typed_text(data, option) or ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(
            f"{option}: standard input is not UTF-8 text",
            hint="save it as UTF-8 (plain text) and try again",
        ) from None


def given_text(value: str | None, prompt: str | None, option: str) -> str | None:
    """A note or reason: as given, from standard input ('-'), or, with a
    ``prompt``, asked for on a terminal (so it stays out of the shell's history)."""
    if value == "-":
        return standard_input_text(option)
    if value is None and prompt is not None and sys.stdin.isatty():
        answer: str = click.prompt(prompt, default="", show_default=False, err=True)
        return typed_text(answer, option)
    return typed_text(value, option)


def available_passphrase(passphrase_file: Path | None, env: str = "VAULT_PASSPHRASE") -> str | None:
    """A passphrase given without asking (file or environment), or None."""
    if passphrase_file is not None:
        return read_secret_file(passphrase_file, "passphrase")
    return os.environ.get(env) or _withheld(env) or None


def _withheld(name: str) -> str | None:
    """A secret variable the command took out of the environment (``vault.cli.group``)."""
    ctx = click.get_current_context(silent=True)
    secrets = ctx.meta.get(SECRETS, {}) if ctx is not None else {}
    return secrets.get(name)


def get_passphrase(
    passphrase_file: Path | None,
    *,
    env: str = "VAULT_PASSPHRASE",
    confirm: bool = False,
    prompt: str = "Passphrase",
) -> str:
    found = available_passphrase(passphrase_file, env)
    if found is not None:
        return found
    if not sys.stdin.isatty():
        raise UsageError(
            f"no {prompt.lower()} given",
            hint=f"type it on a terminal (or run 'vault unlock' there first), or set {env}, "
            "or give it in a file",
        )
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    return value


def _emergency_secret(value: str) -> str:
    from vault import emergency_key

    if value == "-":
        return emergency_key.from_answer(_ask_emergency_key())
    return emergency_key.from_file(Path(value).expanduser())


def _refuse_key_on_command_line(value: str) -> None:
    from vault import emergency_key

    if value == "-" or _exists(Path(value).expanduser()):
        return  # a file of that name is a file, whatever it is called
    if emergency_key.looks_like_key(value):
        raise emergency_key.refusal()


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long to be a file, say
        return False


def _ask_emergency_key() -> str:
    """A hidden prompt on a terminal; otherwise the first line of standard input."""
    if sys.stdin.isatty():
        answer: str = click.prompt(
            "Emergency key (spaces and case do not matter)", hide_input=True, err=True
        )
        return answer
    return sys.stdin.readline()


@contextlib.contextmanager
def opened(root: Path, *, reading: bool = False) -> Iterator[Vault]:
    """Open the vault under its lock. A ``reading`` command also works on a
    vault that cannot be written (``vault.readonly``) and warns of what it
    could not record."""
    from vault.readonly import adapt as read_only_adapt
    from vault.repository import Vault

    vault = Vault.open(root)
    vault.lock.read_only_ok = reading
    with vault.lock:
        read_only_adapt(vault)
        yield vault
        warn_if_read_only(vault)


def warn_if_key_register_damaged(vault: Vault) -> None:
    """Say that the list of keys is damaged (unlocking went on without it)."""
    if vault.key_register_damaged:
        click.echo(
            "vault: warning: the list of the vault's keys (keys/people.json) is damaged "
            "or was altered (it was not used)",
            err=True,
        )
        click.echo("vault: hint: bring it back from a backup: vault repair NAME", err=True)


def warn_if_read_only(vault: Vault) -> None:
    """Say what a command could not record or show on a read-only vault."""
    from vault.readonly import notes as read_only_notes

    if vault.lock.read_only:
        unfolded = len(vault.journal_entries()) if vault.key is not None else 0
        for note in read_only_notes(vault.audit, unfolded):
            click.echo(f"vault: warning: {note}", err=True)


@dataclass(frozen=True)
class Secret:
    """What the user gave to unlock: the passphrase, or the emergency key and a reason."""

    passphrase: str | None = field(default=None, repr=False)
    emergency_key: str | None = field(default=None, repr=False)
    reason: str | None = None


def read_secret(spec: UnlockSpec, *, ask_reason: bool = False) -> Secret:
    """The passphrase (file, environment, prompt) or the emergency key with its
    reason; ``ask_reason``: prompt for a missing reason on a terminal."""
    if not spec.emergency_key:
        return Secret(passphrase=get_passphrase(spec.passphrase_file))
    _refuse_key_on_command_line(spec.emergency_key)
    reason = (spec.reason or "").strip()
    if not reason and ask_reason and sys.stdin.isatty():
        reason = str(click.prompt("Why is the emergency key being used", err=True)).strip()
    if not reason:
        raise UsageError(
            "--reason is required with --emergency-key",
            hint='e.g. --reason "coordinator on leave, court deadline"',
        )
    return Secret(emergency_key=_emergency_secret(spec.emergency_key), reason=reason)


@contextlib.contextmanager
def unlocked(
    root: Path,
    spec: UnlockSpec,
    *,
    reading: bool = False,
    agent: bool = True,
    next_steps: bool = True,
) -> Iterator[Vault]:
    """Open the vault under its lock and unlock it (``reading``: see ``opened``;
    ``agent``: see ``unlock_vault``); after the emergency key, say what to do
    next (unless ``next_steps`` is False: a command that does those steps)."""
    if spec.emergency_key:
        _refuse_key_on_command_line(spec.emergency_key)
    with opened(root, reading=reading) as vault:
        if spec.emergency_key and vault.lock.read_only:
            raise StorageError(
                "the vault is read-only, and every use of the emergency key must be "
                "recorded in its audit log",
                hint="make the vault folder writable, or use the passphrase",
            )
        emergency = unlock_vault(vault, spec, agent=agent)
        warn_if_key_register_damaged(vault)
        yield vault
        if vault.dropped_duplicates:
            from vault.cli.dropped import report_dropped

            report_dropped(vault)
        if vault.matched_expectations:
            from vault.cli.dropped import report_matched

            report_matched(vault)
        if vault.set_aside:  # reported once the command has done and shown the rest
            click.get_current_context().call_on_close(lambda: report_set_aside(vault))
    if emergency and next_steps:
        emergency_next_steps(root)


PROMPT_TRIES = 3
ENVELOPE_HINT = (
    "check Caps Lock; if the passphrase is lost, the committee's sealed emergency "
    'envelope opens the vault: vault unlock --emergency-key --reason "..."'
)


def unlock_vault(vault: Vault, spec: UnlockSpec, *, agent: bool = True) -> bool:
    """Unlock ``vault`` as the user asked, in this order: the emergency key (each
    use audited); a passphrase given without asking (file or environment: one
    try); the key ``vault unlock`` left with the agent (unless not ``agent``:
    commands that change keys ask again); else a prompt on a terminal, three
    tries. True when the emergency key was used."""
    if spec.emergency_key:
        secret = read_secret(spec)
        vault.unlock_with_emergency_key(secret.emergency_key or "", secret.reason or "")
        return True
    given = available_passphrase(spec.passphrase_file)
    if given is not None:
        where = spec.passphrase_file or "VAULT_PASSPHRASE"
        try:
            vault.unlock(given)
        except WrongKeyError as exc:
            hint = f"check the passphrase in {where}"
            raise WrongKeyError("wrong passphrase", hint=hint) from exc
    elif not (agent and unlock_from_agent(vault)):
        _ask_until_unlocked(vault)
    refuse_at_level(vault)
    return False


# What a key of an access level other than full may do (``vault.levels``):
# read and search the documents granted to its level, and unlock for the session.
LEVEL_COMMANDS = frozenset({"list", "search", "show", "view", "unlock"})


def command_name() -> str:
    """The command running, as typed after ``vault`` ("export", "key add")."""
    ctx = click.get_current_context(silent=True)
    names = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


def refuse_at_level(vault: Vault) -> None:
    """Refuse (exit 7) every command but ``LEVEL_COMMANDS`` when a key of an
    access level other than full unlocked; the refusal goes in the audit log
    (with the key's label and level)."""
    if vault.level_key is None:
        return
    name = command_name()
    if name in LEVEL_COMMANDS:
        return
    from vault.key_register import level_refusal

    if vault.lock.held and not vault.lock.read_only:
        with contextlib.suppress(OSError):
            vault.audit.append("refused", [], command=name)
    raise level_refusal(vault.key_label or "?", vault.level, f"'vault {name}'")


def unlock_from_agent(vault: Vault) -> bool:
    """Unlock with the key the agent holds for this folder; False (and the
    agent forgets it) when there is none or it no longer opens this vault."""
    from vault import agent_client

    held = agent_client.fetch_key(vault.root)
    if held is None:
        return False
    if held.vault_id == vault.vault_id:
        try:
            vault.unlock_with_data_secret(held.secret, held.label)
        except WrongKeyError:
            pass
        else:
            return True
    agent_client.forget(vault.root)
    click.echo(
        "vault: the unlocked key no longer opens this vault (its keys changed); it was forgotten",
        err=True,
    )
    return False


def _ask_until_unlocked(vault: Vault) -> None:
    """Ask for the passphrase on a terminal until it unlocks ``vault``
    (``ask_with_tries``)."""
    ask_with_tries(vault.unlock)


def ask_with_tries(check: Callable[[str], object]) -> str:
    """Ask for the passphrase on a terminal, up to ``PROMPT_TRIES`` times, until
    ``check`` (which raises WrongKeyError for a wrong one) accepts it; only the
    last wrong one points to the emergency envelope. Not on a terminal: says how
    to give it (exit 2)."""
    if not sys.stdin.isatty():
        get_passphrase(None)  # says how to give it
    for attempt in range(1, PROMPT_TRIES + 1):
        passphrase: str = click.prompt("Passphrase", hide_input=True, err=True)
        try:
            check(passphrase)
            return passphrase
        except WrongKeyError as exc:
            left = PROMPT_TRIES - attempt
            if not left:
                raise WrongKeyError(
                    f"wrong passphrase ({PROMPT_TRIES} tries)", hint=ENVELOPE_HINT
                ) from exc
            click.echo(
                f"Wrong passphrase; try again ({left} {'try' if left == 1 else 'tries'} left).",
                err=True,
            )
    raise AssertionError("unreachable")


def will_prompt(spec: UnlockSpec) -> bool:
    """True when the passphrase will be asked for at a prompt: no emergency key,
    no passphrase file or VAULT_PASSPHRASE, and a terminal."""
    return (
        not spec.emergency_key
        and available_passphrase(spec.passphrase_file) is None
        and sys.stdin.isatty()
    )


def report_set_aside(vault: Vault) -> None:
    """Exit 4 naming the journal entries this command set aside."""
    shown = "; ".join(f"{name[:12]}: {reason}" for name, reason in vault.set_aside[:3])
    more = f" and {len(vault.set_aside) - 3} more" if len(vault.set_aside) > 3 else ""
    count = len(vault.set_aside)
    raise IntegrityError(
        f"{count} journal entr{'y was' if count == 1 else 'ies were'} set aside, "
        f"not trusted ({shown}{more})",
        hint="everything else was done; they are kept in journal-set-aside.log, "
        "their files untouched",
    )


def refused(failed: list[Failed], what: str) -> StorageError:
    """The error for files the computer refused to store (disk full, no
    permission): status 1, never 4 or 6. ``what``: "2 of 5 inputs"."""
    first = failed[0]
    return StorageError(
        f"{what} were not stored: {first.reason}",
        hint="they are still where they were; free space (or fix the permissions) "
        "and run the same command again",
        errno=first.errno,
    )


def emergency_next_steps(root: Path) -> None:
    """After an emergency opening: what to do next, in plain words, on stderr."""
    click.echo(
        "The emergency key was used; the time and the reason are in the audit log.\n"
        "Whoever has read the sealed sheet can open the vault. Next:\n"
        f"  1. set a new passphrase:        vault --vault {root} passwd "
        '--emergency-key FILE --reason "..."\n'
        f"  2. print a new emergency sheet: vault --vault {root} emergency-sheet --out "
        "new-sheet.pdf\n"
        "     (seal it; the old sheet stops working, here now and on the backups at the "
        "next sync)\n"
        "  3. the committee records the use in its minutes, then: vault audit ack",
        err=True,
    )


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


class _Silent:
    """Stands in for a progress bar under --quiet."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items

    def __enter__(self) -> _Silent:
        return self

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, steps: int) -> None:
        return None


def progress(items: Iterable[Any], *, label: str, length: int, quiet: bool) -> Any:
    """A progress bar on stderr, only on a terminal and without --quiet."""
    if quiet or not sys.stderr.isatty():
        return _Silent(items)
    return click.progressbar(items, length=length, label=label, file=sys.stderr)


def split_options(command: F) -> F:
    """``--no-split`` and ``--split-on-blank``: how batch scans are split."""
    command = click.option(
        "--split-on-blank",
        "split_on_blank",
        flag_value=True,
        default=None,
        help="Split batch scans at blank pages too, as at separator sheets (for one-sided "
        "batches without sheets; off by default: duplex scans are full of blank backs). "
        'config.json may set "split_on_blank": true.',
    )(command)
    return click.option(
        "--no-split",
        is_flag=True,
        help="Store each file whole, even a batch scan with separator sheets.",
    )(command)


class DocumentProgress:
    """``rotate: 10/40 documents, 12.0 MB/40.0 MB, about 0:05 left``, redrawn
    in place on stderr by a command that works through documents (``rotate``,
    ``bundle``): called with the documents and bytes done and in all."""

    def __init__(self, name: str) -> None:
        from vault.display import StatusLine

        self._name = name
        self._line = StatusLine(sys.stderr)
        self._start = time.monotonic()

    def __call__(self, done: int, total: int, done_bytes: int, total_bytes: int) -> None:
        from sync.progress import human_bytes

        text = f"{self._name}: {done}/{total} documents, {human_bytes(done_bytes)}/"
        text += human_bytes(total_bytes)
        elapsed = time.monotonic() - self._start
        if 0 < done_bytes < total_bytes and elapsed > 1:
            seconds = int(elapsed * (total_bytes - done_bytes) / done_bytes)
            text += f", about {seconds // 60}:{seconds % 60:02d} left"
        self._line.show(text)

    def clear(self) -> None:
        self._line.clear()
