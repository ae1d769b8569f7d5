"""Expected post through the CLI: ``vault expect``, matching on arrival by
``vault ingest`` and ``vault watch``, and what the committee sees of it.

The type, due day and state of each expectation are in the plain audit log
(``list``, ``status`` and the report read them without the passphrase); the
family, the sender and the notes are encrypted in the catalog, and so never
in any file of the vault or of a backup in plaintext, yet carried through a
sync and recovery, a key rotation and a rebuild of the catalog while this
computer's database opens. The clock is set with ``VAULT_TEST_NOW``, the
zone with ``TZ``.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE, TEST_WORK_FACTOR
from vault import chain, scrypt_file
from vault.audit import AuditLog
from vault.cli import cli
from vault.repository import Vault

SENDER = "Wolstenholme Solicitors"  # a name: personal data, never in plaintext on disk
SENDER_WORD = "Wolstenholme"
NOTE = "Abernethy"
FAMILY = "F-0042"
NEW = "Brand New Key 93"
T0 = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)  # 10:30 in New York (EST)
EXPECTATION = re.compile(r"E-[0-9A-Z]{6}")
FAST = ("--settle", "0.3", "--interval", "0.1")


@pytest.fixture(autouse=True)
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    monkeypatch.setenv("VAULT_TEST_NOW", T0.isoformat())
    monkeypatch.delenv("VAULT_PASSPHRASE", raising=False)
    monkeypatch.delenv("VAULT_DIR", raising=False)
    yield
    monkeypatch.undo()
    time.tzset()


def at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    monkeypatch.setenv("VAULT_TEST_NOW", when.isoformat())


def run(
    root: Path,
    *args: str,
    passphrase: str | None = PASSPHRASE,
    stdin: str | None = None,
    **env: str,
) -> Result:
    """``vault --vault root ARGS``; the passphrase (if any) in the environment."""
    environ: dict[str, str | None] = {"VAULT_PASSPHRASE": passphrase, **env}
    result = CliRunner().invoke(cli, ["--vault", str(root), *args], env=environ, input=stdin)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def ok(root: Path, *args: str, passphrase: str | None = PASSPHRASE, **env: str) -> Result:
    result = run(root, *args, passphrase=passphrase, **env)
    assert result.exit_code == 0, result.output
    return result


def add(root: Path, what: str, family: str, by: str, *more: str, sender: str = SENDER) -> str:
    """``vault expect add``; the new expectation's id."""
    done = ok(
        root, "expect", "add", "--what", what, "--family", family, "--from", sender, "--by", by,
        *more,
    )  # fmt: skip
    found = re.search(r": (E-[0-9A-Z]{6})\.$", done.stdout.splitlines()[0])
    assert found, done.stdout
    return found[1]


def listed(root: Path, *args: str, passphrase: str | None = None) -> dict[str, dict[str, Any]]:
    found = json.loads(ok(root, "expect", "list", "--json", *args, passphrase=passphrase).stdout)
    return {item["id"]: item for item in found}


def audit(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / "audit.log").read_text().splitlines()]


def events(root: Path, prefix: str = "expect") -> list[tuple[str, list[str], dict[str, Any]]]:
    """The audit entries of ``prefix``: event, ids, detail (less the key's label)."""
    return [
        (e["event"], e["ids"], {k: v for k, v in e["detail"].items() if k != "key"})
        for e in audit(root)
        if e["event"].startswith(prefix)
    ]


def files_holding(folder: Path, word: str) -> list[Path]:
    """Every file under ``folder`` whose bytes hold ``word`` (any case)."""
    wanted = word.lower().encode()
    return [p for p in folder.rglob("*") if p.is_file() and wanted in p.read_bytes().lower()]


