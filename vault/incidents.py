"""The breach register: data breaches recorded, and what was decided about each.

A breach of personal data must be reported to the ICO within 72 hours of
the centre becoming aware of it, unless it is judged unlikely to harm
anyone. Each incident is kept in two parts:

- **the plain part, in the audit log** (``vault.audit``): an ``incident``
  entry (the incident's id, its ``kind``, when the centre became ``aware``,
  UTC, and the entry's own time: when it was recorded; for post that was
  expected and never came, ``vault.expected``, the expectation's id after
  its own) and, once decided, an
  ``incident-close`` entry (``decision``: ``reported``, with the ICO's case
  reference ``ico``, or ``not-reportable``). Kinds, times and a case number
  are not personal data, so ``vault incident list``, ``vault status`` and
  the committee report read them without the passphrase; the audit log goes
  to every backup and comes back with a recovery.
- **the encrypted part, in the catalog** (``Catalog.put_incident``): the
  notes (which can name people) and the reason a breach was judged not
  reportable. It travels in the catalog's chain (``vault.chain``) to the
  backups, through a key rotation and a recovery, and is read only with the
  key. A catalog rebuilt from the manifests without this computer's
  database has none of it: the notes are then "not available".

An id is ``I-`` and six characters of the document ids' alphabet
(``I-7K3M9Q``). Times are recorded in UTC and shown in local time.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from vault import clock, dates
from vault.errors import NotFoundError, UsageError
from vault.manifest import ID_LENGTH, near_ids

if TYPE_CHECKING:
    from vault.audit import AuditEntry
    from vault.repository import Vault

KINDS = ("lost-paper", "device-lost", "suspected-hack", "wrong-recipient", "other")
KIND_WORDS = {
    "lost-paper": "paper records lost",
    "device-lost": "device lost",
    "suspected-hack": "suspected hack",
    "wrong-recipient": "sent to the wrong recipient",
    "other": "other",
}
DEADLINE = timedelta(hours=72)  # to report a breach to the ICO, from becoming aware
REPORTED, NOT_REPORTABLE = "reported", "not-reportable"
RECORD, CLOSE, NOTE, SHOW = "incident", "incident-close", "incident-note", "incident-show"
NOTE_LIMIT = 4000  # characters of one note or reason

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ICO_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9/-]{0,39}")
_ID = re.compile(f"I-[{_ALPHABET}]{{{ID_LENGTH}}}")
_EXPECTED_ID = re.compile(f"E-[{_ALPHABET}]{{{ID_LENGTH}}}")  # ``vault.expected``
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)  # the earliest aware time taken (any zone)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)  # an audit entry's time after this is not a vault's
_WHEN = re.compile(r"(.+?)[\sT]+(\d{1,2})[:.](\d{2})")
AWARE_EXAMPLES = '"2026-12-04 09:30" or "4/12/2026 09:30"'


@dataclass(frozen=True)
class Incident:
    """An incident as the audit log records it (no notes: those are encrypted)."""

    id: str
    kind: str
    aware: str  # UTC, ISO 8601
    recorded: str  # UTC, ISO 8601
    closed: str | None = None
    decision: str | None = None  # REPORTED or NOT_REPORTABLE once closed
    ico: str | None = None  # the ICO's case reference, when reported
    closed_seq: int = 0  # the audit entry that closed it (0: open)
    expectation: str | None = None  # the expected post that never came (``vault.expected``)

    @property
    def open(self) -> bool:
        return self.closed is None

    @property
    def deadline(self) -> datetime:
        """When the 72 hours to report it to the ICO end."""
        aware = clock.parse(self.aware)
        assert aware is not None
        return aware + DEADLINE

    def overdue(self, now: datetime) -> bool:
        """Open and past its deadline."""
        return self.open and now >= self.deadline

    def time_left(self, now: datetime) -> str:
        """``time left 5 h`` or ``overdue by 2 d 3 h`` (from the deadline)."""
        if now < self.deadline:
            return f"time left {span(self.deadline - now)}"
        return f"overdue by {span(now - self.deadline)}"

    def decision_words(self) -> str:
        if self.decision == REPORTED:
            return f"reported to the ICO (reference {self.ico})"
        if self.decision == NOT_REPORTABLE:
            return "not reportable to the ICO"
        return "open"

    def as_dict(self, now: datetime) -> dict[str, Any]:
        """For ``--json`` and ``vault status --json``: UTC times, no notes."""
        return {
            "id": self.id,
            "kind": self.kind,
            "aware": self.aware,
            "recorded": self.recorded,
            "deadline": clock.stamp(self.deadline),
            "status": "open" if self.open else "closed",
            "overdue": self.overdue(now),
            "time_left": self.time_left(now) if self.open else None,
            "closed": self.closed,
            "decision": self.decision,
            "ico_reference": self.ico,
            "expectation": self.expectation,
        }


def span(delta: timedelta) -> str:
    """A length of time as ``2 d 3 h``, ``5 h`` or ``40 min`` (rounded down)."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h"
    return f"{minutes} min"


