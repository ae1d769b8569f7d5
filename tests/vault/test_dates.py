"""Days as the UK writes them (vault.dates)."""

from __future__ import annotations

from datetime import date

import pytest

from vault.dates import parse, spoken
from vault.errors import UsageError


@pytest.mark.parametrize(
    "text",
    ["04/12/2026", "4/12/2026", "4/12/26", "04.12.2026", "4-12-2026", "2026-12-04",
     "2026/12/04", "4 Dec 2026", "4th December 2026", "4 dec. 2026", "December 4, 2026",
     "Dec 4th 2026", " 4  Dec  2026 "],
)  # fmt: skip
def test_one_day_written_many_ways(text: str) -> None:
    assert parse(text, "--since") == date(2026, 12, 4)


@pytest.mark.parametrize(
    "text,why",
    [
        ("31/02/2026", "is not a real date"),
        ("12/31/2026", "the day comes first in the UK"),
        ("4/12", "has no year"),
        ("4 Dec", "has no year"),
        ("4 Decembre 2026", "is not a date"),
        ("2026-13-01", "is not a real date"),
        ("", "is not a date"),
        ("4/12/026", "is not a date"),
    ],
)
def test_impossible_or_ambiguous_days_are_refused(text: str, why: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text, "--until")
    assert caught.value.message.startswith(f"--until: {text.strip()!r} ")
    assert why in caught.value.message
    assert caught.value.exit_code == 2


def test_spoken() -> None:
    assert spoken(date(2026, 12, 4)) == "4 Dec 2026"
    assert spoken("2026-11-25T09:12:00+00:00") == "25 Nov 2026"