def letter(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def ingest(root: Path, path: Path, *args: str, passphrase: str | None = PASSPHRASE) -> Result:
    return ok(root, "ingest", str(path), "--keep-source", *args, passphrase=passphrase)


def stored_id(result: Result) -> str:
    found = re.search(r"^(D-[0-9A-Z]{6})  ", result.stdout, re.MULTILINE)
    assert found, result.output
    return found[1]


def report(root: Path, out: Path, passphrase: str | None = None) -> str:
    """The committee report as PDF and HTML, their text joined into one string
    (the files' bytes are checked for ``forbidden`` words by the callers)."""
    ok(root, "report", "--out", str(out.with_suffix(".pdf")), passphrase=passphrase)
    ok(root, "report", "--out", str(out.with_suffix(".html")), passphrase=passphrase)
    pdf = subprocess.run(
        ["pdftotext", "-layout", str(out.with_suffix(".pdf")), "-"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    page = re.sub(r"<[^>]+>", " ", out.with_suffix(".html").read_text())
    return " ".join((pdf + "\n" + page).split())


def section(text: str) -> str:
    """The report's "Expected post" section (up to the next heading)."""
    found = re.search(r"Expected post (Awaited: .*?) Data breaches ", text)
    assert found, text
    return found[1]


# --- add, list: what is kept where ------------------------------------------------------


def test_add_and_list_keep_the_sender_family_and_note_encrypted(vault_dir: Path) -> None:
    done = ok(
        vault_dir, "expect", "add", "--what", "court-order", "--family", "f42",
        "--from", SENDER, "--by", "2026-12-10", "--note", f"{NOTE} rang to say it was posted",
    )  # fmt: skip
    first = EXPECTATION.findall(done.stdout)[0]
    assert done.stdout.startswith(
        f"Expecting a court order for family {FAMILY} from {SENDER} by 10 Dec 2026: {first}."
    )
    assert "overdue" not in done.stdout
    second = add(vault_dir, "referral", "F-51", "4th January 2027")

    # The audit log: ids, types and days only.
    assert events(vault_dir) == [
        ("expect", [first], {"due": "2026-12-10", "type": "court-order"}),
        ("expect", [second], {"due": "2027-01-04", "type": "referral"}),
    ]
    text = ok(vault_dir, "expect", "list", passphrase=None).stdout
    assert f"{first}  court order  due 10 Dec 2026  open" in text
    assert f"{second}  referral  due 4 Jan 2027  open" in text
    assert SENDER_WORD not in text and FAMILY not in text and NOTE not in text
    found = listed(vault_dir)
    assert found[first]["state"] == "open" and found[first]["overdue"] is False
    assert "sender" not in found[first] and "family" not in found[first]

    # With the key: the family, the sender and the note; reading them is recorded.
    details = ok(vault_dir, "expect", "list", "--details").stdout
    assert f"family {FAMILY}, from {SENDER}" in details
    assert f"{NOTE} rang to say it was posted" in details
    assert "family F-0051" in details
    with_details = listed(vault_dir, "--details", passphrase=PASSPHRASE)
    assert with_details[first]["sender"] == SENDER and with_details[first]["family"] == FAMILY
    assert with_details[first]["details_available"] is True
    assert events(vault_dir, "expect-show")[-1][1] == [first, second]

    # Never in plaintext in any file of the vault.
    for word in (SENDER_WORD, NOTE):
        assert files_holding(vault_dir, word) == []
    log = (vault_dir / "audit.log").read_text()
    assert FAMILY not in log and "F-0051" not in log


def test_a_day_already_past_is_taken_and_overdue_at_once(vault_dir: Path) -> None:
    done = ok(
        vault_dir, "expect", "add", "--what", "letter", "--family", FAMILY, "--from", SENDER,
        "--by", "1/12/2026",
    )  # fmt: skip
    item_id = EXPECTATION.findall(done.stdout)[0]
    assert "It is overdue already" in done.stdout
    assert f"vault expect chase {item_id} --asked DATE" in done.stdout
    found = listed(vault_dir)[item_id]
    assert found["overdue"] is True and found["days_overdue"] == 3
    assert f"{item_id}  letter  due 1 Dec 2026  open, overdue by 3 days" in (
        ok(vault_dir, "expect", "list", "--state", "overdue", passphrase=None).stdout
    )
    status = json.loads(ok(vault_dir, "status", "--json", passphrase=None).stdout)
    assert status["expected_open"] == 1 and status["expected_overdue"] == 1
    assert status["expected_oldest_due"] == "2026-12-01"


def test_dates_in_any_form_a_day_takes(vault_dir: Path) -> None:
    for typed in ("4th December 2026", "Dec 4, 2026", "04.12.26", " 4/12/2026 ", "2026/12/04"):
        item_id = add(vault_dir, "court-order", FAMILY, typed)
        assert listed(vault_dir)[item_id]["due"] == "2026-12-04"


# --- matching on arrival -----------------------------------------------------------------


def test_ingest_marks_one_received_and_the_oldest_of_two(vault_dir: Path, tmp_path: Path) -> None:
    older = add(vault_dir, "court-order", FAMILY, "2026-12-10")
    newer = add(vault_dir, "court-order", "F-0042", "2026-12-08", sender="Swindon Family Court")
    referral = add(vault_dir, "referral", FAMILY, "2026-12-10")
    other_family = add(vault_dir, "court-order", "F-0051", "2026-12-10")
    inbox = tmp_path / "inbox"

    # A court order for F-0042: the older of the two court orders expected.
    first = ingest(
        vault_dir, letter(inbox, "a.txt", "The order of 3 December."),
        "--type", "court-order", "--family", FAMILY,
    )  # fmt: skip
    doc = stored_id(first)
    assert (
        f"Expected post: {doc} is the court order expected as {older} (due 10 Dec 2026): "
        "marked received." in first.stderr
    )
    found = listed(vault_dir)
    assert found[older]["state"] == "received" and found[older]["document"] == doc
    assert found[older]["how"] == "matched"
    assert [found[i]["state"] for i in (newer, referral, other_family)] == ["open"] * 3
    assert (
        "expect-received",
        [older, doc],
        {"how": "matched"},
    ) in events(vault_dir)
    shown = ok(vault_dir, "show", doc).stdout
    assert (
        f"expected: {older}, the court order expected from {SENDER} by 10 Dec 2026 "
        "(matched on arrival)" in shown
    )
    as_json = json.loads(ok(vault_dir, "show", doc, "--json").stdout)
    assert as_json["expected"]["id"] == older and as_json["expected"]["sender"] == SENDER

    # The next one: the other court order; a letter for the family matches nothing.
    second = ingest(
        vault_dir, letter(inbox, "b.txt", "The order, sent again."),
        "--type", "court-order", "--family", "F42",
    )  # fmt: skip
    assert f"court order expected as {newer} (due 8 Dec 2026)" in second.stderr
    third = ingest(
        vault_dir, letter(inbox, "c.txt", "A letter."), "--type", "letter", "--family", FAMILY
    )
    assert "Expected post" not in third.stderr
    found = listed(vault_dir)
    assert found[newer]["document"] == stored_id(second)
    assert found[referral]["state"] == "open" and found[other_family]["state"] == "open"
    assert "expected:" not in ok(vault_dir, "show", stored_id(third)).stdout

    # A copy of a stored document is no new arrival.
    again = ingest(
        vault_dir, letter(inbox, "a-copy.txt", "The order of 3 December."),
        "--type", "court-order", "--family", FAMILY,
    )  # fmt: skip
    assert "Expected post" not in again.stderr
    assert [e for e in events(vault_dir) if e[0] == "expect-received"] == [
        ("expect-received", [older, doc], {"how": "matched"}),
        ("expect-received", [newer, stored_id(second)], {"how": "matched"}),
    ]


def test_post_stored_before_it_was_expected_is_named_not_matched(
    vault_dir: Path, tmp_path: Path
) -> None:
    doc = stored_id(
        ingest(
            vault_dir, letter(tmp_path, "o.txt", "An order."),
            "--type", "court-order", "--family", FAMILY,
        )
    )  # fmt: skip
    done = ok(
        vault_dir, "expect", "add", "--what", "court-order", "--family", FAMILY,
        "--from", SENDER, "--by", "2026-12-10",
    )  # fmt: skip
    item_id = EXPECTATION.findall(done.stdout)[0]
    assert (
        f"Already in the vault: {doc}, a court order for {FAMILY} received 4 Dec 2026. If it "
        f"is the one expected: vault expect received {item_id} --doc {doc}" in done.stdout
    )
    assert listed(vault_dir)[item_id]["state"] == "open"
    other = ok(
        vault_dir, "expect", "add", "--what", "referral", "--family", FAMILY,
        "--from", SENDER, "--by", "2026-12-10",
    )  # fmt: skip
    assert "Already in the vault" not in other.stdout


def test_post_stored_without_the_key_is_matched_when_next_unlocked(
    vault_dir: Path, tmp_path: Path
) -> None:
    item_id = add(vault_dir, "court-order", FAMILY, "2026-12-10")
    path = letter(tmp_path / "inbox", "order.txt", "The order.")
    done = ingest(vault_dir, path, "--type", "court-order", "--family", FAMILY, passphrase=None)
    doc = stored_id(done)
    assert (
        "1 expected document is awaited: what arrived is matched when the vault is next "
        "unlocked." in done.stderr
    )
    assert listed(vault_dir)[item_id]["state"] == "open"

    unlocked = ok(vault_dir, "list")  # any command that unlocks folds the journal in
    assert (
        f"vault: {doc} is the court order expected as {item_id} (due 10 Dec 2026): "
        "marked received." in unlocked.stderr
    )
    assert listed(vault_dir)[item_id]["document"] == doc

    # The command that folds it in sees it matched before it acts.
    other = add(vault_dir, "referral", FAMILY, "2026-12-10")
    ingest(
        vault_dir, letter(tmp_path / "inbox", "ref.txt", "The referral."),
        "--type", "referral", "--family", FAMILY, passphrase=None,
    )  # fmt: skip
    refused = run(vault_dir, "expect", "cancel", other, "--reason", "not coming")
    assert refused.exit_code == 2, refused.output
    assert f"expected post {other} cannot be cancelled: it was received" in refused.stderr
    assert listed(vault_dir)[other]["state"] == "received"


def test_watch_marks_post_received_as_it_arrives(vault_dir: Path, tmp_path: Path) -> None:
    first = add(vault_dir, "court-order", FAMILY, "2026-12-10")
    second = add(vault_dir, "court-order", FAMILY, "2026-12-12")
    waiting = add(vault_dir, "court-order", "F-0051", "2026-12-12")
    inbox = tmp_path / "inbox"
    for n in (1, 2):
        letter(
            inbox, f"scan{n}.txt",
            f"IN THE FAMILY COURT\nCHILD ARRANGEMENTS ORDER number {n}\n"
            f"Family reference {FAMILY}\nIT IS ORDERED THAT contact takes place.\n",
        )  # fmt: skip
    done = ok(
        vault_dir, "watch", str(inbox), "--once", *FAST,
        "--processed", str(tmp_path / "processed"),
    )  # fmt: skip
    found = listed(vault_dir)
    docs = {found[first]["document"], found[second]["document"]}
    assert None not in docs and len(docs) == 2
    assert found[waiting]["state"] == "open"
    for item_id in (first, second):
        assert (
            f"vault: {found[item_id]['document']} is the court order expected as {item_id}"
            in done.stderr
        )
    assert "Expected post: 2 documents marked received (" in done.stderr
    assert f"{found[first]['document']} as {first}" in done.stderr


def test_watch_without_the_key_leaves_the_matching_to_the_next_unlock(
    vault_dir: Path, tmp_path: Path
) -> None:
    item_id = add(vault_dir, "referral", FAMILY, "2026-12-10")
    inbox = tmp_path / "inbox"
    letter(inbox, "ref.txt", f"REFERRAL FORM\nReason for referral: contact\nFamily {FAMILY}\n")
    done = ok(
        vault_dir, "watch", str(inbox), "--once", *FAST, "--processed", str(tmp_path / "done"),
        passphrase=None,
    )  # fmt: skip
    assert "1 expected document is awaited" in done.stderr
    assert listed(vault_dir)[item_id]["state"] == "open"
    ok(vault_dir, "expect", "list", "--details")  # unlocks: the fold matches it
    assert listed(vault_dir)[item_id]["state"] == "received"


# --- by hand: received, cancel --------------------------------------------------------------


def test_received_by_hand_moves_a_document_from_a_wrong_match(
    vault_dir: Path, tmp_path: Path
) -> None:
    first = add(vault_dir, "court-order", FAMILY, "2026-12-10")
    second = add(vault_dir, "court-order", FAMILY, "2026-12-11", sender="Swindon Family Court")
    doc = stored_id(
        ingest(
            vault_dir, letter(tmp_path, "o.txt", "An order."),
            "--type", "court-order", "--family", FAMILY,
        )
    )  # fmt: skip
    assert listed(vault_dir)[first]["document"] == doc

    moved = ok(vault_dir, "expect", "received", second.lower(), "--doc", doc.lower())
    assert f"Marked {second} (court order) received as {doc}." in moved.stdout
    assert f"{doc} was recorded for {first} before: {first} is awaited again." in moved.stdout
    found = listed(vault_dir)
    assert found[first]["state"] == "open" and found[first]["document"] is None
    assert found[second]["document"] == doc and found[second]["how"] == "by-hand"
    assert events(vault_dir)[-1] == ("expect-received", [second, doc, first], {"how": "by-hand"})
    assert f"expected: {second}, the court order expected from Swindon Family Court" in (
        ok(vault_dir, "show", doc).stdout
    )
    again = run(vault_dir, "expect", "received", second, "--doc", doc)
    assert again.exit_code == 2 and "cannot be received as" in again.stderr

    # A document of another type is taken by hand: the matching could not see it.
    letter_id = stored_id(
        ingest(vault_dir, letter(tmp_path, "l.txt", "A letter."), "--type", "letter")
    )
    ok(vault_dir, "expect", "received", first, "--doc", letter_id)
    assert listed(vault_dir)[first]["document"] == letter_id

    cancelled = add(vault_dir, "referral", FAMILY, "2026-12-20")
    done = ok(vault_dir, "expect", "cancel", cancelled, "--reason", f"{NOTE} sent it by e-mail")
    assert f"Cancelled {cancelled} (referral)." in done.stdout
    assert listed(vault_dir)[cancelled]["state"] == "cancelled"
    assert listed(vault_dir, "--state", "written-off").keys() == {cancelled}
    assert listed(vault_dir, "--state", "received").keys() == {first, second}
    assert listed(vault_dir, "--state", "open") == {}
    details = ok(vault_dir, "expect", "list", "--details").stdout
    assert f"cancelled because, 4 Dec 2026, 10:30 EST: {NOTE} sent it by e-mail" in details
    assert files_holding(vault_dir, NOTE) == []


def test_bad_dates_unknown_ids_and_wrong_states_change_nothing(
    vault_dir: Path, tmp_path: Path
) -> None:
    item_id = add(vault_dir, "court-order", FAMILY, "2026-12-10")
    before = (vault_dir / "audit.log").read_bytes()

    def refused(*args: str, status: int = 2, stdin: str | None = None) -> str:
        result = run(vault_dir, "expect", *args, stdin=stdin)
        assert result.exit_code == status, result.output
        assert result.stderr.startswith("vault: error: "), result.output
        assert len([ln for ln in result.stderr.splitlines() if ln.startswith("vault: error")]) == 1
        return result.stderr

    def adding(**over: str) -> list[str]:
        given = {
            "--what": "court-order",
            "--family": FAMILY,
            "--from": SENDER,
            "--by": "10/12/2026",
        }
        given.update(over)
        return ["add", *[part for pair in given.items() for part in pair]]

    assert "is not a real date" in refused(*adding(**{"--by": "31/02/2026"}))
    assert "is not a date" in refused(*adding(**{"--by": "next week"}))
    assert "has no year" in refused(*adding(**{"--by": "4/12"}))
    assert "the day comes first in the UK" in refused(*adding(**{"--by": "12/31/2026"}))
    assert "more than ten years from today" in refused(*adding(**{"--by": "2126-12-10"}))
    assert "more than ten years from today" in refused(*adding(**{"--by": "1/1/1900"}))
    assert "'parcel' is not a type of document" in refused(*adding(**{"--what": "parcel"}))
    assert "a family reference is F- and digits" in refused(*adding(**{"--family": "Smith"}))
    assert "--from: no sender given" in refused(*adding(**{"--from": "  "}))
    assert "longer than 200 characters" in refused(*adding(**{"--from": "x" * 201}))

    assert "no expected post E-AAAAAA in this vault" in refused("chase", "E-AAAAAA", status=1)
    near = refused("chase", item_id[:-1] + ("Z" if item_id[-1] != "Z" else "Y"), status=1)
    assert f"did you mean {item_id}?" in near
    assert "no expected post" in refused(
        "received", "nonsense\x1b[2J", "--doc", "D-AAAAAA", status=1
    )
    assert "\x1b" not in refused("received", "nonsense\x1b[2J", "--doc", "D-AAAAAA", status=1)
    assert "no document D-AAAAAA in this vault" in refused(
        "received", item_id, "--doc", "D-AAAAAA", status=1
    )
    assert "is in the future" in refused("chase", item_id, "--asked", "5/12/2026")
    assert "is not a real date" in refused("chase", item_id, "--asked", "30/02/2026")
    assert "is not a day and a time of day" in refused("lost", item_id, "--aware", "yesterday")
    assert "is in the future" in refused("lost", item_id, "--aware", "2026-12-04 11:00")
    assert "no reason given" in refused("cancel", item_id)
    assert (
        "no passphrase given"
        in run(vault_dir, "expect", "add", *adding()[1:], passphrase=None).stderr
    )
    assert (vault_dir / "audit.log").read_bytes() == before  # nothing recorded

    ok(vault_dir, "expect", "cancel", item_id, "--reason", "not coming")
    for args in (("cancel", item_id, "--reason", "x"), ("chase", item_id)):
        assert f"expected post {item_id} cannot be" in refused(*args)
    assert "cannot be written off as lost: it was cancelled" in refused(
        "lost", item_id, "--aware", "2026-12-04 09:00"
    )
    assert [e[0] for e in events(vault_dir)] == ["expect", "expect-cancel"]
    assert [e for e in audit(vault_dir) if e["event"] == "incident"] == []


# --- follow-up: status, report, chase, lost ---------------------------------------------------


def test_overdue_post_in_status_and_report_without_personal_data(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    late = add(vault_dir, "court-order", FAMILY, "2026-12-01", "--note", f"{NOTE} said Monday")
    later = add(vault_dir, "court-order", "F-0051", "2026-11-20")
    referral = add(vault_dir, "referral", "F-0077", "2026-12-02")
    add(vault_dir, "letter", FAMILY, "2026-12-20")  # not yet due
    ok(vault_dir, "expect", "chase", later, "--asked", "30 Nov 2026")

    status = ok(vault_dir, "status", passphrase=None).stdout
    assert "Expected post awaited: 4 (3 overdue; the oldest was due 20 Nov 2026)." in status
    as_json = json.loads(ok(vault_dir, "status", "--json", passphrase=None).stdout)
    assert (as_json["expected_open"], as_json["expected_overdue"]) == (4, 3)
    assert as_json["expected_oldest_due"] == "2026-11-20"
    assert as_json["expected_overdue_types"] == [
        {"type": "court-order", "days": [14, 3], "chased": 1},
        {"type": "referral", "days": [2], "chased": 0},
    ]

    whole = report(vault_dir, tmp_path / "first")
    text = section(whole)
    assert (
        "Awaited: 4 (3 overdue). Received since the vault was made: 0. Cancelled since the "
        "vault was made: 0. Lost since the vault was made: 0." in text
    )
    assert (
        "Court orders overdue: 2, by 14 and 3 days; the sender was asked for a copy of 1." in text
    )
    assert "Referrals overdue: 1, by 2 days; the sender was not asked for a copy yet." in text
    assert "Ask the coordinator whether each sender has been contacted" in text
    assert "Expected post: 3 documents expected by post are overdue." in whole  # the verdict
    assert late not in text and referral not in text  # counts by type, no ids
    for word in (SENDER_WORD, NOTE, FAMILY, "F-0051", "F-0077", "F-51"):
        assert word not in whole and word not in status and word not in json.dumps(as_json)
        for out in tmp_path.glob("first.*"):
            assert word.encode() not in out.read_bytes()

    # A week on, after that report: two came, one was cancelled.
    at(monkeypatch, T0 + timedelta(days=7))
    for n, (what, family) in enumerate((("court-order", FAMILY), ("referral", "F-0077"))):
        ingest(
            vault_dir, letter(tmp_path / "inbox", f"{n}.txt", f"document {n}"),
            "--type", what, "--family", family,
        )  # fmt: skip
    ok(vault_dir, "expect", "cancel", later, "--reason", "sent by e-mail")
    text = section(report(vault_dir, tmp_path / "second"))
    assert "Awaited: 1. Received since the last report (4 Dec 2026, 10:30 EST): 2." in text
    assert "Cancelled since the last report (4 Dec 2026, 10:30 EST): 1." in text
    assert "overdue:" not in text and "Ask the coordinator" not in text
    assert "Expected post awaited: 1 (none overdue)." in ok(vault_dir, "status").stdout


def test_chase_then_lost_records_a_breach_with_its_deadline(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    item_id = add(vault_dir, "court-order", FAMILY, "2026-11-30")
    done = ok(
        vault_dir, "expect", "chase", item_id, "--asked", "2/12/2026",
        "--note", f"{NOTE} will post a copy",
    )  # fmt: skip
    assert "asked for a copy on 2 Dec 2026" in done.stdout
    assert "open, overdue by 4 days (sender asked for a copy 2 Dec 2026)" in (
        ok(vault_dir, "expect", "list", passphrase=None).stdout
    )

    lost = ok(
        vault_dir, "expect", "lost", item_id, "--aware", "2026-12-04 09:30",
        "--note", f"{NOTE} says the copy was posted too",
    )  # fmt: skip
    incident_id = re.findall(r"I-[0-9A-Z]{6}", lost.stdout)[0]
    assert f"recorded data breach {incident_id} (paper records lost): aware 4 Dec 2026, 09:30" in (
        lost.stdout
    )
    assert "Deadline to report it to the ICO: 7 Dec 2026, 09:30 EST (time left 2 d 23 h)." in (
        lost.stdout
    )
    # One append: the incident names the expectation, the expectation the incident.
    tail = audit(vault_dir)[-2:]
    assert [(e["event"], e["ids"]) for e in tail] == [
        ("incident", [incident_id, item_id]),
        ("expect-lost", [item_id, incident_id]),
    ]
    assert tail[0]["detail"] == {
        "aware": "2026-12-04T14:30:00+00:00",
        "kind": "lost-paper",
        "key": "coordinator",
    }
    assert ("expect-chase", [item_id], {"asked": "2026-12-02"}) in events(vault_dir)
    found = listed(vault_dir)[item_id]
    assert found["state"] == "lost" and found["incident"] == incident_id
    assert found["chased"] == ["2026-12-02"]

    incidents = json.loads(ok(vault_dir, "incident", "list", "--json", passphrase=None).stdout)
    assert incidents[0]["expectation"] == item_id and incidents[0]["kind"] == "lost-paper"
    assert f"expected post {item_id} never came" in (
        ok(vault_dir, "incident", "list", passphrase=None).stdout
    )
    shown = ok(vault_dir, "incident", "show", incident_id).stdout
    assert f"Expected post {item_id} never arrived: a court order for family {FAMILY} from " in (
        shown
    )
    assert SENDER in shown and f"{NOTE} says the copy was posted too" in shown

    at(monkeypatch, T0 + timedelta(days=3, hours=1))  # past the 72 hours
    whole = report(vault_dir, tmp_path / "r")
    assert (
        f"{incident_id} (paper records lost: expected post {item_id} that never came), open: "
        "aware 4 Dec 2026, 09:30 EST; deadline to report it to the ICO 7 Dec 2026, 09:30 EST, "
        "overdue by 2 h." in whole
    )
    text = section(whole)
    assert "Lost since the vault was made: 1." in text
    assert f"Court order due 30 Nov 2026: lost, recorded as data breach {incident_id}." in text
    assert "Awaited: 0." in text
    for word in (SENDER_WORD, NOTE, FAMILY):
        assert word not in whole
    assert files_holding(vault_dir, NOTE) == [] and files_holding(vault_dir, SENDER_WORD) == []

    # The paper turns up after all: received by hand; the breach stays to be decided.
    doc = stored_id(
        ingest(
            vault_dir, letter(tmp_path, "late.txt", "The order, at last."),
            "--type", "court-order", "--family", FAMILY,
        )
    )  # fmt: skip
    assert listed(vault_dir)[item_id]["state"] == "lost"  # lost ones are not matched
    came = ok(vault_dir, "expect", "received", item_id, "--doc", doc)
    assert f"written off as lost (data breach {incident_id})" in came.stdout
    assert f"vault incident close {incident_id} --not-reportable" in came.stdout
    assert listed(vault_dir)[item_id]["state"] == "received"


# --- carried through a backup and recovery, a rotation, a rebuild ---------------------------


def test_expectations_go_to_a_backup_encrypted_and_come_back_with_a_recovery(
    vault_dir: Path, tmp_path: Path
) -> None:
    before = add(vault_dir, "court-order", FAMILY, "2026-12-10", "--note", f"{NOTE} one")
    folder = tmp_path / "usb"
    ok(vault_dir, "remote", "add", "usb", str(folder), "--create", passphrase=None)
    ok(vault_dir, "sync", passphrase=None)  # the first: a base holding it
    after = add(vault_dir, "referral", "F-0051", "2026-12-12", "--note", f"{NOTE} two")
    ok(vault_dir, "expect", "chase", before, "--asked", "4/12/2026", "--note", f"{NOTE} three")
    ok(vault_dir, "sync", passphrase=None)  # a delta holding the second and the chase's note
    head = Vault.open(vault_dir).head()
    assert head is not None and len(head.links) > 1
    for word in (SENDER_WORD, NOTE):
        assert files_holding(folder, word) == []

    out = tmp_path / "recovered"
    ok(vault_dir, "recover", "--from", str(folder), "--to", str(out))
    assert {i: e["state"] for i, e in listed(out).items()} == {before: "open", after: "open"}
    found = listed(out, "--details", passphrase=PASSPHRASE)
    assert [n["text"] for n in found[before]["notes"]] == [f"{NOTE} one", f"{NOTE} three"]
    assert found[after]["family"] == "F-0051" and found[after]["sender"] == SENDER
    for word in (SENDER_WORD, NOTE):
        assert files_holding(out, word) == []

    # And the recovered vault still matches post on arrival.
    done = ingest(
        out, letter(tmp_path / "inbox", "r.txt", "The referral."),
        "--type", "referral", "--family", "F-0051",
    )  # fmt: skip
    assert f"expected as {after}" in done.stderr


def test_merged_deltas_keep_every_note(vault_dir: Path) -> None:
    item_id = add(vault_dir, "letter", FAMILY, "2026-12-10", "--note", "note 0")
    for n in range(1, chain.MERGE + 1):
        ok(vault_dir, "expect", "chase", item_id, "--note", f"note {n}")
    head = Vault.open(vault_dir).head()
    assert head is not None and any(link.saves > 1 for link in head.links[1:])  # merged
    _remove_local_catalog(vault_dir)  # made again from the chain files
    found = listed(vault_dir, "--details", passphrase=PASSPHRASE)[item_id]
    assert [n["text"] for n in found["notes"]] == [f"note {n}" for n in range(chain.MERGE + 1)]
    assert found["chased"] == ["2026-12-04"] * chain.MERGE


@pytest.fixture
def cheap_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key files written in this process at the tests' scrypt cost (see conftest)."""
    monkeypatch.setattr(
        scrypt_file, "encrypt", functools.partial(scrypt_file.encrypt, work_factor=TEST_WORK_FACTOR)
    )


def test_expectations_survive_a_key_rotation(
    vault_dir: Path, tmp_path: Path, cheap_keys: None
) -> None:
    item_id = add(vault_dir, "court-order", FAMILY, "2026-12-10", "--note", f"{NOTE} rot")
    ok(
        vault_dir, "rotate", "--emergency-sheet", str(tmp_path / "sheet.pdf"),
        VAULT_NEW_PASSPHRASE=NEW,
    )  # fmt: skip
    found = listed(vault_dir, "--details", passphrase=NEW)[item_id]
    assert found["sender"] == SENDER and found["notes"][0]["text"] == f"{NOTE} rot"
    for word in (SENDER_WORD, NOTE):
        assert files_holding(vault_dir, word) == []
    _remove_local_catalog(vault_dir)  # the new chain holds it too
    assert listed(vault_dir, "--details", passphrase=NEW)[item_id]["family"] == FAMILY
    done = ingest(
        vault_dir, letter(tmp_path, "o.txt", "An order."),
        "--type", "court-order", "--family", FAMILY, passphrase=NEW,
    )  # fmt: skip
    assert f"expected as {item_id}" in done.stderr


def test_a_rebuild_keeps_them_while_the_database_opens_else_says_they_are_gone(
    vault_dir: Path, tmp_path: Path
) -> None:
    item_id = add(vault_dir, "court-order", FAMILY, "2026-12-10", "--note", f"{NOTE} reb")
    ok(vault_dir, "rebuild-catalog")
    found = listed(vault_dir, "--details", passphrase=PASSPHRASE)[item_id]
    assert found["sender"] == SENDER and found["details_available"] is True
    done = ingest(
        vault_dir, letter(tmp_path, "o.txt", "An order."),
        "--type", "court-order", "--family", FAMILY,
    )  # fmt: skip
    assert f"expected as {item_id}" in done.stderr  # matched after the rebuild

    other = add(vault_dir, "referral", FAMILY, "2026-12-10")
    _remove_local_catalog(vault_dir)
    ok(vault_dir, "rebuild-catalog")  # from the manifests alone
    found = listed(vault_dir, "--details", passphrase=PASSPHRASE)
    assert found[item_id]["state"] == "received"  # the audit log keeps the states
    assert found[other]["state"] == "open" and found[other]["details_available"] is False
    details = ok(vault_dir, "expect", "list", "--details").stdout
    assert "family, sender and notes: not available (this catalog was rebuilt" in details
    ok(vault_dir, "expect", "cancel", other, "--reason", "no longer needed")
    details = ok(vault_dir, "expect", "list", "--details").stdout
    assert "family, sender and notes from before the catalog was rebuilt: not available" in (
        details
    )


# --- an attacker's look -----------------------------------------------------------------------


HOSTILE = "\x1b[2J\x1b]0;owned\x07Evil\u202eCorp\r\nE-FAKE01  court order  received"


def test_hostile_text_is_escaped_on_the_terminal(vault_dir: Path, tmp_path: Path) -> None:
    item_id = add(vault_dir, "court-order", FAMILY, "2026-12-10", "--note", HOSTILE, sender=HOSTILE)
    for text in (
        ok(vault_dir, "expect", "list", "--details").stdout,
        ok(vault_dir, "expect", "list").stdout,
    ):
        assert "\x1b" not in text and "\u202e" not in text and "\r" not in text
        assert "\nE-FAKE01" not in text
    details = ok(vault_dir, "expect", "list", "--details").stdout
    assert "\\x1b[2J\\x1b]0;owned\\x07Evil\\u202eCorp" in details
    doc = stored_id(
        ingest(
            vault_dir, letter(tmp_path, "o.txt", "An order."),
            "--type", "court-order", "--family", FAMILY,
        )
    )  # fmt: skip
    shown = ok(vault_dir, "show", doc).stdout
    assert f"expected: {item_id}, the court order expected from \\x1b[2J" in shown
    assert "\x1b" not in shown and "\u202e" not in shown
    # JSON escapes it by its own rules, and keeps it whole.
    found = listed(vault_dir, "--details", passphrase=PASSPHRASE)[item_id]
    assert (
        found["sender"] == " ".join(HOSTILE.split())
        and found["notes"][0]["text"] == HOSTILE.strip()
    )


def test_forged_entries_in_the_plain_log_neither_crash_nor_show(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone who can write to the vault folder can add entries to the audit log
    with a sound hash chain, without the passphrase: status, the report and
    the list take only what 'vault expect' could have written."""
    real = add(vault_dir, "court-order", FAMILY, "2026-12-01")
    log = AuditLog(vault_dir / "audit.log")
    forged: list[tuple[str, list[Any], dict[str, Any]]] = [
        ("expect", ["E-AAAAA1"], {"type": "court-order", "due": "9999-99-99"}),
        ("expect", ["E-AAAAA2"], {"type": "court-order", "due": "0001-01-01"}),
        ("expect", ["E-AAAAA3"], {"type": "court-order", "due": "2026-12-01T00:00"}),
        ("expect", ["E-AAAAA4"], {"type": "\x1b[31mcourt order", "due": "2026-12-01"}),
        ("expect", ["E-AAAAA5"], {"type": ["court-order"], "due": "2026-12-01"}),
        ("expect", ["\x1b[2JE-AAAAA6"], {"type": "letter", "due": "2026-12-01"}),
        ("expect", [["E-AAAAA7"]], {"type": "letter", "due": "2026-12-01"}),
        ("expect", [7], {"type": "letter", "due": 20261201}),
        ("expect", ["E-AAAAA8", "D-AAAAAA"], {"type": "letter", "due": "2026-12-01"}),
        ("expect", ["E-AAAAA9"], {"type": "x" * 500, "due": "2026-12-01"}),
        ("expect", [], {}),
        ("expect-received", [real, "\x1b[2JD-AAAAAA"], {"how": "matched"}),
        ("expect-received", [real, "D-AAAAAA"], {"how": "\x1b[31mby magic"}),
        ("expect-chase", [real], {"asked": "2099-01-01"}),
        ("expect-chase", [real], {"asked": "\x1b[2J"}),
        ("expect-lost", [real, "I-\x1b[2J"], {}),
        ("expect-lost", [real], {}),
        ("expect-cancel", ["E-ZZZZZZ"], {}),
        ("expect-cancel", [real, "extra"], {}),
        (
            "incident",
            ["I-AAAAAA", "\x1b[2J"],
            {"kind": "lost-paper", "aware": "2026-12-04T09:00:00+00:00"},
        ),
    ]
    for event, ids, detail in forged:
        log.append(event, ids, **detail)
    for odd in ("9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00"):  # a log's own times
        monkeypatch.setenv("VAULT_TEST_NOW", odd)
        log.append("expect", ["E-BBBBB1"], type="letter", due=odd[:10])
        log.append("expect-chase", [real], asked=odd[:10])
        log.append("expect-cancel", [real])
        log.append("incident", ["I-BBBBB1"], kind="other", aware=odd)
    at(monkeypatch, T0)

    status = ok(vault_dir, "status", passphrase=None)
    as_json = json.loads(ok(vault_dir, "status", "--json", passphrase=None).stdout)
    assert [e["id"] for e in as_json["expected"]] == [real]
    assert as_json["expected"][0]["state"] == "open" and as_json["expected"][0]["chased"] == []
    assert "Expected post awaited: 1 (1 overdue; the oldest was due 1 Dec 2026)." in status.stdout
    assert as_json["incidents"] == []
    whole = report(vault_dir, tmp_path / "r")
    assert "Court orders overdue: 1, by 3 days" in section(whole)
    assert "AAAAA" not in whole and "\x1b" not in whole
    listing = ok(vault_dir, "expect", "list", passphrase=None).stdout
    assert listing.strip() == f"{real}  court order  due 1 Dec 2026  open, overdue by 3 days"
    ok(vault_dir, "expect", "chase", real)  # the real one goes on as usual
    assert listed(vault_dir)[real]["chased"] == ["2026-12-04"]


def _remove_local_catalog(root: Path) -> None:
    for path in (root / "local").glob("catalog*"):
        path.unlink()