# --- what the user types --------------------------------------------------------------


def new_incident_id() -> str:
    """A short, typeable incident id such as ``I-7K3M9Q``."""
    return "I-" + "".join(secrets.choice(_ALPHABET) for _ in range(ID_LENGTH))


def normalise_incident_id(text: str) -> str:
    """The id a user meant: case, spaces and the ``I-`` prefix forgiven, and the
    letters never used read as the digits they look like (O, I, L)."""
    text = "".join(text.split()).upper()
    while text.startswith("I-"):
        text = text[2:]
    if text.startswith("I") and len(text) == ID_LENGTH + 1:
        text = text[1:]
    return "I-" + text.replace("O", "0").replace("I", "1").replace("L", "1")


def check_kind(kind: str) -> str:
    wanted = kind.strip().lower()
    if wanted not in KINDS:
        raise UsageError(
            f"--kind: {kind!r} is not a kind of incident", hint="one of " + ", ".join(KINDS)
        )
    return wanted


def parse_aware(text: str, now: datetime | None = None, option: str = "--aware") -> datetime:
    """The local time ``text`` names (a day as ``vault.dates`` reads it, then
    HH:MM), with the computer's zone; refused when it is unreadable or later
    than ``now``."""
    shown = " ".join(text.split())
    match = _WHEN.fullmatch(shown)
    if match is None:
        raise UsageError(
            f"{option}: {shown!r} is not a day and a time of day",
            hint=f"give the local date and time, e.g. {AWARE_EXAMPLES}",
        )
    day = dates.parse(match[1], option)
    hour, minute = int(match[2]), int(match[3])
    if hour > 23 or minute > 59:
        raise UsageError(
            f"{option}: {shown!r} is not a real time of day",
            hint=f"give the local date and time, e.g. {AWARE_EXAMPLES}",
        )
    typed = datetime.combine(day, time(hour, minute))
    try:
        when = typed.astimezone()
    except (ValueError, OverflowError, OSError):  # year 1 in a zone east of UTC
        when = EARLIEST - timedelta(days=1)
    if when >= EARLIEST and when.astimezone().replace(tzinfo=None) != typed:
        raise UsageError(
            f"{option}: {shown!r} did not happen here: the clocks went forward then",
            hint="give the time as the clocks showed it after they were put forward",
        )
    if when < EARLIEST:
        raise UsageError(
            f"{option}: {shown!r} is too long ago",
            hint=f"check the year; give the local date and time, e.g. {AWARE_EXAMPLES}",
        )
    if when > (now or clock.now()):
        raise UsageError(
            f"{option}: {clock.shown(when)} is in the future",
            hint="give the time the centre became aware of the breach",
        )
    return when


def check_ico_reference(text: str) -> str:
    """The ICO's case reference: letters, digits, '-' and '/', at most 40."""
    wanted = text.strip()
    if not _ICO_REF.fullmatch(wanted):
        raise UsageError(
            f"--reported-to-ico: {text[:48]!r} is not a case reference",
            hint="give the ICO's reference as it wrote it (letters, digits, '-' and '/', "
            "at most 40), e.g. IC-123456-A1B2",
        )
    return wanted


