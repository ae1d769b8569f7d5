"""Dates as a user types them, the way the UK writes them.

``parse`` accepts, for any option that takes a day:

- day first with ``/``, ``.`` or ``-``: ``04/12/2026``, ``4/12/26``, ``4.12.2026``
  (a two-digit year is in this century);
- the day and the month's name: ``4 Dec 2026``, ``4th December 2026``,
  ``Dec 4, 2026``;
- ISO: ``2026-12-04`` (and ``2026/12/04``).

A date that does not exist (``31/02/2026``), one that only reads as the US
writes it (``12/31/2026``) and one without a year (``4/12``: which year?) are
refused with one line that says why. ``show`` writes days as ``4 Dec 2026``.
"""

from __future__ import annotations

import re
from datetime import date

from vault.errors import UsageError

EXAMPLES = "04/12/2026, 4/12/26, 4 Dec 2026 or 2026-12-04"
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        1,
    )
    for name in names
}  # fmt: skip
_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_NUMERIC = re.compile(r"(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{2}|\d{4}))?")
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"
_MONTH = r"([a-z]+)\.?"
_DAY_MONTH = re.compile(_ORDINAL + r"\s*(?:of\s+)?" + _MONTH + r"(?:,?\s*(\d{4}))?")
_MONTH_DAY = re.compile(_MONTH + r"\s*" + _ORDINAL + r"(?:,?\s*(\d{4}))?")


class _Refused(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def parse(text: str, option: str) -> date:
    """The day ``text`` names, for ``option`` (named in the error)."""
    try:
        return _parse(" ".join(text.lower().split()))
    except _Refused as refused:
        raise UsageError(
            f"{option}: {text.strip()!r} {refused.why}",
            hint=f"give a day as the UK writes it: {EXAMPLES}",
        ) from None


def _parse(value: str) -> date:
    if match := _ISO.fullmatch(value):
        return _day(int(match[1]), int(match[2]), int(match[3]))
    if match := _NUMERIC.fullmatch(value):
        day, month, year = int(match[1]), int(match[2]), match[3]
        if year is None:
            raise _Refused("has no year (which year is meant?)")
        if month > 12 and day <= 12:
            raise _Refused("is not a date (the day comes first in the UK)")
        return _day(_full_year(year), month, day)
    for pattern, day_at, month_at in ((_DAY_MONTH, 1, 2), (_MONTH_DAY, 2, 1)):
        if match := pattern.fullmatch(value):
            month_number = _MONTHS.get(match[month_at])
            if month_number is None:
                break
            if match[3] is None:
                raise _Refused("has no year (which year is meant?)")
            return _day(int(match[3]), month_number, int(match[day_at]))
    raise _Refused("is not a date")


def _full_year(year: str) -> int:
    return 2000 + int(year) if len(year) == 2 else int(year)


def _day(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise _Refused("is not a real date") from None


def spoken(day: date | str) -> str:
    """A day as people write it: ``4 Dec 2026`` (from a date or ISO text)."""
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    return f"{day.day} {_SHORT[day.month - 1]} {day.year}"
