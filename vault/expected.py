"""Expected post: documents a sender said were posted, matched when they arrive.

A centre's policy counts post "claimed to have been posted but not received"
as an incident of its own: the sender is asked for a copy, and a document
that never comes is a possible data breach. Each expectation is kept in two
parts, as the breach register (``vault.incidents``) keeps an incident:

- **the plain part, in the audit log** (``vault.audit``): an ``expect`` entry
  (the expectation's id, the ``type`` of document and the day it is ``due``)
  and one entry per change: ``expect-received`` (the expectation's id, the
  document's id, ``how``: ``matched`` on arrival or ``by-hand``; a third id
  when the document was taken from another expectation, which is open
  again), ``expect-cancel``, ``expect-chase`` (the day the sender was
  ``asked`` for a copy) and ``expect-lost`` (the id of the lost-paper
  incident it led to, written in the same append as that incident's own
  entry, which names the expectation after its id). Types, days and ids are
  not personal data: ``vault expect list``, ``vault status`` and the
  committee report read them without the passphrase.
- **the encrypted part, in the catalog** (``Catalog.put_expectation``): the
  family reference, the sender (a court's or a solicitor's name can point to
  a family) and the notes (the reason for a cancellation, what the sender
  said when chased). It travels in the catalog's chain (``vault.chain``)
  to the backups, through a key rotation and a recovery; a catalog rebuilt
  from the manifests without this computer's database has none of it.
  The row also carries ``open``, a hint that spares the fold (below) from
  reading the audit log while nothing is awaited.

**Matching** (``match``, ``match_arrivals``). Each document the fold brings
into the catalog (``vault.fold``: stored with or without the passphrase, the
first unlocked command after its arrival) is compared with the open
expectations: the same type, the same family, recorded no later than the
document was received. One such: it is marked received with the document's
id. Several: the oldest (recorded first) is, the others stay open. None:
nothing. The family is in the encrypted part, so matching needs the key:
post stored without it is matched when the vault is next unlocked.

An id is ``E-`` and six characters of the document ids' alphabet
(``E-4H2K8P``). A due day is a calendar day; an expectation is overdue from
the day after it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from vault import clock, dates, incidents
from vault import family as families
from vault.errors import NotFoundError, UsageError
from vault.manifest import ID_LENGTH, near_ids

if TYPE_CHECKING:
    from vault.audit import AuditEntry
    from vault.repository import Vault

ADD, RECEIVED, CANCEL, CHASE, LOST, SHOW = (
    "expect", "expect-received", "expect-cancel", "expect-chase", "expect-lost", "expect-show",
)  # fmt: skip
# the states an expectation is in (the events above name the changes)
OPEN, CLOSED_RECEIVED, CANCELLED, WRITTEN_OFF = "open", "received", "cancelled", "lost"
MATCHED, BY_HAND = "matched", "by-hand"
SENDER_LIMIT = 200  # characters of a sender's name
YEARS = 10  # a day typed further than this from today: a wrong year
_RECORDED_SPAN = timedelta(days=7320)  # a day in the log this far from its entry: not ours

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ID = re.compile(f"E-[{_ALPHABET}]{{{ID_LENGTH}}}")
_DOC_ID = re.compile(f"D-[{_ALPHABET}]{{{ID_LENGTH}}}")
_INCIDENT_ID = re.compile(f"I-[{_ALPHABET}]{{{ID_LENGTH}}}")
_TYPE = re.compile(r"[a-z][a-z0-9-]{0,31}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def type_words(doc_type: str) -> str:
    """``court order``; ``other`` reads as ``other document``."""
    return "other document" if doc_type == "other" else doc_type.replace("-", " ")


def plural_words(doc_type: str) -> str:
    """``court orders``, ``other documents``."""
    return type_words(doc_type) + "s"


@dataclass(frozen=True)
class Expectation:
    """An expectation as the audit log records it (no family, sender or notes:
    those are encrypted)."""

    id: str
    doc_type: str
    due: str  # a calendar day, ISO 8601
    recorded: str  # UTC, ISO 8601
    state: str = OPEN
    doc: str | None = None  # the document that came, once received
    how: str | None = None  # MATCHED or BY_HAND
    closed: str | None = None  # when it was received, cancelled or written off
    closed_seq: int = 0  # the audit entry that did (0: open)
    incident: str | None = None  # the lost-paper incident it led to
    chased: tuple[str, ...] = ()  # the days the sender was asked for a copy

    @property
    def open(self) -> bool:
        return self.state == OPEN

    @property
    def due_day(self) -> date:
        return date.fromisoformat(self.due)

    def days_overdue(self, today: date) -> int:
        """Whole days since the due day, while open (0: not overdue)."""
        if not self.open:
            return 0
        return max(0, (today - self.due_day).days)

    def overdue(self, today: date) -> bool:
        return self.days_overdue(today) > 0

    def as_dict(self, today: date) -> dict[str, Any]:
        """For ``--json`` and ``vault status --json``: no family, sender or notes."""
        return {
            "id": self.id,
            "type": self.doc_type,
            "due": self.due,
            "recorded": self.recorded,
            "state": self.state,
            "overdue": self.overdue(today),
            "days_overdue": self.days_overdue(today),
            "document": self.doc,
            "how": self.how,
            "closed": self.closed,
            "incident": self.incident,
            "chased": list(self.chased),
        }


@dataclass(frozen=True)
class Arrival:
    """A document coming into the catalog, as matching sees it."""

    doc_id: str
    doc_type: str
    family: str | None
    received: str  # UTC, ISO 8601


@dataclass(frozen=True)
class Match:
    """A document found to be an expected one, marked received."""

    expectation: str
    doc_id: str
    doc_type: str
    due: str

    def message(self) -> str:
        return (
            f"{self.doc_id} is the {type_words(self.doc_type)} expected as {self.expectation} "
            f"(due {dates.spoken(self.due)}): marked received"
        )


# --- what the user types --------------------------------------------------------------


def new_expectation_id() -> str:
    """A short, typeable id such as ``E-4H2K8P``."""
    return "E-" + "".join(secrets.choice(_ALPHABET) for _ in range(ID_LENGTH))


def normalise_expectation_id(text: str) -> str:
    """The id a user meant: case, spaces and the ``E-`` prefix forgiven, and the
    letters never used read as the digits they look like (O, I, L)."""
    text = "".join(text.split()).upper()
    while text.startswith("E-"):
        text = text[2:]
    if text.startswith("E") and len(text) == ID_LENGTH + 1:
        text = text[1:]
    return "E-" + text.replace("O", "0").replace("I", "1").replace("L", "1")


def check_type(doc_type: str, known: Iterable[str]) -> str:
    wanted = doc_type.strip().lower()
    names = list(known)
    if wanted not in names:
        raise UsageError(
            f"--what: {doc_type[:40]!r} is not a type of document",
            hint="one of " + ", ".join(names),
        )
    return wanted


def parse_day(text: str, option: str, today: date, *, future: bool = True) -> date:
    """A day typed for ``option`` (as ``vault.dates`` reads it), at most ten
    years from ``today``; not after ``today`` unless ``future``."""
    day = dates.parse(text, option)
    if not _years_from(today, -YEARS) <= day <= _years_from(today, YEARS):
        raise UsageError(
            f"{option}: {dates.spoken(day)} is more than ten years from today",
            hint=f"check the year; give a day as the UK writes it: {dates.EXAMPLES}",
        )
    if not future and day > today:
        raise UsageError(f"{option}: {dates.spoken(day)} is in the future")
    return day


def _years_from(day: date, years: int) -> date:
    year = min(max(day.year + years, 1), 9999)
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February
        return day.replace(year=year, day=28)


def check_sender(text: str) -> str:
    wanted = " ".join(text.split())
    if not wanted:
        raise UsageError("--from: no sender given", hint='e.g. --from "Swindon Family Court"')
    if len(wanted) > SENDER_LIMIT:
        raise UsageError(f"--from: longer than {SENDER_LIMIT} characters")
    return wanted


def check_text(text: str | None, option: str) -> str | None:
    """A note or reason: trimmed, None when empty; refused when too long."""
    return incidents.check_text(text, option)


# --- the register -----------------------------------------------------------------


def _day_near(text: Any, entry_time: datetime) -> str | None:
    """``text`` if it is an ISO day no further than ``_RECORDED_SPAN`` from the entry."""
    if not isinstance(text, str) or not _DAY.fullmatch(text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    if abs(day - entry_time.date()) > _RECORDED_SPAN:
        return None
    return text


def _ids(entry: AuditEntry) -> list[str]:
    """The entry's ids, when every one is text (none otherwise)."""
    ids = entry.ids if isinstance(entry.ids, list) else []
    return list(ids) if all(isinstance(i, str) for i in ids) else []


