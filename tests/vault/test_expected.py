"""Expected post (``vault.expected``): which arrival is which expectation
(``match``), the register read from the audit log (``register``) and the
days a user types.

The audit log is plain text that anyone who can write to the vault folder can
extend with entries whose hash chain is sound; what it says reaches the
terminal, ``vault status`` and the committee report, so the register takes
only entries that the ``vault expect`` commands could have written, and only
changes that fit the state they find.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from vault import expected
from vault.audit import AuditLog
from vault.errors import NotFoundError, UsageError
from vault.expected import Arrival, Expectation

TODAY = date(2026, 12, 4)
T = "2026-12-04T10:00:00+00:00"
LATER = "2026-12-04T11:00:00+00:00"


def waiting(item_id: str, doc_type: str, family: str, recorded: str = T) -> tuple[Expectation, str]:
    return Expectation(item_id, doc_type, "2026-12-10", recorded), family


def arrival(doc_id: str, doc_type: str, family: str | None, received: str = LATER) -> Arrival:
    return Arrival(doc_id, doc_type, family, received)


# --- match ------------------------------------------------------------------------------


def test_one_open_expectation_of_the_type_and_family_is_the_one() -> None:
    found = expected.match(
        [waiting("E-000001", "court-order", "F-0042")],
        [arrival("D-000001", "court-order", "F-0042")],
    )
    assert [(m.expectation, m.doc_id) for m in found] == [("E-000001", "D-000001")]
    assert found[0].message() == (
        "D-000001 is the court order expected as E-000001 (due 10 Dec 2026): marked received"
    )


def test_of_several_the_oldest_is_taken_and_the_others_stay_open() -> None:
    open_ = [
        waiting("E-000001", "court-order", "F-0042", "2026-12-01T09:00:00+00:00"),
        waiting("E-000002", "court-order", "F-0042", "2026-12-02T09:00:00+00:00"),
        waiting("E-000003", "court-order", "F-0042", "2026-12-03T09:00:00+00:00"),
    ]
    one = expected.match(open_, [arrival("D-000001", "court-order", "F-0042")])
    assert [m.expectation for m in one] == ["E-000001"]
    two = expected.match(
        open_,
        [arrival("D-000001", "court-order", "F-0042"), arrival("D-000002", "court-order", "F42")],
    )
    assert [(m.expectation, m.doc_id) for m in two] == [
        ("E-000001", "D-000001"),
        ("E-000002", "D-000002"),
    ]


@pytest.mark.parametrize(
    "came",
    [
        arrival("D-000001", "letter", "F-0042"),  # another type
        arrival("D-000001", "court-order", "F-0043"),  # another family
        arrival("D-000001", "court-order", None),  # no family found
        arrival("D-000001", "court-order", "F-0042", "2026-12-04T09:59:59+00:00"),  # before it
        arrival("D-000001", "court-order", "F-0042", "not a time"),
    ],
)
def test_nothing_else_matches(came: Arrival) -> None:
    assert expected.match([waiting("E-000001", "court-order", "F-0042")], [came]) == []


def test_a_family_in_another_spelling_is_the_same_family() -> None:
    found = expected.match(
        [waiting("E-000001", "referral", "f42")], [arrival("D-000001", "referral", "F-0042")]
    )
    assert len(found) == 1


def test_one_that_is_not_open_is_never_matched() -> None:
    gone = Expectation("E-000001", "referral", "2026-12-10", T, state=expected.CANCELLED)
    assert expected.match([(gone, "F-0042")], [arrival("D-000001", "referral", "F-0042")]) == []


# --- the register -------------------------------------------------------------------------


def _log(tmp_path: Path) -> AuditLog:
    log = AuditLog(tmp_path / "audit.log")
    log.append(expected.ADD, ["E-7K3M9Q"], type="court-order", due="2026-12-01")
    return log


def test_a_life_of_changes(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.append(expected.ADD, ["E-7K3M9R"], type="court-order", due="2026-12-20")
    log.append(expected.CHASE, ["E-7K3M9Q"], asked="2026-12-02")
    log.append(expected.RECEIVED, ["E-7K3M9Q", "D-AAAAAA"], how=expected.MATCHED)
    found = {e.id: e for e in expected.register(log.entries())}
    first = found["E-7K3M9Q"]
    assert first.state == expected.CLOSED_RECEIVED and first.doc == "D-AAAAAA"
    assert first.chased == ("2026-12-02",) and first.days_overdue(TODAY) == 0
    assert found["E-7K3M9R"].open and not found["E-7K3M9R"].overdue(TODAY)

    # Given by hand to the other one: the first is open again, and overdue.
    log.append(expected.RECEIVED, ["E-7K3M9R", "D-AAAAAA", "E-7K3M9Q"], how=expected.BY_HAND)
    found = {e.id: e for e in expected.register(log.entries())}
    assert found["E-7K3M9Q"].open and found["E-7K3M9Q"].days_overdue(TODAY) == 3
    assert found["E-7K3M9R"].doc == "D-AAAAAA" and found["E-7K3M9R"].how == expected.BY_HAND
    assert expected.for_document(list(found.values()), "D-AAAAAA") == found["E-7K3M9R"]

    log.append(expected.LOST, ["E-7K3M9Q", "I-7K3M9Q"], kind="lost-paper", aware=T)
    lost = {e.id: e for e in expected.register(log.entries())}["E-7K3M9Q"]
    assert lost.state == expected.WRITTEN_OFF and lost.incident == "I-7K3M9Q"
    assert lost.days_overdue(TODAY) == 0  # written off: no longer overdue
    assert expected.closed_since([lost], lost.closed_seq - 1) == [lost]
    assert expected.closed_since([lost], lost.closed_seq) == []


@pytest.mark.parametrize(
    ("event", "ids", "detail"),
    [
        (expected.RECEIVED, ["E-7K3M9Q", "D-AAAAAA"], {"how": "by magic"}),
        (expected.RECEIVED, ["E-7K3M9Q", "\x1b[2JD-AAAAAA"], {"how": expected.MATCHED}),
        (expected.RECEIVED, ["E-7K3M9Q", "D-AAAAAA", "E-NOTHER"], {"how": expected.BY_HAND}),
        (expected.RECEIVED, ["E-7K3M9Q", ["D-AAAAAA"]], {"how": expected.BY_HAND}),
        (expected.CHASE, ["E-7K3M9Q"], {"asked": "2099-01-01"}),  # after the entry
        (expected.CHASE, ["E-7K3M9Q"], {"asked": "1900-01-01"}),
        (expected.CHASE, ["E-7K3M9Q"], {"asked": "2026-02-30"}),
        (expected.CHASE, ["E-7K3M9Q"], {}),
        (expected.LOST, ["E-7K3M9Q", "D-AAAAAA"], {}),
        (expected.LOST, ["E-7K3M9Q"], {}),
        (expected.CANCEL, ["E-7K3M9Q", "more"], {}),
        (expected.CANCEL, [7], {}),
    ],
)
def test_a_change_the_commands_could_not_have_written_changes_nothing(
    tmp_path: Path, event: str, ids: list[object], detail: dict[str, object]
) -> None:
    log = _log(tmp_path)
    log.append(event, ids, **detail)  # type: ignore[arg-type]
    (found,) = expected.register(log.entries())
    assert found.open and found.chased == () and found.doc is None


def test_only_what_add_could_have_written_is_an_expectation(tmp_path: Path) -> None:
    log = _log(tmp_path)
    hostile: list[tuple[list[object], dict[str, object]]] = [
        (["E-AAAAA1"], {"type": "court-order", "due": "9999-12-31"}),  # far from its entry
        (["E-AAAAA2"], {"type": "court-order", "due": "0001-01-01"}),
        (["E-AAAAA3"], {"type": "court-order", "due": "2026-13-01"}),
        (["E-AAAAA4"], {"type": "court-order", "due": "20261201"}),
        (["E-AAAAA5"], {"type": "Court Order", "due": "2026-12-01"}),
        (["E-AAAAA6"], {"type": "\u202ecourt", "due": "2026-12-01"}),
        (["E-AAAAA7"], {"type": "court-order"}),
        (["E-AAAAAU"], {"type": "court-order", "due": "2026-12-01"}),  # U: not in the alphabet
        (["E-AAAAA8", "E-AAAAA9"], {"type": "court-order", "due": "2026-12-01"}),
        (["E-7K3M9Q"], {"type": "letter", "due": "2026-12-02"}),  # the same id again
    ]
    for ids, detail in hostile:
        log.append(expected.ADD, ids, **detail)  # type: ignore[arg-type]
    found = expected.register(log.entries())
    assert [(e.id, e.doc_type, e.due) for e in found] == [("E-7K3M9Q", "court-order", "2026-12-01")]
    for item in found:
        item.as_dict(TODAY)  # every one can be shown


def test_matched_only_while_open(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.append(expected.CANCEL, ["E-7K3M9Q"])
    log.append(expected.RECEIVED, ["E-7K3M9Q", "D-AAAAAA"], how=expected.MATCHED)
    (found,) = expected.register(log.entries())
    assert found.state == expected.CANCELLED
    log.append(expected.RECEIVED, ["E-7K3M9Q", "D-AAAAAA"], how=expected.BY_HAND)
    (found,) = expected.register(log.entries())
    assert found.state == expected.CLOSED_RECEIVED  # by hand: it came after all


def test_overdue_by_type() -> None:
    items = [
        Expectation("E-000001", "referral", "2026-12-01", T, chased=("2026-12-02",)),
        Expectation("E-000002", "court-order", "2026-11-20", T),
        Expectation("E-000003", "court-order", "2026-12-03", T),
        Expectation("E-000004", "court-order", "2026-12-04", T),  # due today: not yet
        Expectation("E-000005", "letter", "2026-11-01", T, state=expected.CANCELLED),
    ]
    groups = expected.overdue_by_type(items, TODAY)
    assert [(g.doc_type, g.days, g.chased) for g in groups] == [
        ("court-order", [14, 1], 0),
        ("referral", [3], 1),
    ]


# --- what the user types -------------------------------------------------------------------


def test_ids_are_forgiven_as_document_ids_are() -> None:
    for typed in ("e-7k3m9q", "E7K3M9Q", "7K3M9Q", " E-7K3M9Q ", "E-E-7K3M9Q"):
        assert expected.normalise_expectation_id(typed) == "E-7K3M9Q"
    assert expected.normalise_expectation_id("E-0OIL23") == "E-001123"
    items = [Expectation("E-7K3M9Q", "letter", "2026-12-01", T)]
    with pytest.raises(NotFoundError, match="no expected post E-7K3M9R") as near:
        expected.find(items, "E-7K3M9R")
    assert near.value.hint == "did you mean E-7K3M9Q?"
    with pytest.raises(NotFoundError) as refused:
        expected.find(items, "\x1b[2J" + "x" * 50)
    assert "\x1b" not in refused.value.message
    assert len(refused.value.message) < 80


def test_days_typed() -> None:
    assert expected.parse_day("4/12/2036", "--by", TODAY) == date(2036, 12, 4)
    assert expected.parse_day("1 Jan 2017", "--by", TODAY) == date(2017, 1, 1)
    for typed in ("5/12/2036", "1/1/1900", "31/12/9999"):
        with pytest.raises(UsageError, match="more than ten years"):
            expected.parse_day(typed, "--by", TODAY)
    with pytest.raises(UsageError, match="in the future"):
        expected.parse_day("5/12/2026", "--asked", TODAY, future=False)
    assert expected.parse_day("4/12/2026", "--asked", TODAY, future=False) == TODAY
