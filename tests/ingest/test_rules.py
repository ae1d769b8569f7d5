"""Document types from keyword rules."""

from __future__ import annotations

import pytest

from ingest.rules import DEFAULT_RULES, Rules, classify, load_rules
from vault.errors import UsageError

DEFAULT = Rules.default()

COURT_ORDER = """IN THE FAMILY COURT
sitting at Nottingham
Case number: NT26P00412
CHILD ARRANGEMENTS ORDER
The Children Act 1989
Before District Judge Ahmed
IT IS ORDERED THAT the children spend time with their father."""

REFERRAL = """Referral form: supervised contact
Referring agency: Riverside Children's Services
Referral number: REF-2026-0193
Reason for referral: the court has asked for supervised handovers."""

LETTER = """Dear Ms Okafor,
Thank you for your call about Saturday's session.
Yours sincerely,
Margaret Ellison"""


@pytest.mark.parametrize(
    "text,expected",
    [
        (COURT_ORDER, "court-order"),
        (REFERRAL, "referral"),
        (LETTER, "letter"),
        ("Minutes of the volunteers' meeting", "other"),
        ("", "other"),
    ],
)
def test_default_rules(text: str, expected: str) -> None:
    assert classify(text, DEFAULT) == expected


def test_case_insensitive_and_across_line_breaks() -> None:
    assert classify("in the family\n   court\nchild arrangements\norder", DEFAULT) == "court-order"


def test_whole_words_only() -> None:
    # "dearest" is not "Dear", "sealedx" is not "SEALED"
    assert classify("my dearest friend, sealedx", DEFAULT) == "other"


def test_most_phrases_win_over_precedence() -> None:
    solicitor = LETTER + "\nThe child arrangements order is enclosed.\nOur ref: MC/17"
    assert classify(solicitor, DEFAULT) == "letter"


def test_tie_goes_to_first_type() -> None:
    assert classify("IN THE FAMILY COURT. Dear Sir", DEFAULT) == "court-order"


def test_config_replaces_a_type_and_adds_new_ones() -> None:
    rules = load_rules(
        {"rules": {"referral": ["Contact request"], "invoice": ["AMOUNT DUE", "INVOICE"]}}
    )
    assert rules.names() == [*DEFAULT_RULES, "invoice"]
    assert classify("CONTACT REQUEST from the local authority", rules) == "referral"
    assert classify("Reason for referral: handover", rules) == "other"
    assert classify("Invoice 42. Amount due: £30", rules) == "invoice"
    assert classify(COURT_ORDER, rules) == "court-order"  # untouched defaults remain


def test_config_empty_list_switches_a_type_off() -> None:
    assert classify(LETTER, load_rules({"rules": {"letter": []}})) == "other"


def test_no_rules_setting_gives_defaults() -> None:
    assert load_rules({}) == DEFAULT


@pytest.mark.parametrize(
    "bad", [["REFERRAL"], {"referral": "REFERRAL FORM"}, {"referral": [42]}, {"": ["x"]}]
)
def test_malformed_rules_setting(bad: object) -> None:
    with pytest.raises(UsageError, match="'rules' setting"):
        load_rules({"rules": bad})


def _score_by_patterns_alone(text: str, phrases: tuple[str, ...]) -> int:
    """The rule as written: each phrase's pattern searched in the whole text."""
    from ingest.rules import _pattern

    return sum(1 for phrase in phrases if _pattern(phrase).search(text))


@pytest.mark.parametrize(
    "text",
    [
        COURT_ORDER,
        REFERRAL,
        LETTER,
        "in  the\tfamily\n\n  court\x1cof appeal",  # runs of any spacing, \x1c is a space to both
        "REFERRAL\u00a0FORM and REFERRER",  # not ASCII: a no-break space between the words
        "ſupervised contact and Supervised Contact",  # a long s: matched without case
        "CARE ORDERS, SEALED-ish, dear-john, Yours Sincerely.",
        "x" * 5000 + " risk   assessment " + "y" * 5000,
    ],
)
def test_the_quick_check_counts_what_the_patterns_count(text: str) -> None:
    """The substring test that rules most phrases out never changes a score."""
    from ingest.rules import score

    rules = load_rules({"rules": {"odd": ["Ordeſ", "K\u212aelvin", "family   court"]}})
    for _, phrases in rules.types:
        assert score(text, phrases) == _score_by_patterns_alone(text, phrases), phrases