def _added(entry: AuditEntry) -> Expectation | None:
    """The expectation an ``expect`` entry records, if ``add`` could have written it."""
    ids, when = _ids(entry), incidents.sane_time(entry)
    if len(ids) != 1 or not _ID.fullmatch(ids[0]) or when is None:
        return None
    doc_type, due = entry.detail.get("type"), _day_near(entry.detail.get("due"), when)
    if not isinstance(doc_type, str) or not _TYPE.fullmatch(doc_type) or due is None:
        return None
    return Expectation(ids[0], doc_type, due, entry.time)


def _changed(before: Expectation, entry: AuditEntry, found: dict[str, Expectation]) -> None:
    """Apply a change entry to ``before`` in ``found``, if the command could have
    written it from that state; anything else is left out."""
    ids, when = _ids(entry), incidents.sane_time(entry)
    if when is None:
        return
    if entry.event == RECEIVED and len(ids) in (2, 3) and _DOC_ID.fullmatch(ids[1]):
        how = entry.detail.get("how")
        if how not in (MATCHED, BY_HAND) or (how == MATCHED and not before.open):
            return
        if before.state == CLOSED_RECEIVED and before.doc == ids[1]:
            return
        if len(ids) == 3:  # taken from another expectation: that one is open again
            other = found.get(ids[2])
            if other is None or other.doc != ids[1] or other.id == before.id:
                return
            found[other.id] = replace(
                other, state=OPEN, doc=None, how=None, closed=None, closed_seq=0
            )
        found[before.id] = replace(
            before, state=CLOSED_RECEIVED, doc=ids[1], how=str(how),
            closed=entry.time, closed_seq=entry.seq,
        )  # fmt: skip
    elif entry.event == CANCEL and len(ids) == 1 and before.open:
        found[before.id] = replace(before, state=CANCELLED, closed=entry.time, closed_seq=entry.seq)
    elif entry.event == CHASE and len(ids) == 1 and before.open:
        asked = _day_near(entry.detail.get("asked"), when)
        if asked is not None and date.fromisoformat(asked) <= (when + timedelta(days=1)).date():
            # not asked after the entry was written (a day: clocks set wrong)
            found[before.id] = replace(before, chased=(*before.chased, asked))
    elif entry.event == LOST and len(ids) == 2 and _INCIDENT_ID.fullmatch(ids[1]) and before.open:
        found[before.id] = replace(
            before, state=WRITTEN_OFF, incident=ids[1], closed=entry.time, closed_seq=entry.seq
        )


