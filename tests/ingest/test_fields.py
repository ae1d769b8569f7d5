"""Facts read from a document's text."""

from __future__ import annotations

import contextlib
import random
import re
from datetime import date

import pytest

from ingest.fields import (
    case_number,
    dates,
    extract_fields,
    family_reference,
    referral_number,
)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Case number: NT26P00412", "NT26P00412"),
        ("IN THE FAMILY COURT  ZW23C50123  between", "ZW23C50123"),
        ("Case No. ZW23C50123", "ZW23C50123"),
        ("case no: 1234/2026", "1234/2026"),
        ("Case reference:\nLS25P01234.", "LS25P01234"),
        ("Case number: to be confirmed; NT26P00412", "NT26P00412"),
        ("Hearing in case NT26P0041", None),
        ("no case here", None),
    ],
)
def test_case_number(text: str, expected: str | None) -> None:
    assert case_number(text) == expected


def test_labelled_case_number_wins_over_bare_one() -> None:
    assert case_number("see NT26P00412\nCase number: BR24C00077") == "BR24C00077"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Referral number: REF-2026-0193", "REF-2026-0193"),
        ("Referral no. 7781", "7781"),
        ("Our ref: MC/2026/17.", "MC/2026/17"),
        ("Our reference: NT26P00412", "NT26P00412"),
        ("please quote ref-2026-0044 in replies", "ref-2026-0044"),
        ("Our ref: pending", None),
        ("nothing", None),
    ],
)
def test_referral_number(text: str, expected: str | None) -> None:
    assert referral_number(text) == expected


def test_dates_in_every_style_as_iso_in_order_without_repeats() -> None:
    text = (
        "Dated 12/11/2026. Hearing on 3rd of March 2027, review 2027-06-01.\n"
        "Born 1.2.2019; letter of 12 November 2026; next Sept 5, 2027; 14 Feb. 2028"
    )
    assert dates(text) == [
        "2026-11-12",
        "2027-03-03",
        "2027-06-01",
        "2019-02-01",
        "2027-09-05",
        "2028-02-14",
    ]


def test_a_month_spelt_with_a_long_s_is_read_not_a_crash() -> None:
    # Python's re takes "ſ" (U+017F) for "s" when ignoring case: the month's
    # name is looked up folded the same way.
    assert dates("12 ſeptember 2026; Auguſt 3, 2026") == ["2026-09-12", "2026-08-03"]


@pytest.mark.parametrize(
    "text", ["31/02/2026", "2026-13-01", "REF-2026-0193", "12/11/26", "call 01234 567890"]
)
def test_not_dates(text: str) -> None:
    assert dates(text) == []


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Family reference F-0042", "F-0042"),
        ("families F-0042 and F-0077", "F-0042"),
        ("F-00421", None),
        ("REF-0042", None),
        ("f-0042", None),
        # OCR's near-misses: the code they spoil, in its one form
        ("Family F-005 1, contact", "F-0051"),
        ("Family F- 0051.", "F-0051"),
        ("Family F\u20130051", "F-0051"),
        ("F-00 42 1", None),
        ("F-0042 1234", "F-0042"),
    ],
)
def test_family_reference(text: str, expected: str | None) -> None:
    assert family_reference(text) == expected


def test_extract_fields_only_what_is_there() -> None:
    assert extract_fields("A short note.") == {}
    assert extract_fields("Case number: NT26P00412 dated 12/11/2026") == {
        "case_number": "NT26P00412",
        "dates": ["2026-11-12"],
    }


def _unhinted(text: str) -> tuple[str | None, str | None, list[str]]:
    """Case number, referral number and dates by the patterns alone, each run
    on the whole text (what the quick tests in front of them must not change)."""
    from ingest import fields

    def first(labelled: re.Pattern[str], bare: re.Pattern[str]) -> str | None:
        found = fields._first_labelled(labelled, text)
        match = bare.search(text)
        return found or (match.group(0) if match else None)

    found: list[tuple[int, str]] = []
    for pattern, order in fields._DATE_PATTERNS:
        for match in pattern.finditer(text):
            parts = dict(zip(order, match.groups(), strict=True))
            month = fields._MONTHS[fields._folded(parts["M"])] if "M" in parts else int(parts["m"])
            with contextlib.suppress(ValueError):
                found.append(
                    (match.start(), date(int(parts["y"]), month, int(parts["d"])).isoformat())
                )
    return (
        first(fields._CASE_LABELLED, fields._CASE_BARE),
        first(fields._REFERRAL_LABELLED, fields._REFERRAL_BARE),
        list(dict.fromkeys(iso for _, iso in sorted(found))),
    )


PIECES = [
    "Case number: NT26P00412", "CASE NO. ZW23C50123", "caſe ref LS25P01234", "ZW23C50123",
    "Referral number: REF-2026-0193", "Our ref: AB/12-3", "OUR REFERENCE. X9", "rEf-2026-01234",
    "referral\tno 77", "ReferraL NUMBER is RX-1", "12/11/2026", "1.2.2026", "2026-11-12",
    "3rd of November 2026", "12 ſeptember 2026", "SEPT 4, 2026", "May 1st 2026", "31/02/2026",
    "1/12/2026/7", "2026-11-12-3", "٢٠٢٦-١١-١٢", "İtem 00012", "Kelvin K", "item 12-3",
    "Referral 00012 for family F-1012", "court order supervised", "\n", " ", "—", "(", ")",
]  # fmt: skip


def test_the_quick_tests_never_rule_out_what_the_patterns_find() -> None:
    rng = random.Random(2026)
    texts = ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 8))) for _ in range(2000)]
    texts += PIECES
    found_any = [0, 0, 0]
    for text in texts:
        expected = _unhinted(text)
        assert (case_number(text), referral_number(text), dates(text)) == expected, text
        fields = extract_fields(text)
        assert fields.get("case_number") == expected[0]
        assert fields.get("referral_number") == expected[1]
        assert fields.get("dates", []) == expected[2]
        found_any = [n + bool(value) for n, value in zip(found_any, expected, strict=True)]
    assert all(count > 50 for count in found_any)  # each kind of fact found often
