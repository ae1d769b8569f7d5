"""Titles made from a document's content (vault.title)."""

from __future__ import annotations

import pytest

from tests.scans import LETTER, SECOND_LETTER
from vault.title import make_title

RECEIVED = "2026-12-05T09:00:00+00:00"


@pytest.mark.parametrize(
    "doc_type,text,fields,title",
    [
        ("letter", LETTER, {}, "Letter — Harbour View Child Contact Centre — 5 Dec 2026"),
        ("referral", SECOND_LETTER, {}, "Referral — Riverside Family Support Service — 5 Dec 2026"),
        (
            "court-order",
            "IN THE FAMILY COURT AT NORWICH\nCase No NT26P00412",
            {"dates": ["2026-11-12"]},
            "Court order — Family Court at Norwich — 12 Nov 2026",
        ),
        (
            "referral",
            "REFERRAL FORM\nNORTHSHIRE COUNCIL\nChildren's Services",
            {"dates": ["2026-12-03", "2019-02-01"]},
            "Referral — Northshire Council — 3 Dec 2026",
        ),
        (
            "referral",
            "Referred by: Cafcass Norwich\nText",
            {},
            "Referral — Cafcass Norwich — 5 Dec 2026",
        ),
        ("other", "", {}, "Document — 5 Dec 2026"),
        ("letter", "Dear Mrs Przybylski,\nMother: Anna Nowak", {}, "Letter — 5 Dec 2026"),
        ("other", "Mr John Smith\n12 Mill Lane", {}, "Document — 5 Dec 2026"),
    ],
)
def test_titles(doc_type: str, text: str, fields: dict[str, object], title: str) -> None:
    assert make_title(doc_type, [text], fields, RECEIVED) == title


def test_a_long_heading_is_cut_at_a_word() -> None:
    heading = "Northshire Council Children's Services Family Support Team " * 3
    title = make_title("letter", [heading], {}, None)
    assert title.startswith("Letter — Northshire Council") and title.endswith("…")
    assert len(title) < 80