def check_text(text: str | None, option: str) -> str | None:
    """A note or reason: trimmed, None when empty; refused when too long."""
    if text is None or not text.strip():
        return None
    if len(text) > NOTE_LIMIT:
        raise UsageError(f"{option}: longer than {NOTE_LIMIT} characters")
    return text.strip()


# --- the register -----------------------------------------------------------------


def _recorded(entry: AuditEntry) -> Incident | None:
    """The incident an ``incident`` entry records, if it is one ``record_incident``
    could have written: an id of the register's form, a known kind, an aware
    time neither before ``EARLIEST`` nor after the entry itself."""
    if not entry.ids or not isinstance(entry.ids[0], str) or not _ID.fullmatch(entry.ids[0]):
        return None
    kind, aware = entry.detail.get("kind"), entry.detail.get("aware")
    when, recorded = clock.parse(str(aware)), sane_time(entry)
    if kind not in KINDS or when is None or recorded is None:
        return None
    if when < EARLIEST or when - recorded > timedelta(days=1):  # a day: clocks set wrong
        return None
    linked = entry.ids[1] if len(entry.ids) == 2 else None
    if linked is not None and not (isinstance(linked, str) and _EXPECTED_ID.fullmatch(linked)):
        return None
    if len(entry.ids) > 2 or (linked is not None and kind != "lost-paper"):
        return None
    return Incident(entry.ids[0], str(kind), str(aware), entry.time, expectation=linked)


def sane_time(entry: AuditEntry) -> datetime | None:
    """An audit entry's time, if a vault could have written it: between
    ``EARLIEST`` and ``LATEST``, so that showing it in any zone, or a day
    added to it, never overflows (a forged or damaged log)."""
    when = clock.parse(str(entry.time))
    if when is None or not EARLIEST <= when <= LATEST:
        return None
    return when


def _closing(entry: AuditEntry) -> tuple[str, str | None] | None:
    """The decision and ICO reference of an ``incident-close`` entry, if it is
    one ``close_incident`` could have written."""
    if sane_time(entry) is None:
        return None
    decision, ico = entry.detail.get("decision"), entry.detail.get("ico")
    if decision == REPORTED and isinstance(ico, str) and _ICO_REF.fullmatch(ico):
        return decision, ico
    if decision == NOT_REPORTABLE and ico is None:
        return decision, None
    return None


def register(entries: Iterable[AuditEntry]) -> list[Incident]:
    """Every incident the audit log records, in the order recorded.

    The log is plain text, and what it says is shown on a terminal and in the
    committee report: an entry that ``record_incident`` or ``close_incident``
    could not have written (an unknown kind or decision, an id or ICO
    reference of another form, an impossible time: a damaged or altered log,
    which 'vault audit verify' looks at) is left out, never shown."""
    found: dict[str, Incident] = {}
    for entry in entries:
        first = entry.ids[0] if entry.ids and isinstance(entry.ids[0], str) else None
        if entry.event == RECORD and first is not None and first not in found:
            incident = _recorded(entry)
            if incident is not None:
                found[incident.id] = incident
        elif entry.event == CLOSE and first in found:
            before = found[first]
            closing = _closing(entry)
            if before.open and closing is not None:
                decision, ico = closing
                found[before.id] = Incident(
                    before.id, before.kind, before.aware, before.recorded,
                    closed=entry.time, decision=decision, ico=ico, closed_seq=entry.seq,
                    expectation=before.expectation,
                )  # fmt: skip
    return list(found.values())


def find(incidents: list[Incident], wanted: str) -> Incident:
    """The incident ``wanted`` names (``NotFoundError``: none, with a hint)."""
    incident_id = normalise_incident_id(wanted)
    for incident in incidents:
        if incident.id == incident_id:
            return incident
    ids = [i.id for i in incidents]
    near = [f"I-{i}" for i in near_ids(incident_id.removeprefix("I-"), [i[2:] for i in ids])]
    hint = f"did you mean {' or '.join(near[:3])}?" if near else "'vault incident list' shows ids"
    raise NotFoundError(f"no incident {incident_id} in this vault", hint=hint)


