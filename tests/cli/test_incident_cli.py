"""The breach register through the CLI: ``vault incident`` and what the
committee sees of it.

The kind and times of a breach, and the decision, are in the plain audit
log (``list``, ``status`` and the report read them without the passphrase);
the notes and the reason are encrypted in the catalog, and so never in any
file of the vault or of a backup in plaintext, yet carried through a sync
and recovery, a key rotation and a rebuild of the catalog while this
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
from tests.sync.conftest import store_documents
from vault import catalog_db, chain, scrypt_file
from vault.cli import cli
from vault.repository import Vault

NOTE = "Wolstenholme"  # a name: personal data, never in plaintext on disk
REASON = "Abernethy"
NEW = "Brand New Key 93"
T0 = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)  # 10:30 in New York (EST)


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


def run(root: Path, *args: str, passphrase: str | None = PASSPHRASE, **env: str) -> Result:
    """``vault --vault root ARGS``; the passphrase (if any) in the environment."""
    environ: dict[str, str | None] = {"VAULT_PASSPHRASE": passphrase, **env}
    result = CliRunner().invoke(cli, ["--vault", str(root), *args], env=environ)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def ok(root: Path, *args: str, passphrase: str | None = PASSPHRASE, **env: str) -> Result:
    result = run(root, *args, passphrase=passphrase, **env)
    assert result.exit_code == 0, result.output
    return result


def record(root: Path, kind: str, aware: str, *more: str, **env: str) -> str:
    """``vault incident record``; the new incident's id."""
    done = ok(root, "incident", "record", "--kind", kind, "--aware", aware, *more, **env)
    found = re.search(r"Recorded incident (I-[0-9A-Z]{6}) ", done.stdout)
    assert found, done.stdout
    return found[1]


def listed(root: Path, *args: str, passphrase: str | None = None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(
        ok(root, "incident", "list", "--json", *args, passphrase=passphrase).stdout
    )
    return found


def audit(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / "audit.log").read_text().splitlines()]


def files_holding(folder: Path, word: str) -> list[Path]:
    """Every file under ``folder`` whose bytes hold ``word`` (any case)."""
    wanted = word.lower().encode()
    return [p for p in folder.rglob("*") if p.is_file() and wanted in p.read_bytes().lower()]


def report(root: Path, out: Path, passphrase: str | None = None) -> str:
    """The committee report as PDF and HTML, their text joined into one string."""
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


def breaches(text: str) -> str:
    """The report's "Data breaches" section (up to the next heading)."""
    found = re.search(r"Data breaches (.*?) Passphrase ", text)
    assert found, text
    return found[1]


# --- record, list, close -------------------------------------------------------------


