"""Facts read from a document's text."""

from __future__ import annotations

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
