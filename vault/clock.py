"""The time the vault goes by, and times as a person reads them.

Every record (the audit log, the head, the remotes' state files) stores
times in UTC, as ISO 8601 text: ``now`` and ``stamp`` give them. Every time
shown to a person (``vault status``, the committee report) is the
computer's local time with its zone, ``5 Dec 2026, 10:02 GMT``: ``shown``.

For the tests only, ``VAULT_TEST_NOW`` (an ISO 8601 time, with its zone or
taken as UTC) sets the clock, so that a test can make a backup 45 days before
a report without waiting 45 days.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

TEST_NOW = "VAULT_TEST_NOW"


def now() -> datetime:
    """The current time, in UTC (or the time ``VAULT_TEST_NOW`` sets)."""
    fixed = parse(os.environ.get(TEST_NOW))
    return fixed if fixed is not None else datetime.now(UTC)


def stamp(when: datetime | None = None) -> str:
    """``when`` (default: now) as the records write it: UTC, to the second."""
    return (when or now()).astimezone(UTC).isoformat(timespec="seconds")


def parse(text: str | None) -> datetime | None:
    """A recorded time, zone-aware (a time without a zone is UTC); None if unreadable."""
    if not text:
        return None
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def local_date(when: datetime) -> date:
    """The computer's local calendar day at ``when``."""
    return when.astimezone().date()


def shown(when: str | datetime | None, *, never: str = "never") -> str:
    """A recorded time as a person reads it: local time with the zone,
    ``5 Dec 2026, 10:02 GMT``; ``never`` for no time."""
    found = parse(when) if isinstance(when, str) or when is None else when
    if found is None:
        return never
    local = found.astimezone()
    return f"{local.day} {local:%b %Y, %H:%M} {local:%Z}".rstrip()


def shown_day(when: str | datetime | date | None, *, never: str = "never") -> str:
    """A recorded day as a person reads it: ``5 Dec 2026`` (local)."""
    if isinstance(when, date) and not isinstance(when, datetime):
        return f"{when.day} {when:%b %Y}"
    found = parse(when) if isinstance(when, str) or when is None else when
    if found is None:
        return never
    local = found.astimezone()
    return f"{local.day} {local:%b %Y}"