def test_record_list_and_close_both_ways(vault_dir: Path) -> None:
    first = record(
        vault_dir, "device-lost", "2026-12-04 09:30", "--note", f"laptop of {NOTE} left on a bus"
    )
    second = record(vault_dir, "wrong-recipient", "3/12/2026 16:00")
    assert first != second

    # The local time typed is recorded in UTC (New York is 5 hours behind).
    entries = [e for e in audit(vault_dir) if e["event"] == "incident"]
    assert [(e["ids"], e["detail"]["kind"], e["detail"]["aware"]) for e in entries] == [
        ([first], "device-lost", "2026-12-04T14:30:00+00:00"),
        ([second], "wrong-recipient", "2026-12-03T21:00:00+00:00"),
    ]

    text = ok(vault_dir, "incident", "list", passphrase=None).stdout
    assert f"{first}  device lost  aware 4 Dec 2026, 09:30 EST" in text
    assert "recorded 4 Dec 2026, 10:30 EST" in text
    assert "report to the ICO by 7 Dec 2026, 09:30 EST, time left 2 d 23 h" in text
    assert "report to the ICO by 6 Dec 2026, 16:00 EST, time left 2 d 5 h" in text
    assert NOTE not in text  # no notes without --notes (and no key)

    closed = ok(vault_dir, "incident", "close", first, "--reported-to-ico", "IC-123456-A1B2")
    assert f"Closed incident {first}" in closed.stdout
    assert "reported to the ICO (reference IC-123456-A1B2)" in closed.stdout
    done = ok(
        vault_dir, "incident", "close", second.lower(), "--not-reportable",
        "--reason", f"{REASON} confirmed the letter was destroyed unopened",
    )  # fmt: skip
    assert "not reportable to the ICO" in done.stdout

    closes = [e for e in audit(vault_dir) if e["event"] == "incident-close"]
    assert [(e["ids"], e["detail"].get("decision"), e["detail"].get("ico")) for e in closes] == [
        ([first], "reported", "IC-123456-A1B2"),
        ([second], "not-reportable", None),
    ]
    found = {i["id"]: i for i in listed(vault_dir)}
    assert found[first]["status"] == "closed" and found[first]["decision"] == "reported"
    assert found[first]["ico_reference"] == "IC-123456-A1B2"
    assert found[first]["deadline"] == "2026-12-07T14:30:00+00:00"
    assert found[second]["decision"] == "not-reportable" and found[second]["time_left"] is None
    assert "notes" not in found[first]
    text = ok(vault_dir, "incident", "list", passphrase=None).stdout
    assert "closed 4 Dec 2026, 10:30 EST: reported to the ICO (reference IC-123456-A1B2)" in text
    assert "closed 4 Dec 2026, 10:30 EST: not reportable to the ICO" in text

    # With the key: the notes and the reason.
    shown = ok(vault_dir, "incident", "show", first).stdout
    assert f"laptop of {NOTE} left on a bus" in shown and "aware:    4 Dec 2026, 09:30 EST" in shown
    shown = ok(vault_dir, "incident", "show", second).stdout
    assert "notes: none" in shown
    assert f"not reportable because: {REASON} confirmed" in shown
    with_notes = {i["id"]: i for i in listed(vault_dir, "--notes", passphrase=PASSPHRASE)}
    assert with_notes[first]["notes"][0]["text"] == f"laptop of {NOTE} left on a bus"
    assert with_notes[second]["reason"].startswith(REASON)
    assert with_notes[first]["notes_available"] is True
    assert [e["ids"] for e in audit(vault_dir) if e["event"] == "incident-show"][-1] == [
        first,
        second,
    ]

    # A note added later, to a closed incident too.
    ok(vault_dir, "incident", "note", first, "--note", f"{NOTE}'s laptop was found")
    shown = ok(vault_dir, "incident", "show", first).stdout
    assert shown.index("left on a bus") < shown.index("laptop was found")

    # Notes are not in the audit log, nor in any file of the vault.
    log = (vault_dir / "audit.log").read_bytes()
    assert NOTE.encode() not in log and REASON.encode() not in log
    assert files_holding(vault_dir, NOTE) == [] and files_holding(vault_dir, REASON) == []


