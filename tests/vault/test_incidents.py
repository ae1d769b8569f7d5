"""The breach register read from the audit log (``vault.incidents.register``)
and the aware time typed by the user (``parse_aware``): what a damaged or
altered log, or a slip of the keyboard, does.

The audit log is plain text that anyone who can write to the vault folder (or
a backup that comes back with a recovery) can extend with entries whose hash
chain is sound; what it says is printed on a terminal, in ``vault status``
and in the committee report, so the register takes only entries that
``vault incident record`` and ``close`` could have written.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vault import incidents
from vault.audit import AuditLog
from vault.errors import UsageError

NOW = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)


@pytest.fixture
def east_of_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_an_aware_time_in_year_one_or_before_1970_is_refused(east_of_utc: None) -> None:
    for text in ("0001-01-01 00:00", "1 Jan 0001 00:30", "1969-12-31 23:59", "1970-01-01 08:00"):
        with pytest.raises(UsageError, match="too long ago"):
            incidents.parse_aware(text, NOW)
    assert incidents.parse_aware("1990-01-01 10:00", NOW) == datetime(1990, 1, 1, 1, 0, tzinfo=UTC)


def _log(tmp_path: Path) -> AuditLog:
    log = AuditLog(tmp_path / "audit.log")
    log.append(incidents.RECORD, ["I-7K3M9Q"], kind="lost-paper", aware="2026-12-04T09:30:00+00:00")
    return log


def test_entries_the_register_could_not_have_written_are_left_out(tmp_path: Path) -> None:
    log = _log(tmp_path)
    hostile = [
        (["I-AAAAA1"], {"kind": "other", "aware": "9999-12-31T23:00:00+00:00"}),  # overflows
        (["I-AAAAA2"], {"kind": "other", "aware": "0001-01-01T00:00:00+00:00"}),
        (["I-AAAAA3"], {"kind": "other", "aware": "2099-01-01T00:00:00+00:00"}),  # future
        (["I-AAAAA4"], {"kind": "\x1b]0;title\x07evil", "aware": "2026-12-04T09:30:00+00:00"}),
        (["I-AAAAA5"], {"kind": ["other"], "aware": "2026-12-04T09:30:00+00:00"}),
        (["\x1b[31mI-AAAAA6"], {"kind": "other", "aware": "2026-12-04T09:30:00+00:00"}),
        ([["I-AAAAA7"]], {"kind": "other", "aware": "2026-12-04T09:30:00+00:00"}),
        ([7], {"kind": "other", "aware": "2026-12-04T09:30:00+00:00"}),
    ]
    for ids, detail in hostile:
        log.append(incidents.RECORD, ids, **detail)
    found = incidents.register(log.entries())
    assert [i.id for i in found] == ["I-7K3M9Q"]
    for item in found:  # every one can be shown
        item.as_dict(NOW)


@pytest.mark.parametrize(
    "detail",
    [
        {"decision": "reported", "ico": "\x1b[2J\x1b[31mFAKE"},
        {"decision": "reported", "ico": "IC-1\u202e"},
        {"decision": "reported"},
        {"decision": "\x1b[31mwhatever"},
        {"decision": "not-reportable", "ico": "IC-123"},
    ],
)
def test_a_close_the_register_could_not_have_written_leaves_it_open(
    tmp_path: Path, detail: dict[str, object]
) -> None:
    log = _log(tmp_path)
    log.append(incidents.CLOSE, ["I-7K3M9Q"], **detail)
    (found,) = incidents.register(log.entries())
    assert found.open
    log.append(incidents.CLOSE, ["I-7K3M9Q"], decision="reported", ico="IC-123456-A1B2")
    (found,) = incidents.register(log.entries())
    assert (found.decision, found.ico) == ("reported", "IC-123456-A1B2")


def test_a_local_time_skipped_when_the_clocks_go_forward_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """01:30 on 29 March 2026 never happened in London (01:00 GMT became 02:00
    BST); taken as it was, it became 00:30 GMT, an hour from what was typed.
    The hour that happens twice in October is the first one: the earlier
    deadline. The 72 hours are real hours across the change."""
    monkeypatch.setenv("TZ", "Europe/London")
    time.tzset()
    try:
        with pytest.raises(UsageError, match="clocks went forward"):
            incidents.parse_aware("2026-03-29 01:30", NOW)
        before = incidents.parse_aware("2026-03-28 09:00", NOW)
        assert before == datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
        recorded = datetime(2026, 3, 28, 9, 5, tzinfo=UTC).isoformat()
        assert incidents.Incident("I-7K3M9Q", "other", before.isoformat(), recorded).deadline == (
            datetime(2026, 3, 31, 9, 0, tzinfo=UTC)
        )
        twice = incidents.parse_aware("2026-10-25 01:30", NOW)
        assert twice == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_entries_written_at_an_impossible_time_are_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log's own times come from the computer's clock, or from whoever
    edited it: one that a zone or a day added would take out of range is
    not shown (it was a crash before)."""
    log = _log(tmp_path)
    for odd in ("9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00"):
        monkeypatch.setenv("VAULT_TEST_NOW", odd)
        log.append(incidents.RECORD, ["I-AAAAA1"], kind="other", aware=odd)
        log.append(incidents.CLOSE, ["I-7K3M9Q"], decision="reported", ico="IC-1")
    monkeypatch.delenv("VAULT_TEST_NOW")
    (found,) = incidents.register(log.entries())
    assert found.id == "I-7K3M9Q" and found.open
