"""``vault expect add|list|received|cancel|chase|lost``: expected post (``vault.expected``).

The type, due day and state of each expectation are in the audit log:
``list`` shows them without the passphrase. The family, the sender and the
notes can point to people: they are kept encrypted in the catalog, so
writing or reading them needs the key.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault.cli.common import (
    DOC_TYPES,
    UnlockSpec,
    given_text,
    json_option,
    opened,
    passphrase_options,
    print_json,
    typed_text,
    unlock_options,
    unlocked,
)
from vault.display import escaped, indented_text
from vault.errors import UsageError

if TYPE_CHECKING:
    from vault.expected import Expectation

STATE_CHOICES = ("all", "open", "overdue", "received", "written-off", "cancelled", "lost")
RECENT = timedelta(days=90)  # documents stored this recently may be the one expected


@click.group()
def expect() -> None:
    """Expected post: what a sender says is on its way, matched when it comes.

    Record each document a sender says was posted (a court order, a
    referral): when a document of that type for that family is stored, it
    is marked received, and 'vault ingest' and 'vault watch' say so. One
    that does not come by its day is overdue: 'vault status' and the
    committee report count it; chase the sender, and if it is lost, record
    it as a data breach ('vault expect lost'). The type, the due day and the
    state go into the audit log (the committee report reads them without the
    passphrase); the family, the sender and the notes are kept encrypted.

    \b
    Example:
        vault expect add --what court-order --family F-0042 --from "Family Court" --by 2026-12-10
        vault expect list
        vault expect chase E-4H2K8P --asked 2026-12-11
    """


@expect.command(name="add")
@click.option("--what", "doc_type", required=True, metavar="|".join(DOC_TYPES), help="Its type.")
@click.option("--family", required=True, metavar="REF", help="The family it is about (F-0042).")
@click.option(
    "--from", "sender", required=True, metavar="SENDER", help="Who sent it (kept encrypted)."
)
@click.option("--by", "due", required=True, metavar="DATE", help="The day it should have come by.")
@click.option("--note", help="A note (kept encrypted); '-' reads it from standard input.")
@unlock_options
@click.pass_obj
def expect_add(
    root: Path,
    doc_type: str,
    family: str,
    sender: str,
    due: str,
    note: str | None,
    unlock: UnlockSpec,
) -> None:
    """Record a document that a sender says is on its way, due by a day.

    Prints its id (E-...). When a document of that type for that family is
    stored, it is marked received. A day already past is taken: the
    expectation is overdue at once. The family, the sender and the note are
    kept encrypted; the audit log holds only the type and the day.

    \b
    Example:
        vault expect add --what court-order --family F-0042 --from "Family Court" --by 2026-12-10
        vault expect add --what referral --family F-0051 --from "Cafcass" --by 4/1/2027 --note -
    """
    from vault import clock, dates, expected
    from vault import family as families

    today = clock.local_date(clock.now())
    wanted = expected.check_type(doc_type, DOC_TYPES)
    ref = families.normalise(family)
    by = expected.parse_day(due, "--by", today)
    who = expected.check_sender(typed_text(sender, "--from") or "")
    text = expected.check_text(given_text(note, None, "--note"), "--note")
    with unlocked(root, unlock) as vault:
        found = expected.add_expectation(vault, wanted, ref, who, by, text)
        earlier = [
            (doc_id, received)
            for doc_id, received in expected.earlier_arrivals(vault, wanted, ref)
            if (when := clock.parse(received)) is not None and clock.now() - when <= RECENT
        ]
    click.echo(
        f"Expecting {_a(wanted)} for family {ref} from {escaped(who)} by {dates.spoken(by)}: "
        f"{found.id}."
    )
    if found.overdue(today):
        click.echo(
            f"It is overdue already: ask the sender for a copy, then record it with "
            f"'vault expect chase {found.id} --asked DATE'."
        )
    for doc_id, received in earlier:
        click.echo(
            f"Already in the vault: {doc_id}, {_a(wanted)} for {ref} received "
            f"{clock.shown_day(received)}. If it is the one expected: "
            f"vault expect received {found.id} --doc {doc_id}"
        )


@expect.command(name="list")
@click.option(
    "--state",
    type=click.Choice(STATE_CHOICES),
    default="all",
    show_default=True,
    help="Only those in this state (overdue: open past their day; written-off: cancelled or lost).",
)
@click.option(
    "--details", is_flag=True, help="Show each one's family, sender and notes (needs the key)."
)
@json_option
@unlock_options
@click.pass_obj
def expect_list(root: Path, state: str, details: bool, as_json: bool, unlock: UnlockSpec) -> None:
    """List the expected post: type, due day, state; overdue ones by how long.

    Open ones past their day are overdue (by whole days); received ones name
    the document, lost ones the data breach recorded. Needs no passphrase,
    except with --details.

    \b
    Example:
        vault expect list
        vault expect list --state overdue --details
        vault expect list --json
    """
    from vault import clock, expected

    today = clock.local_date(clock.now())
    secret: dict[str, dict[str, Any] | None] = {}
    if details:
        with unlocked(root, unlock, reading=True) as vault:
            found = _chosen(expected.current(vault), state, today)
            secret = {e.id: expected.secret_part(vault, e.id) for e in found}
            if found:
                vault.audit.append(expected.SHOW, [e.id for e in found])
    else:
        with opened(root, reading=True) as vault:
            found = _chosen(expected.register(vault.audit.entries()), state, today)
    if as_json:
        print_json([_as_json(e, today, secret, details) for e in found])
        return
    if not found:
        click.echo("No post is expected." if state == "all" else f"No expected post is {state}.")
        return
    for n, item in enumerate(found):
        if n and details:
            click.echo()
        click.echo(
            f"{item.id}  {expected.type_words(item.doc_type)}  due "
            f"{_day(item.due)}  {_state(item, today)}"
        )
        if details:
            for line in _secret_lines(secret.get(item.id)):
                click.echo(f"  {line}")


@expect.command(name="received")
@click.argument("expectation_id", metavar="ID")
@click.option("--doc", "doc_id", required=True, metavar="DOCID", help="The document that came.")
@unlock_options
@click.pass_obj
def expect_received(root: Path, expectation_id: str, doc_id: str, unlock: UnlockSpec) -> None:
    """Record that a stored document is the one expected (when not matched).

    For post the matching could not see: stored under another type or
    family, or before it was expected. A document is the one of one
    expectation: given to another, the first is awaited again. Unknown ids
    exit 1; a document already recorded for it exits 2.

    \b
    Example:
        vault expect received E-4H2K8P --doc D-7K3M9Q
    """
    from vault import expected

    with unlocked(root, unlock) as vault:
        found, before = expected.mark_received(vault, expectation_id, doc_id)
    click.echo(
        f"Marked {found.id} ({expected.type_words(found.doc_type)}) received as {found.doc}."
    )
    if before is not None:
        click.echo(f"{found.doc} was recorded for {before} before: {before} is awaited again.")
    if found.incident is not None:
        click.echo(
            f"It had been written off as lost (data breach {found.incident}): once decided, "
            f"close it, e.g. vault incident close {found.incident} --not-reportable --reason TEXT"
        )


@expect.command(name="cancel")
@click.argument("expectation_id", metavar="ID")
@click.option(
    "--reason",
    help="Why it is no longer expected (kept encrypted); '-' reads it from standard input; "
    "left out on a terminal, it is asked for.",
)
@passphrase_options
@click.pass_obj
def expect_cancel(
    root: Path, expectation_id: str, reason: str | None, passphrase_file: Path | None
) -> None:
    """Cancel an expectation: the document is no longer expected, and why.

    The reason is kept encrypted. Only an open one can be cancelled
    (another exits 2). Unlock with the passphrase or 'vault unlock' (here
    --reason is the cancellation's: to use the emergency key, 'vault unlock
    --emergency-key' first).

    \b
    Example:
        vault expect cancel E-4H2K8P --reason "the court sent it by e-mail instead"
    """
    from vault import expected

    text = expected.check_text(
        given_text(reason, "Why is it no longer expected (kept encrypted)", "--reason"),
        "--reason",
    )
    if text is None:
        raise UsageError("no reason given", hint='say why it is no longer expected: --reason "..."')
    with unlocked(root, UnlockSpec(passphrase_file)) as vault:
        found = expected.cancel(vault, expectation_id, text)
    click.echo(f"Cancelled {found.id} ({expected.type_words(found.doc_type)}).")


@expect.command(name="chase")
@click.argument("expectation_id", metavar="ID")
@click.option(
    "--asked", metavar="DATE", help="The day the sender was asked for a copy (default: today)."
)
@click.option(
    "--note", help="What the sender said (kept encrypted); '-' reads it from standard input."
)
@unlock_options
@click.pass_obj
def expect_chase(
    root: Path, expectation_id: str, asked: str | None, note: str | None, unlock: UnlockSpec
) -> None:
    """Record that the sender was contacted and a copy asked for.

    It stays open (and overdue) until the copy comes; the day goes into the
    audit log, the note is kept encrypted.

    \b
    Example:
        vault expect chase E-4H2K8P --asked 2026-12-11 --note "re-sent first class today"
    """
    from vault import clock, dates, expected

    today = clock.local_date(clock.now())
    day = today if asked is None else expected.parse_day(asked, "--asked", today, future=False)
    text = expected.check_text(given_text(note, None, "--note"), "--note")
    with unlocked(root, unlock) as vault:
        found = expected.chase(vault, expectation_id, day, text)
    click.echo(
        f"Recorded that the sender of {found.id} ({expected.type_words(found.doc_type)}) was "
        f"asked for a copy on {dates.spoken(day)}."
    )


@expect.command(name="lost")
@click.argument("expectation_id", metavar="ID")
@click.option(
    "--aware",
    required=True,
    metavar='"YYYY-MM-DD HH:MM"',
    help="When the coordinator became aware it was lost, local time (the 72 hours to "
    "report a breach run from then).",
)
@click.option("--note", help="What is known (kept encrypted); '-' reads it from standard input.")
@unlock_options
@click.pass_obj
def expect_lost(
    root: Path, expectation_id: str, aware: str, note: str | None, unlock: UnlockSpec
) -> None:
    """Write expected post off as lost and record it as a possible data breach.

    A lost-paper incident goes into the breach register ('vault incident'),
    aware at AWARE, so its 72 hours to report it to the ICO run from then;
    the incident names the expectation and the expectation the incident.
    The incident's note says, encrypted, what was expected, for whom and
    from whom.

    \b
    Example:
        vault expect lost E-4H2K8P --aware "2026-12-14 09:30"
    """
    from vault import clock, expected, incidents

    when = incidents.parse_aware(aware)
    text = expected.check_text(given_text(note, None, "--note"), "--note")
    with unlocked(root, unlock) as vault:
        found, incident = expected.mark_lost(vault, expectation_id, when, text)
    click.echo(
        f"Wrote {found.id} ({expected.type_words(found.doc_type)}) off as lost and recorded "
        f"data breach {incident.id} (paper records lost): aware {clock.shown(incident.aware)}."
    )
    click.echo(
        f"Deadline to report it to the ICO: {clock.shown(incident.deadline)} "
        f"({incident.time_left(clock.now())})."
    )
    click.echo(
        f"Once decided: vault incident close {incident.id} --reported-to-ico REF "
        "(or --not-reportable --reason TEXT)."
    )


# --- shown ------------------------------------------------------------------------


def _a(doc_type: str) -> str:
    from vault.expected import type_words

    words = type_words(doc_type)
    return ("an " if words[0] in "aeiou" else "a ") + words


def _day(iso: str) -> str:
    from vault import dates

    return dates.spoken(iso)


def _chosen(found: list[Expectation], state: str, today: date) -> list[Expectation]:
    if state == "all":
        return found
    if state == "overdue":
        return [e for e in found if e.overdue(today)]
    from vault import expected

    wanted = {
        "open": {expected.OPEN},
        "received": {expected.CLOSED_RECEIVED},
        "written-off": {expected.CANCELLED, expected.WRITTEN_OFF},
    }.get(state, {state})
    return [e for e in found if e.state in wanted]


def _state(item: Expectation, today: date) -> str:
    from vault import expected

    if not item.open:
        return expected.state_words(item)
    days = item.days_overdue(today)
    words = f"open, overdue by {days} day{'s' if days != 1 else ''}" if days else "open"
    if item.chased:
        words += f" (sender asked for a copy {_day(item.chased[-1])})"
    return words


def _secret_lines(secret: dict[str, Any] | None) -> list[str]:
    from vault import clock

    if secret is None:
        return [
            "family, sender and notes: not available (this catalog was rebuilt from the "
            "document manifests, which do not hold them)"
        ]
    lines = []
    if secret["partial"]:
        lines.append("family, sender and notes from before the catalog was rebuilt: not available")
    if secret.get("family") or secret.get("sender"):
        lines.append(
            f"family {escaped(secret.get('family') or '?')}, "
            f"from {escaped(secret.get('sender') or '?')}"
        )
    for note in secret["notes"]:
        kind = {"cancel": "cancelled because", "chase": "when chased", "lost": "when lost"}
        label = kind.get(str(note.get("kind")), "note")
        text = indented_text(str(note["text"]))
        lines.append(f"{label}, {clock.shown(note.get('time'))}: {text}")
    return lines


def _as_json(
    item: Expectation, today: date, secret: dict[str, dict[str, Any] | None], details: bool
) -> dict[str, Any]:
    found = item.as_dict(today)
    if details:
        part = secret.get(item.id)
        found["details_available"] = part is not None and not part["partial"]
        found["family"] = part["family"] if part is not None else None
        found["sender"] = part["sender"] if part is not None else None
        found["notes"] = part["notes"] if part is not None else None
    return found