def register(entries: Iterable[AuditEntry]) -> list[Expectation]:
    """Every expectation the audit log records, in the order recorded.

    As the breach register does (``incidents.register``), it takes only
    entries the ``vault expect`` commands could have written: an unknown
    type, a day that is no day, an id of another form or a change that does
    not fit the state (a damaged or altered log, which 'vault audit verify'
    looks at) is left out, never shown."""
    found: dict[str, Expectation] = {}
    for entry in entries:
        if entry.event == ADD:
            added = _added(entry)
            if added is not None and added.id not in found:
                found[added.id] = added
        elif entry.event in (RECEIVED, CANCEL, CHASE, LOST):
            first = entry.ids[0] if entry.ids and isinstance(entry.ids[0], str) else None
            if first is not None and first in found:
                _changed(found[first], entry, found)
    return list(found.values())


def find(expectations: list[Expectation], wanted: str) -> Expectation:
    """The expectation ``wanted`` names (``NotFoundError``: none, with a hint)."""
    expectation_id = normalise_expectation_id(wanted)
    for item in expectations:
        if item.id == expectation_id:
            return item
    near = [
        f"E-{i}"
        for i in near_ids(expectation_id.removeprefix("E-"), [e.id[2:] for e in expectations])
    ]
    hint = f"did you mean {' or '.join(near[:3])}?" if near else "'vault expect list' shows ids"
    shown = expectation_id if _ID.fullmatch(expectation_id) else repr(wanted[:20])
    raise NotFoundError(f"no expected post {shown} in this vault", hint=hint)


def for_document(expectations: list[Expectation], doc_id: str) -> Expectation | None:
    """The expectation document ``doc_id`` was received as, if any."""
    for item in expectations:
        if item.state == CLOSED_RECEIVED and item.doc == doc_id:
            return item
    return None


def closed_since(expectations: list[Expectation], seq: int) -> list[Expectation]:
    """Those received, cancelled or written off after audit entry ``seq``."""
    return [e for e in expectations if not e.open and e.closed_seq > seq]


class WrongStateError(UsageError):
    """The expectation is not in a state that allows the change."""


