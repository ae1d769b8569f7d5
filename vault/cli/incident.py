"""``vault incident record|list|show|note|close``: the breach register (``vault.incidents``).

The kind and times of each breach, and the decision, are in the audit log:
``list`` shows them without the passphrase. The notes and the reason a
breach was judged not reportable can name people: they are kept encrypted
in the catalog, so writing or reading them needs the key.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.common import (
    UnlockSpec,
    given_text,
    json_option,
    opened,
    passphrase_options,
    print_json,
    unlock_options,
    unlocked,
)
from vault.display import indented_text
from vault.errors import UsageError

if TYPE_CHECKING:
    from vault.incidents import Incident

KIND_METAVAR = "lost-paper|device-lost|suspected-hack|wrong-recipient|other"


@click.group()
def incident() -> None:
    """The breach register: record each data breach and what was decided.

    A breach must be reported to the ICO within 72 hours of becoming aware
    of it, unless it is judged not reportable. The kind, the times and the
    decision (with the ICO's reference) go into the audit log, which the
    committee report reads without the passphrase; notes and the reason a
    breach is not reportable can name people, so they are kept encrypted.

    \b
    Example:
        vault incident record --kind device-lost --aware "2026-12-04 09:30"
        vault incident list
        vault incident close I-7K3M9Q --reported-to-ico IC-123456-A1B2
    """


@incident.command(name="record")
@click.option("--kind", required=True, metavar=KIND_METAVAR, help="What happened.")
@click.option(
    "--aware",
    required=True,
    metavar='"YYYY-MM-DD HH:MM"',
    help="When the centre became aware of it, local time (the 72 hours run from then).",
)
@click.option(
    "--note",
    help="What happened and who is affected (kept encrypted). '-' reads it from "
    "standard input; left out on a terminal, it is asked for (not kept in the shell's "
    "history).",
)
@unlock_options
@click.pass_obj
def incident_record(
    root: Path, kind: str, aware: str, note: str | None, unlock: UnlockSpec
) -> None:
    """Record a data breach: its kind, when the centre became aware, a note.

    Prints its id (I-...) and the deadline to report it to the ICO, 72
    hours after AWARE. The note is optional and kept encrypted; the audit
    log holds only the kind and the times.

    \b
    Example:
        vault incident record --kind lost-paper --aware "2026-12-04 09:30"
        vault incident record --kind wrong-recipient --aware "4/12/2026 14:05" --note -
    """
    from vault import clock, incidents

    wanted = incidents.check_kind(kind)
    when = incidents.parse_aware(aware)
    text = incidents.check_text(
        _text(
            note, "Note (what happened, who is affected; kept encrypted; Enter for none)", "--note"
        ),
        "--note",
    )
    with unlocked(root, unlock) as vault:
        found = incidents.record_incident(vault, wanted, when, text)
    click.echo(
        f"Recorded incident {found.id} ({incidents.KIND_WORDS[found.kind]}): aware "
        f"{clock.shown(found.aware)}."
    )
    click.echo(
        f"Deadline to report it to the ICO: {clock.shown(found.deadline)} "
        f"({found.time_left(clock.now())})."
    )
    click.echo(
        f"Once decided: vault incident close {found.id} --reported-to-ico REF "
        "(or --not-reportable --reason TEXT)."
    )


@incident.command(name="list")
@json_option
@click.option("--notes", is_flag=True, help="Show each one's notes and reason too (needs the key).")
@unlock_options
@click.pass_obj
def incident_list(root: Path, as_json: bool, notes: bool, unlock: UnlockSpec) -> None:
    """List every data breach: kind, times, deadline or decision.

    Open ones show the deadline to report them to the ICO (72 hours after
    becoming aware) and the time left or how long overdue; closed ones the
    decision and the ICO's reference. Needs no passphrase, except with
    --notes.

    \b
    Example:
        vault incident list
        vault incident list --notes
        vault incident list --json
    """
    from vault import clock, incidents

    now = clock.now()
    secret: dict[str, dict[str, Any] | None] = {}
    if notes:
        with unlocked(root, unlock, reading=True) as vault:
            found = incidents.register(vault.audit.entries())
            secret = {i.id: incidents.encrypted_part(vault, i.id) for i in found}
            if found:
                vault.audit.append(incidents.SHOW, [i.id for i in found])
    else:
        with opened(root, reading=True) as vault:
            found = incidents.register(vault.audit.entries())
    if as_json:
        print_json([_as_json(i, now, secret, notes) for i in found])
        return
    if not found:
        click.echo("No data breach has been recorded.")
        return
    for n, item in enumerate(found):
        if n and notes:
            click.echo()
        click.echo(
            f"{item.id}  {incidents.KIND_WORDS.get(item.kind, item.kind)}  aware "
            f"{clock.shown(item.aware)}  recorded {clock.shown(item.recorded)}"
        )
        click.echo(f"  {_status(item, now)}")
        if item.expectation:
            click.echo(f"  {_expected_line(item)}")
        if notes:
            for line in _secret_lines(secret.get(item.id)):
                click.echo(f"  {line}")


@incident.command(name="show")
@click.argument("incident_id", metavar="ID")
@json_option
@unlock_options
@click.pass_obj
def incident_show(root: Path, incident_id: str, as_json: bool, unlock: UnlockSpec) -> None:
    """Show one data breach with its notes and reason (needs the key).

    \b
    Example:
        vault incident show I-7K3M9Q
    """
    from vault import clock, incidents

    now = clock.now()
    with unlocked(root, unlock, reading=True) as vault:
        item = incidents.find(incidents.register(vault.audit.entries()), incident_id)
        secret = {item.id: incidents.encrypted_part(vault, item.id)}
        vault.audit.append(incidents.SHOW, [item.id])
    if as_json:
        print_json(_as_json(item, now, secret, True))
        return
    click.echo(f"{item.id}  {incidents.KIND_WORDS.get(item.kind, item.kind)}")
    click.echo(f"  aware:    {clock.shown(item.aware)}")
    click.echo(f"  recorded: {clock.shown(item.recorded)}")
    click.echo(f"  {_status(item, now)}")
    if item.expectation:
        click.echo(f"  {_expected_line(item)}")
    for line in _secret_lines(secret[item.id]):
        click.echo(f"  {line}")


@incident.command(name="note")
@click.argument("incident_id", metavar="ID")
@click.option(
    "--note",
    help="The note (kept encrypted); '-' reads it from standard input; left out on a "
    "terminal, it is asked for.",
)
@unlock_options
@click.pass_obj
def incident_note(root: Path, incident_id: str, note: str | None, unlock: UnlockSpec) -> None:
    """Add a note to a data breach, open or closed (kept encrypted).

    \b
    Example:
        vault incident note I-7K3M9Q --note "the laptop was found; the disk was encrypted"
    """
    from vault import incidents

    text = incidents.check_text(_text(note, "Note (kept encrypted)", "--note"), "--note")
    if text is None:
        raise UsageError("no note given", hint='give it with --note "..." (or --note -)')
    with unlocked(root, unlock) as vault:
        found = incidents.add_note(vault, incident_id, text)
    click.echo(f"Added a note to incident {found.id}.")


@incident.command(name="close")
@click.argument("incident_id", metavar="ID")
@click.option("--reported-to-ico", "ico", metavar="REF", help="Reported: the ICO's case reference.")
@click.option("--not-reportable", is_flag=True, help="Judged not reportable (give --reason).")
@click.option(
    "--reason",
    help="Why it is not reportable (kept encrypted); '-' reads it from standard input; "
    "left out on a terminal, it is asked for.",
)
@passphrase_options
@click.pass_obj
def incident_close(
    root: Path,
    incident_id: str,
    ico: str | None,
    not_reportable: bool,
    reason: str | None,
    passphrase_file: Path | None,
) -> None:
    """Close a data breach: reported to the ICO, or not reportable, and why.

    The decision and the ICO's reference go into the audit log (and the
    committee report); the reason is kept encrypted. A decision is recorded
    once: closing an unknown id exits 1, one already closed exits 2. Unlock
    with the passphrase or 'vault unlock' (here --reason is the decision's
    reason: to use the emergency key, 'vault unlock --emergency-key' first).

    \b
    Example:
        vault incident close I-7K3M9Q --reported-to-ico IC-123456-A1B2
        vault incident close I-7K3M9Q --not-reportable --reason "papers found unopened"
    """
    from vault import clock, incidents

    if (ico is None) == (not not_reportable):
        raise UsageError(
            "give either --reported-to-ico REF or --not-reportable --reason TEXT",
            hint="the decision about reporting the breach to the ICO",
        )
    if ico is not None:
        if reason is not None:
            raise UsageError(
                "--reason goes with --not-reportable",
                hint="add a note with 'vault incident note ID --note TEXT'",
            )
        ico = incidents.check_ico_reference(ico)
    else:
        reason = incidents.check_text(
            _text(reason, "Why is it not reportable (kept encrypted)", "--reason"), "--reason"
        )
        if reason is None:
            raise UsageError(
                "--not-reportable needs --reason TEXT",
                hint="say why the breach is unlikely to harm anyone (kept encrypted)",
            )
    with unlocked(root, UnlockSpec(passphrase_file)) as vault:
        found = incidents.close_incident(vault, incident_id, ico=ico, reason=reason)
    click.echo(
        f"Closed incident {found.id} on {clock.shown(found.closed)}: {found.decision_words()}."
    )


# --- shown ------------------------------------------------------------------------


def _text(value: str | None, prompt: str, option: str) -> str | None:
    """A note or reason: as given, from standard input ('-'), or asked on a terminal."""
    return given_text(value, prompt, option)


def _status(item: Incident, now: datetime) -> str:
    from vault import clock

    if item.open:
        return f"open: report to the ICO by {clock.shown(item.deadline)}, {item.time_left(now)}"
    return f"closed {clock.shown(item.closed)}: {item.decision_words()}"


def _expected_line(item: Incident) -> str:
    return f"expected post {item.expectation} never came ('vault expect list' shows it)"


def _secret_lines(secret: dict[str, Any] | None) -> list[str]:
    from vault import clock

    if secret is None:
        return [
            "notes: not available (this catalog was rebuilt from the document manifests, "
            "which do not hold them)"
        ]
    lines = []
    if secret["partial"]:
        lines.append("notes from before the catalog was rebuilt: not available")
    if not secret["notes"] and not secret["partial"]:
        lines.append("notes: none")
    for note in secret["notes"]:
        text = indented_text(str(note["text"]))
        lines.append(f"note, {clock.shown(note.get('time'))}: {text}")
    if secret["reason"] is not None:
        text = indented_text(str(secret["reason"]))
        lines.append(f"not reportable because: {text}")
    return lines


def _as_json(
    item: Incident, now: datetime, secret: dict[str, dict[str, Any] | None], notes: bool
) -> dict[str, Any]:
    found = item.as_dict(now)
    if notes:
        part = secret.get(item.id)
        found["notes_available"] = part is not None and not part["partial"]
        found["notes"] = part["notes"] if part is not None else None
        found["reason"] = part["reason"] if part is not None else None
    return found
