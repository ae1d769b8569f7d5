"""How long each kind of document is kept: its retention date.

The centre's policy says the coordinator deletes out-of-date records; how
long a record is "in date" is the centre's decision, per document type, in
config.json::

    "retention_years": {"referral": 7, "court-order": 7, "letter": 3, "other": 7}

(the defaults, ``DEFAULT_YEARS``, when the setting or a type is missing). A
document's retention date is the day it was received plus its type's years
(29 February gives 28 February in a year without one). It is written into
the manifest when the document is stored, and again when ``vault edit``
changes its type, or sets a date of its own (``--retention``). A document
stored before retention dates existed has none in its manifest: its date is
worked out the same way when it is asked for (``date_of``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from vault.errors import UsageError

DEFAULT_YEARS: dict[str, int] = {"referral": 7, "court-order": 7, "letter": 3, "other": 7}
SETTING = "retention_years"


def years_for(doc_type: str, config: dict[str, Any]) -> int:
    """The years a document of ``doc_type`` is kept (the setting, else the default)."""
    table = config.get(SETTING)
    if isinstance(table, dict) and isinstance(table.get(doc_type), int):
        return int(table[doc_type])
    return DEFAULT_YEARS.get(doc_type, DEFAULT_YEARS["other"])


def check_types(config: dict[str, Any]) -> None:
    """Refuse a ``retention_years`` that names a type no document has (a
    typo such as "court order" would leave court orders at the default, and
    ``vault erase --due`` would erase them before the centre's date)."""
    table = config.get(SETTING)
    if not isinstance(table, dict):
        return
    rules = config.get("rules")
    known = [
        *DEFAULT_YEARS,
        *(t for t in (rules if isinstance(rules, dict) else {}) if t not in DEFAULT_YEARS),
    ]
    unknown = sorted(t for t in table if t not in known)
    if unknown:
        raise UsageError(
            f"the setting '{SETTING}' in config.json names {', '.join(map(repr, unknown))}, "
            "which is no document type",
            hint=f"the document types are {', '.join(known)}: correct the setting",
        )


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February, into a year without one
        return day.replace(year=day.year + years, day=28)


def retention_date(doc_type: str, received: str, config: dict[str, Any]) -> str:
    """The retention date (YYYY-MM-DD) of a document of ``doc_type`` received at
    ``received`` (an ISO 8601 time)."""
    day = datetime.fromisoformat(received).date()
    return _add_years(day, years_for(doc_type, config)).isoformat()


def date_of(row: dict[str, Any], config: dict[str, Any]) -> str:
    """A catalog row's retention date: its own, else worked out from its type."""
    own = row.get("retention")
    if isinstance(own, str) and own:
        return own
    return retention_date(str(row.get("doc_type") or "other"), str(row["received"]), config)


def check_date(text: str) -> str:
    """``text`` as a retention date (YYYY-MM-DD), or ``ValueError``."""
    return date.fromisoformat(text.strip()).isoformat()


def due(
    rows: Iterable[dict[str, Any]], config: dict[str, Any], today: date | None = None
) -> list[dict[str, Any]]:
    """The rows whose retention date is today or past, oldest date first, each
    with its ``retention`` date filled in."""
    today = today or date.today()
    found = []
    for row in rows:
        when = date_of(row, config)
        if date.fromisoformat(when) <= today:
            found.append({**row, "retention": when})
    return sorted(found, key=lambda row: (row["retention"], row["id"]))