def state_words(item: Expectation) -> str:
    """``received 5 Dec 2026, 10:02 GMT as D-7K3M9Q (matched on arrival)`` and so on."""
    if item.state == CLOSED_RECEIVED:
        how = "matched on arrival" if item.how == MATCHED else "recorded by hand"
        return f"received {clock.shown(item.closed)} as {item.doc} ({how})"
    if item.state == CANCELLED:
        return f"cancelled {clock.shown(item.closed)}"
    if item.state == WRITTEN_OFF:
        return f"lost: recorded {clock.shown(item.closed)} as data breach {item.incident}"
    return "open"


def _refuse(item: Expectation, doing: str) -> WrongStateError:
    return WrongStateError(
        f"expected post {item.id} cannot be {doing}: it was {state_words(item)}",
        hint="'vault expect list' shows each one's state",
    )


# --- recording (needs the key: the catalog is written) ------------------------------


def current(vault: Vault) -> list[Expectation]:
    """The register, once the catalog is open: opening it folds in the post
    stored since, which may mark an expectation received (``match_arrivals``)."""
    vault.catalog  # noqa: B018 - opened (and the journal folded in) first
    return register(vault.audit.entries())


def _notes(text: str | None, kind: str) -> list[dict[str, str]]:
    return [{"time": clock.stamp(), "kind": kind, "text": text}] if text else []


def _secret(vault: Vault, expectation_id: str) -> dict[str, Any]:
    found = vault.catalog.expectation(expectation_id)
    if found is None:  # the catalog lost what it held before: say so from now on
        return {
            "id": expectation_id, "family": None, "sender": None, "notes": [],
            "open": True, "partial": True,
        }  # fmt: skip
    return found


def secret_part(vault: Vault, expectation_id: str) -> dict[str, Any] | None:
    """The family, sender and notes of an expectation (needs the key); None
    when this vault's catalog does not hold them (rebuilt from the manifests)."""
    return vault.catalog.expectation(expectation_id)


def add_expectation(
    vault: Vault,
    doc_type: str,
    family: str,
    sender: str,
    due: date,
    note: str | None,
) -> Expectation:
    """Record a new expectation: family, sender and note in the catalog, its
    type and due day in the audit log, then save the catalog."""
    taken = {e.id for e in current(vault)}
    expectation_id = new_expectation_id()
    while expectation_id in taken:
        expectation_id = new_expectation_id()
    vault.catalog.put_expectation(
        {
            "id": expectation_id, "family": families.normalise(family), "sender": sender,
            "notes": _notes(note, "note"), "open": True, "partial": False,
        }
    )  # fmt: skip
    entry = vault.audit.append(ADD, [expectation_id], type=doc_type, due=due.isoformat())
    vault.save_catalog()
    return Expectation(expectation_id, doc_type, due.isoformat(), entry.time)


def mark_received(vault: Vault, wanted: str, doc_id: str) -> tuple[Expectation, str | None]:
    """Record by hand that document ``doc_id`` is the expected one (it may be
    another type or family than expected: the matching could not see it).
    Returns the expectation and the id of another one the document was
    received as before, which is open again."""
    found = current(vault)
    item = find(found, wanted)
    row = vault.document(doc_id)  # NotFoundError for an unknown document
    doc = str(row["id"])
    if item.state == CLOSED_RECEIVED and item.doc == doc:
        raise _refuse(item, f"received as {doc} again")
    before = for_document(found, doc)
    ids = [item.id, doc] + ([before.id] if before is not None else [])
    catalog = vault.catalog
    catalog.put_expectation({**_secret(vault, item.id), "open": False})
    if before is not None:
        catalog.put_expectation({**_secret(vault, before.id), "open": True})
    vault.audit.append(RECEIVED, ids, how=BY_HAND)
    vault.save_catalog()
    return find(current(vault), item.id), before.id if before else None


def cancel(vault: Vault, wanted: str, reason: str) -> Expectation:
    """No longer expected (the sender sent it another way, or not at all);
    the reason is kept encrypted."""
    item = find(current(vault), wanted)
    if not item.open:
        raise _refuse(item, "cancelled")
    secret = _secret(vault, item.id)
    vault.catalog.put_expectation(
        {**secret, "notes": [*secret["notes"], *_notes(reason, "cancel")], "open": False}
    )
    vault.audit.append(CANCEL, [item.id])
    vault.save_catalog()
    return find(current(vault), item.id)


def chase(vault: Vault, wanted: str, asked: date, note: str | None) -> Expectation:
    """Record that the sender was contacted on ``asked`` and a copy asked for."""
    item = find(current(vault), wanted)
    if not item.open:
        raise _refuse(item, "chased")
    catalog = vault.catalog  # opened, and saved below: the head then names this change
    if note is not None:
        secret = _secret(vault, item.id)
        catalog.put_expectation({**secret, "notes": [*secret["notes"], *_notes(note, "chase")]})
    vault.audit.append(CHASE, [item.id], asked=asked.isoformat())
    vault.save_catalog()
    return find(current(vault), item.id)