class AlreadyClosedError(UsageError):
    """The incident was closed before: a decision is recorded once."""


# --- recording (needs the key: the catalog is written) ------------------------------


def record_incident(
    vault: Vault,
    kind: str,
    aware: datetime,
    note: str | None,
    *,
    linked: tuple[str, str] | None = None,
) -> Incident:
    """Record a new incident: its note in the catalog, its kind and times in
    the audit log, then save the catalog.

    ``linked``: (event, expectation id) of expected post written off as lost
    (``vault.expected``): the incident's entry names the expectation after
    its own id, and ``event`` (naming the expectation, then the incident)
    is written with it, in the same append, with the same kind and time."""
    taken = {i.id for i in register(vault.audit.entries())}
    incident_id = new_incident_id()
    while incident_id in taken:
        incident_id = new_incident_id()
    vault.catalog.put_incident(
        {"id": incident_id, "notes": _notes(note), "reason": None, "partial": False}
    )
    events = [(RECORD, [incident_id])]
    if linked is not None:
        event, expectation = linked
        events = [(RECORD, [incident_id, expectation]), (event, [expectation, incident_id])]
    entry = vault.audit.append_all(events, kind=kind, aware=clock.stamp(aware))[0]
    vault.save_catalog()
    return Incident(
        incident_id, kind, clock.stamp(aware), entry.time,
        expectation=linked[1] if linked else None,
    )  # fmt: skip


def close_incident(
    vault: Vault, wanted: str, *, ico: str | None = None, reason: str | None = None
) -> Incident:
    """Close an open incident: reported to the ICO (``ico``: its reference) or
    not reportable (``reason``, kept encrypted)."""
    incident = find(register(vault.audit.entries()), wanted)
    if not incident.open:
        raise AlreadyClosedError(
            f"incident {incident.id} was closed on {clock.shown(incident.closed)} "
            f"({incident.decision_words()})",
            hint="a decision is recorded once; add to its notes with 'vault incident note'",
        )
    catalog = vault.catalog  # opened, and saved below: the head then names this close
    if reason is not None:
        secret = _encrypted_part(vault, incident.id)
        catalog.put_incident({**secret, "reason": reason})
    if ico is not None:
        vault.audit.append(CLOSE, [incident.id], decision=REPORTED, ico=ico)
    else:
        vault.audit.append(CLOSE, [incident.id], decision=NOT_REPORTABLE)
    vault.save_catalog()
    return find(register(vault.audit.entries()), incident.id)


def add_note(vault: Vault, wanted: str, note: str) -> Incident:
    """Add a note to an incident, open or closed (kept encrypted)."""
    incident = find(register(vault.audit.entries()), wanted)
    secret = _encrypted_part(vault, incident.id)
    vault.catalog.put_incident({**secret, "notes": [*secret["notes"], *_notes(note)]})
    vault.audit.append(NOTE, [incident.id])
    vault.save_catalog()
    return incident


def encrypted_part(vault: Vault, incident_id: str) -> dict[str, Any] | None:
    """The notes and reason of an incident (needs the key); None when this
    vault's catalog does not hold them (rebuilt from the manifests)."""
    return vault.catalog.incident(incident_id)


def _encrypted_part(vault: Vault, incident_id: str) -> dict[str, Any]:
    found = vault.catalog.incident(incident_id)
    if found is None:  # the catalog lost what it held before: say so from now on
        return {"id": incident_id, "notes": [], "reason": None, "partial": True}
    return found


def _notes(note: str | None) -> list[dict[str, str]]:
    return [{"time": clock.stamp(), "text": note}] if note else []


def closed_since(incidents: list[Incident], seq: int) -> list[Incident]:
    """The incidents closed after audit entry ``seq`` (0: every closed one)."""
    return [i for i in incidents if not i.open and i.closed_seq > seq]