def test_a_note_from_standard_input_and_none_at_all(vault_dir: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["--vault", str(vault_dir), "incident", "record", "--kind", "other",
         "--aware", "4 Dec 2026 08:00", "--note", "-"],
        input=f"a list naming {NOTE}\nwas left in the hall\n",
        env={"VAULT_PASSPHRASE": PASSPHRASE},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    incident_id = re.findall(r"I-[0-9A-Z]{6}", result.stdout)[0]
    assert "Deadline to report it to the ICO: 7 Dec 2026, 08:00 EST (time left 2 d 21 h)." in (
        result.stdout
    )
    assert f"Once decided: vault incident close {incident_id} --reported-to-ico REF" in (
        result.stdout
    )
    shown = ok(vault_dir, "incident", "show", incident_id).stdout
    assert f"a list naming {NOTE}\n    was left in the hall" in shown


def test_bad_input_is_one_line_and_a_distinct_exit_status(vault_dir: Path) -> None:
    def refused(*args: str, status: int = 2, passphrase: str | None = PASSPHRASE) -> str:
        result = run(vault_dir, "incident", *args, passphrase=passphrase)
        assert result.exit_code == status, result.output
        assert result.output.startswith("vault: error: ") or "Error:" in result.output
        return result.output

    assert "'stolen' is not a kind of incident" in refused(
        "record", "--kind", "stolen", "--aware", "2026-12-04 09:30"
    )
    assert "lost-paper, device-lost" in refused(
        "record", "--kind", "stolen", "--aware", "2026-12-04 09:30"
    )
    assert "is not a day and a time of day" in refused(
        "record", "--kind", "other", "--aware", "yesterday"
    )
    assert "is not a day and a time of day" in refused(
        "record", "--kind", "other", "--aware", "2026-12-04"
    )
    assert "is not a real date" in refused(
        "record", "--kind", "other", "--aware", "31/02/2026 10:00"
    )
    assert "is not a real time of day" in refused(
        "record", "--kind", "other", "--aware", "2026-12-04 25:10"
    )
    future = refused("record", "--kind", "other", "--aware", "2026-12-04 10:31")
    assert "4 Dec 2026, 10:31 EST is in the future" in future
    assert run(vault_dir, "incident", "record", "--help").exit_code == 0
    assert [e for e in audit(vault_dir) if e["event"] == "incident"] == []

    incident_id = record(vault_dir, "lost-paper", "2026-12-04 10:30")
    assert "no incident I-AAAAAA in this vault" in refused(
        "close", "I-AAAAAA", "--reported-to-ico", "IC-1", status=1
    )
    other = "Y" if incident_id.endswith("Z") else "Z"  # one letter off, never the id itself
    near = refused("close", incident_id[:-1] + other, "--reported-to-ico", "IC-1", status=1)
    assert f"did you mean {incident_id}?" in near
    assert "give either --reported-to-ico REF or --not-reportable" in refused("close", incident_id)
    assert "give either" in refused(
        "close", incident_id, "--reported-to-ico", "IC-1", "--not-reportable", "--reason", "x"
    )
    assert "--not-reportable needs --reason TEXT" in refused(
        "close", incident_id, "--not-reportable"
    )
    assert "is not a case reference" in refused(
        "close", incident_id, "--reported-to-ico", "case of J. Smith"
    )
    assert "--reason goes with --not-reportable" in refused(
        "close", incident_id, "--reported-to-ico", "IC-1", "--reason", "x"
    )
    # The key is needed to write (the reason is encrypted); none given: exit 2.
    assert "no passphrase given" in refused(
        "close", incident_id, "--reported-to-ico", "IC-1", passphrase=None
    )
    assert "no passphrase given" in refused("show", incident_id, passphrase=None)
    assert [e for e in audit(vault_dir) if e["event"] == "incident-close"] == []

    ok(vault_dir, "incident", "close", incident_id, "--reported-to-ico", "IC/2026/0042")
    again = refused("close", incident_id, "--not-reportable", "--reason", "x")
    assert f"incident {incident_id} was closed on 4 Dec 2026, 10:30 EST" in again
    assert "(reported to the ICO (reference IC/2026/0042))" in again
    assert len([e for e in audit(vault_dir) if e["event"] == "incident-close"]) == 1


# --- the committee report and status ---------------------------------------------------


def test_the_report_shows_deadlines_overdue_and_what_was_closed_since_the_last(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_documents(vault_dir, 2, tmp_path / "inbox")
    lost = record(vault_dir, "device-lost", "2026-12-04 09:30", "--note", f"{NOTE}'s file")
    hack = record(vault_dir, "suspected-hack", "2026-12-01 08:00")
    paper = record(vault_dir, "lost-paper", "2026-12-03 12:00")
    ok(vault_dir, "incident", "close", paper, "--not-reportable", "--reason", REASON)

    # Without the passphrase: the open ones with their deadlines, the closed one.
    whole = report(vault_dir, tmp_path / "first")
    assert (  # the verdict's reason
        "Data breaches: 2 data breaches are open (1 past the 72 hours to report to the ICO)"
        in whole
    )
    text = breaches(whole)
    assert (
        "Open: 2 (1 past the 72 hours to report to the ICO). Closed since the vault was made: 1."
        in text
    )
    assert (
        f"{lost} (device lost), open: aware 4 Dec 2026, 09:30 EST; deadline to report it to "
        "the ICO 7 Dec 2026, 09:30 EST, time left 2 d 23 h." in text
    )
    assert (
        f"{hack} (suspected hack), open: aware 1 Dec 2026, 08:00 EST; deadline to report it "
        "to the ICO 4 Dec 2026, 08:00 EST, overdue by 2 h." in text
    )
    assert (
        f"{paper} (paper records lost), closed 4 Dec 2026, 10:30 EST: judged not reportable "
        "to the ICO" in text
    )
    assert "Ask the coordinator whether each breach past its deadline was reported" in text
    assert NOTE not in text and REASON not in text and "'vault " not in text
    status = ok(vault_dir, "status", passphrase=None).stdout
    assert "Data breaches open: 2 (1 is past the 72 hours to report to the ICO)." in status
    assert json.loads(ok(vault_dir, "status", "--json", passphrase=None).stdout)["verdict"] == "red"

    # Three days on: both overdue; the one closed before the last report is gone,
    # the one closed since is there with its decision.
    at(monkeypatch, T0 + timedelta(days=3, hours=2))
    ok(vault_dir, "incident", "close", hack, "--reported-to-ico", "IC-99-XY")
    status = json.loads(ok(vault_dir, "status", "--json", passphrase=None).stdout)
    assert status["incidents_open"] == 1 and status["incidents_overdue"] == 1
    assert [i["id"] for i in status["incidents"]] == [lost, hack]  # closed since the last report
    assert status["incidents"][1]["ico_reference"] == "IC-99-XY"
    text = breaches(report(vault_dir, tmp_path / "second"))
    assert "Open: 1 (1 past the 72 hours to report to the ICO)." in text
    assert "Closed since the last report (4 Dec 2026, 10:30 EST): 1." in text
    assert f"{lost} (device lost), open" in text and "overdue by 3 h." in text
    assert (
        f"{hack} (suspected hack), closed 7 Dec 2026, 12:30 EST: reported to the ICO "
        "(reference IC-99-XY)." in text
    )
    assert paper not in text
    status = json.loads(ok(vault_dir, "status", "--json", passphrase=None).stdout)
    assert [i["id"] for i in status["incidents"]] == [lost]  # reported to the committee
    assert (
        "Data breaches open: 1 (it is past the 72 hours"
        in ok(vault_dir, "status", passphrase=None).stdout
    )

    # The report after that one: nothing closed since; only the open one.
    ok(vault_dir, "incident", "close", lost, "--reported-to-ico", "IC-100")
    at(monkeypatch, T0 + timedelta(days=10))
    text = breaches(report(vault_dir, tmp_path / "third", passphrase=PASSPHRASE))
    assert f"{lost} (device lost), closed" in text and hack not in text
    assert "Open: 0." in text
    at(monkeypatch, T0 + timedelta(days=11))
    text = breaches(report(vault_dir, tmp_path / "fourth"))
    assert "Open: 0. Closed since the last report (14 Dec 2026, 10:30 EST): 0." in text
    assert "Data breaches open: none." in ok(vault_dir, "status", passphrase=None).stdout
    for out in tmp_path.glob("*.pdf"):
        assert NOTE.encode() not in out.read_bytes()
    assert report_pages(tmp_path / "first.pdf") == 1


def test_every_open_breach_is_in_the_report_however_many(vault_dir: Path, tmp_path: Path) -> None:
    ids = [record(vault_dir, "lost-paper", f"{day}/11/2026 09:00") for day in range(1, 15)]
    text = breaches(report(vault_dir, tmp_path / "many"))
    assert "Open: 14 (14 past the 72 hours to report to the ICO)" in text
    for incident_id in ids:
        assert f"{incident_id} (paper records lost), open" in text
    assert "Ask the coordinator whether each breach" in text
    pdf = subprocess.run(
        ["pdftotext", str(tmp_path / "many.pdf"), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    assert all(incident_id in pdf for incident_id in ids)
    assert report_pages(tmp_path / "many.pdf") == 2  # a second page, not text off the first


def report_pages(pdf: Path) -> int:
    """The report's own pages: those before the policy checklist, which follows
    on pages of its own."""
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    pages = text.split("\f")
    return next(n for n, page in enumerate(pages) if "Policy checklist (taken" in page)


# --- carried through a backup and recovery, a rotation, a rebuild --------------------------


def test_notes_go_to_a_backup_encrypted_and_come_back_with_a_recovery(
    vault_dir: Path, tmp_path: Path
) -> None:
    store_documents(vault_dir, 2, tmp_path / "inbox")
    before = record(vault_dir, "device-lost", "2026-12-04 09:30", "--note", f"{NOTE} one")
    folder = tmp_path / "usb"
    ok(vault_dir, "remote", "add", "usb", str(folder), "--create", passphrase=None)
    ok(vault_dir, "sync", passphrase=None)  # the first: a base holding the note
    after = record(vault_dir, "other", "2026-12-04 10:00", "--note", f"{NOTE} two")
    ok(vault_dir, "incident", "close", before, "--not-reportable", "--reason", REASON)
    ok(vault_dir, "sync", passphrase=None)  # a delta holding the second note and the reason
    head = Vault.open(vault_dir).head()
    assert head is not None and len(head.links) > 1
    assert files_holding(folder, NOTE) == [] and files_holding(folder, REASON) == []

    out = tmp_path / "recovered"
    ok(vault_dir, "recover", "--from", str(folder), "--to", str(out))
    assert {i["id"]: i["status"] for i in listed(out)} == {before: "closed", after: "open"}
    found = {i["id"]: i for i in listed(out, "--notes", passphrase=PASSPHRASE)}
    assert [n["text"] for n in found[before]["notes"]] == [f"{NOTE} one"]
    assert found[before]["reason"] == REASON
    assert [n["text"] for n in found[after]["notes"]] == [f"{NOTE} two"]
    assert f"{NOTE} two" in ok(out, "incident", "show", after).stdout
    assert files_holding(out, NOTE) == []


def test_merged_deltas_keep_every_note(vault_dir: Path) -> None:
    incident_id = record(vault_dir, "other", "2026-12-04 09:00", "--note", "note 0")
    for n in range(1, chain.MERGE + 1):
        ok(vault_dir, "incident", "note", incident_id, "--note", f"note {n}")
    head = Vault.open(vault_dir).head()
    assert head is not None and any(link.saves > 1 for link in head.links[1:])  # merged
    _remove_local_catalog(vault_dir)  # made again from the chain files
    found = listed(vault_dir, "--notes", passphrase=PASSPHRASE)[0]
    assert [n["text"] for n in found["notes"]] == [f"note {n}" for n in range(chain.MERGE + 1)]


@pytest.fixture
def cheap_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key files written in this process at the tests' scrypt cost (see conftest)."""
    monkeypatch.setattr(
        scrypt_file, "encrypt", functools.partial(scrypt_file.encrypt, work_factor=TEST_WORK_FACTOR)
    )


def test_notes_survive_a_key_rotation(vault_dir: Path, tmp_path: Path, cheap_keys: None) -> None:
    store_documents(vault_dir, 1, tmp_path / "inbox")
    incident_id = record(vault_dir, "device-lost", "2026-12-04 09:30", "--note", f"{NOTE} rot")
    ok(
        vault_dir, "rotate", "--emergency-sheet", str(tmp_path / "sheet.pdf"),
        VAULT_NEW_PASSPHRASE=NEW,
    )  # fmt: skip
    shown = ok(vault_dir, "incident", "show", incident_id, passphrase=NEW).stdout
    assert f"{NOTE} rot" in shown
    assert run(vault_dir, "incident", "show", incident_id).exit_code == 3  # the old passphrase
    assert files_holding(vault_dir, NOTE) == []
    _remove_local_catalog(vault_dir)  # the new chain holds it too
    assert f"{NOTE} rot" in ok(vault_dir, "incident", "show", incident_id, passphrase=NEW).stdout


def test_a_rebuild_keeps_the_notes_while_the_database_opens_else_says_they_are_gone(
    vault_dir: Path, tmp_path: Path
) -> None:
    store_documents(vault_dir, 1, tmp_path / "inbox")
    incident_id = record(vault_dir, "device-lost", "2026-12-04 09:30", "--note", f"{NOTE} reb")
    ok(vault_dir, "rebuild-catalog")
    assert f"{NOTE} reb" in ok(vault_dir, "incident", "show", incident_id).stdout

    _remove_local_catalog(vault_dir)
    ok(vault_dir, "rebuild-catalog")  # from the manifests alone
    assert [i["id"] for i in listed(vault_dir)] == [incident_id]  # the audit log keeps it
    shown = ok(vault_dir, "incident", "show", incident_id).stdout
    assert "notes: not available (this catalog was rebuilt" in shown and NOTE not in shown
    assert listed(vault_dir, "--notes", passphrase=PASSPHRASE)[0]["notes_available"] is False

    # Closing it later keeps the reason, and still says the earlier notes are lost.
    ok(vault_dir, "incident", "close", incident_id, "--not-reportable", "--reason", REASON)
    shown = ok(vault_dir, "incident", "show", incident_id).stdout
    assert "notes from before the catalog was rebuilt: not available" in shown
    assert f"not reportable because: {REASON}" in shown


def test_a_catalog_from_before_the_register_opens_and_gets_it(vault_dir: Path) -> None:
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        assert vault.catalog.count() == 0
        key = vault.unlocked_key().catalog_key
    path = catalog_db.current(vault_dir / "local")
    assert path is not None
    conn = catalog_db.open_database(path, key)
    conn.execute("DROP TABLE incidents")
    conn.commit()
    conn.close()

    assert listed(vault_dir, "--notes", passphrase=PASSPHRASE) == []
    incident_id = record(vault_dir, "other", "2026-12-04 09:00", "--note", f"{NOTE} old")
    assert f"{NOTE} old" in ok(vault_dir, "incident", "show", incident_id).stdout


def _remove_local_catalog(root: Path) -> None:
    for path in (root / "local").glob("catalog*"):
        path.unlink()