def mark_lost(
    vault: Vault, wanted: str, aware: datetime, note: str | None
) -> tuple[Expectation, incidents.Incident]:
    """Write the expectation off as lost post and record a lost-paper data
    breach (``vault.incidents``) aware at ``aware``, so its 72 hours run from
    then; the two name each other. The incident's note says, encrypted, what
    was expected, for whom and from whom."""
    item = find(current(vault), wanted)
    if not item.open:
        raise _refuse(item, "written off as lost")
    secret = _secret(vault, item.id)
    about = (
        f"Expected post {item.id} never arrived: a {type_words(item.doc_type)}"
        + (f" for family {secret['family']}" if secret.get("family") else "")
        + (f" from {secret['sender']}" if secret.get("sender") else "")
        + f", due {dates.spoken(item.due)}."
    )
    vault.catalog.put_expectation(
        {**secret, "notes": [*secret["notes"], *_notes(note, "lost")], "open": False}
    )
    incident = incidents.record_incident(
        vault,
        "lost-paper",
        aware,
        about + (f"\n{note}" if note else ""),
        linked=(LOST, item.id),
    )
    return find(current(vault), item.id), incident


# --- matching on arrival ----------------------------------------------------------------


def match(waiting: list[tuple[Expectation, str]], arrivals: Iterable[Arrival]) -> list[Match]:
    """Which arrivals are which open expectations (``waiting``: each with its
    family, oldest first). An arrival is the oldest one of its type and
    family not yet taken, recorded no later than the document was received."""
    left = [(item, families.display(family)) for item, family in waiting if item.open]
    found: list[Match] = []
    for arrival in arrivals:
        received = clock.parse(arrival.received)
        family = families.display(arrival.family)
        if received is None or family is None:
            continue
        for n, (item, wanted) in enumerate(left):
            recorded = clock.parse(item.recorded)
            if (
                item.doc_type == arrival.doc_type
                and wanted == family
                and recorded is not None
                and recorded <= received
            ):
                found.append(Match(item.id, arrival.doc_id, item.doc_type, item.due))
                del left[n]
                break
    return found


def match_arrivals(vault: Vault, arrivals: list[Arrival]) -> list[Match]:
    """Mark received each open expectation one of ``arrivals`` (documents the
    fold is bringing into the open catalog) is (``match``); the catalog is
    saved by the caller. Nothing is read while no expectation is open."""
    catalog = vault.catalog
    if not arrivals or not catalog.has_open_expectations():
        return []
    found = register(vault.audit.entries())
    taken = {item.doc for item in found if item.doc is not None}  # a fold done again
    waiting = []
    for item in found:
        secret = catalog.expectation(item.id) if item.open else None
        if secret is not None and secret.get("family"):
            waiting.append((item, str(secret["family"])))
    matches = match(waiting, [a for a in arrivals if a.doc_id not in taken])
    if matches:
        vault.audit.append_all(
            [(RECEIVED, [m.expectation, m.doc_id]) for m in matches], how=MATCHED
        )
        for m in matches:
            catalog.put_expectation({**_secret(vault, m.expectation), "open": False})
    return matches


def earlier_arrivals(vault: Vault, doc_type: str, family: str) -> list[tuple[str, str]]:
    """(id, received) of the latest documents of ``doc_type`` for ``family``
    already in the catalog, newest first: one may be the post just said to
    be on its way, stored before it was expected."""
    return vault.catalog.latest(doc_type, families.normalise(family), 3)


@dataclass
class Overdue:
    """The overdue expectations of one type, for the committee: counts and days."""

    doc_type: str
    days: list[int] = field(default_factory=list)  # days overdue, most first
    chased: int = 0  # how many of them the sender was asked about


def overdue_by_type(expectations: Iterable[Expectation], today: date) -> list[Overdue]:
    """The overdue ones grouped by type (most overdue type first)."""
    groups: dict[str, Overdue] = {}
    for item in expectations:
        if item.overdue(today):
            group = groups.setdefault(item.doc_type, Overdue(item.doc_type))
            group.days.append(item.days_overdue(today))
            group.chased += bool(item.chased)
    for group in groups.values():
        group.days.sort(reverse=True)
    return sorted(groups.values(), key=lambda g: (-g.days[0], g.doc_type))
