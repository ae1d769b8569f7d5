"""The web page's routes: unlock, lock after idle, search, documents, committee."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import PASSPHRASE, TEST_WORK_FACTOR, Template
from tests.web.conftest import HOSTILE, Web
from vault import scrypt_file
from vault.audit import AuditLog
from vault.cli import cli


def _events(root: Path) -> list[str]:
    return [entry.event for entry in AuditLog(root / "audit.log").entries()]


def test_unlocking_with_a_wrong_passphrase_says_so(web: Web) -> None:
    answer = web.client.post("/unlock", data={"passphrase": "wrong one", "csrf": web.csrf()})
    assert answer.status_code == 403
    assert "does not open this vault" in answer.text
    assert not web.keeper.unlocked
    assert "unlock" not in _events(web.root)[-1:]


def test_unlocking_opens_the_search_page_and_is_audited(web: Web) -> None:
    assert 'name="passphrase"' in web.client.get("/").text
    web.unlock()
    page = web.client.get("/").text
    assert 'id="q"' in page and "Lock" in page
    assert _events(web.root)[-1] == "unlock"


def test_the_vault_locks_itself_after_the_idle_time(web: Web) -> None:
    web.unlock()
    web.clock.now += 9 * 60
    assert web.client.get("/results?q=Przybylski").status_code == 200  # a use: time starts again
    web.clock.now += 9 * 60
    assert web.keeper.unlocked
    web.clock.now += 61
    assert not web.keeper.unlocked
    assert web.keeper._vault is None  # the key is dropped, not merely hidden
    assert 'name="passphrase"' in web.client.get("/").text
    answer = web.client.get("/results?q=Przybylski", headers={"x-requested-with": "fetch"})
    assert answer.status_code == 401
    assert web.client.get(f"/doc/{web.docs['letter']}").status_code == 303


def test_a_search_that_comes_as_the_idle_time_ends_is_answered_locked(web: Web) -> None:
    web.unlock()
    web.clock.now += 10 * 60 + 1  # idle, and nothing looked yet (no watch task in these tests)
    answers: list = []

    def ask() -> None:
        answers.append(
            web.client.get("/results?q=Przybylski", headers={"x-requested-with": "fetch"})
        )

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    asking.join(timeout=20)
    assert not asking.is_alive(), "the search never came back: the vault's thread waits on itself"
    assert answers[0].status_code == 401
    assert web.keeper._vault is None
    assert web.client.post("/lock", data={"csrf": web.csrf()}).status_code == 303


def test_stopping_the_page_drops_the_key_and_ends_its_threads(web: Web) -> None:
    web.unlock()
    assert web.keeper.unlocked
    web.client.__exit__(None, None, None)  # the server stops: Ctrl-C, SIGTERM, logging out
    assert web.keeper._vault is None
    assert web.keeper._thread is not None and not web.keeper._thread.is_alive()
    assert web.client.portal is None


def test_lock_forgets_the_key(web: Web) -> None:
    web.unlock()
    answer = web.client.post("/lock", data={"csrf": web.csrf()})
    assert answer.status_code == 303
    assert not web.keeper.unlocked
    assert 'name="passphrase"' in web.client.get("/").text


def test_search_finds_a_misspelt_surname_with_the_line_highlighted(web: Web) -> None:
    web.unlock()
    answer = web.client.get("/results", params={"q": "Przybylsky"})
    assert answer.status_code == 200
    assert f'href="/doc/{web.docs["letter"]}"' in answer.text
    assert "<mark>" in answer.text
    assert "referral" in answer.text and "F-0042" in answer.text
    assert "similar spelling" in answer.text
    assert _events(web.root)[-1] == "search"


def test_search_as_one_types_records_the_documents_shown_once_a_minute(web: Web) -> None:
    web.unlock()

    def searches() -> list[list[str]]:
        return [e.ids for e in _entries(web.root) if e.event == "search"]

    letter, hostile = web.docs["letter"], web.docs["hostile"]
    for typed in ("Przyb", "Przybyl", "Przybylski"):  # keypress after keypress
        assert letter in web.client.get("/results", params={"q": typed}).text
    assert searches() == [[letter]]  # one entry, not one a key
    assert hostile in web.client.get("/results", params={"q": "Kowalczyk"}).text
    assert searches() == [[letter], [hostile]]  # a document not shown yet is recorded
    web.clock.now += 59
    web.client.get("/results", params={"q": "Przybylski"})
    assert len(searches()) == 2
    web.clock.now += 2  # a minute after it was recorded
    web.client.get("/results", params={"q": "Przybylski"})
    assert searches()[-1] == [letter] and len(searches()) == 3
    web.client.post("/lock", data={"csrf": web.csrf()})
    web.unlock()  # maybe by someone else: recorded afresh
    web.client.get("/results", params={"q": "Przybylski"})
    assert len(searches()) == 4


def test_search_filters_as_the_cli_does(web: Web) -> None:
    web.unlock()
    found = web.client.get("/results", params={"q": "Przybylski", "type": "court-order"})
    assert "No documents match" in found.text
    found = web.client.get("/results", params={"q": "Przybylski", "family": "f42"})
    assert web.docs["letter"] in found.text
    found = web.client.get("/results", params={"q": "Przybylski", "until": "1/1/2001"})
    assert "No documents match" in found.text
    bad = web.client.get("/results", params={"q": "Przybylski", "family": "Smith"})
    assert "family reference" in bad.text
    short = web.client.get("/results", params={"q": "Pr"})
    assert "at least 3" in short.text


def test_hostile_document_text_is_shown_as_text(web: Web) -> None:
    web.unlock()
    hits = web.client.get("/results", params={"q": "Kowalczyk"}).text
    page = web.client.get(f"/doc/{web.docs['hostile']}").text
    for shown in (hits, page):
        assert "<script>window" not in shown
        assert "<img src=x" not in shown
        assert "<b>name</b>" not in shown
    assert "&lt;script&gt;window.hacked = 1&lt;/script&gt;" in page
    assert "&lt;b&gt;name&lt;/b&gt;" in page  # the file name
    assert "&lt;/script&gt;" in hits
    assert HOSTILE not in page


def test_the_document_page_shows_details_text_per_page_and_is_audited(web: Web) -> None:
    web.unlock()
    doc = web.docs["letter"]
    page = web.client.get(f"/doc/{doc}").text
    assert "Page 1" in page and "Page 2" in page
    assert "Contact on Saturdays at the centre" in page
    assert "NT26P00412" in page and "F-0042" in page
    assert f"/doc/{doc}/file/original" in page
    assert _events(web.root)[-1] == "show"
    missing = web.client.get("/doc/D-NOSUCH1")
    assert missing.status_code == 404
    assert "no document" in missing.text


def test_the_original_is_shown_inline_from_memory_and_audited_as_a_view(web: Web) -> None:
    web.unlock()
    answer = web.client.get(f"/doc/{web.docs['letter']}/file/original")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == "inline"
    assert "script-src" not in answer.headers["content-security-policy"]
    assert answer.content.startswith(b"%PDF")
    assert b"Referral for the Przybylski" in answer.content
    assert _events(web.root)[-1] == "view"
    assert web.client.get(f"/doc/{web.docs['letter']}/file/batch").status_code == 404


def test_download_is_an_audited_export(web: Web) -> None:
    web.unlock()
    answer = web.client.post(f"/doc/{web.docs['letter']}/download", data={"csrf": web.csrf()})
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith('attachment; filename="')
    assert answer.content.startswith(b"%PDF")
    entry = list(AuditLog(web.root / "audit.log").entries())[-1]
    assert entry.event == "export"
    assert entry.ids[0] == web.docs["letter"]
    assert entry.detail["to"] == "browser download"
    assert entry.detail["encrypted"] is False


def test_edit_changes_type_family_and_fields(web: Web) -> None:
    web.unlock()
    doc = web.docs["letter"]
    answer = web.client.post(
        f"/doc/{doc}/edit",
        data={
            "csrf": web.csrf(),
            "type": "court-order",
            "family": "f7",
            "field_name": "case number",
            "field_value": "ZW26C00001",
            "new_name": "court",
            "new_value": "Leeds",
        },
    )
    assert answer.status_code == 303
    page = web.client.get(answer.headers["location"]).text
    assert "Saved." in page
    assert "court-order" in page and "F-0007" in page
    assert "ZW26C00001" in page and "Leeds" in page
    assert "edit" in _events(web.root)
    bad = web.client.post(f"/doc/{doc}/edit", data={"csrf": web.csrf(), "family": "Smith"})
    assert bad.status_code == 400


def test_the_committee_page_needs_no_passphrase(web: Web) -> None:
    assert not web.keeper.unlocked
    page = web.client.get("/committee")
    assert page.status_code == 200
    assert "For the minutes" in page.text and "Backups" in page.text
    assert "Przybylski" not in page.text
    report = web.client.post("/committee/report", data={"csrf": web.csrf()})
    assert report.status_code == 200
    assert report.content.startswith(b"%PDF")
    assert report.headers["content-disposition"].startswith("attachment")
    assert _events(web.root)[-1] == "report"
    assert not web.keeper.unlocked


def test_the_committee_page_draws_the_reports_charts(
    web: Web, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Charts come once the vault is a week old: the page looked at 10 days
    after it was made, with backups on days 2 and 9 (``VAULT_TEST_NOW``)."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    vault = ["--vault", str(web.root)]
    added = runner.invoke(cli, [*vault, "remote", "add", "usb", str(tmp_path / "usb"), "--create"])
    assert added.exit_code == 0, added.output
    for days in (2, 9):
        monkeypatch.setenv("VAULT_TEST_NOW", (now + timedelta(days=days)).isoformat())
        assert runner.invoke(cli, [*vault, "sync"]).exit_code == 0
    monkeypatch.setenv("VAULT_TEST_NOW", (now + timedelta(days=10)).isoformat())
    page = web.client.get("/committee").text
    assert "<h2>Daily backups</h2>" in page
    assert page.count("<svg") >= 1 and "<script" not in page.split("<main")[1]
    assert "Przybylski" not in page


def _files_changed_since(folders: list[Path], since: float) -> list[Path]:
    found = []
    for folder in folders:
        for dirpath, _, names in os.walk(folder):
            for name in names:
                path = Path(dirpath, name)
                try:
                    if path.stat().st_mtime >= since:
                        found.append(path)
                except OSError:
                    continue
    return found


def test_no_plaintext_is_written_during_a_session(
    web: Web, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The temp folder and the tmpfs are this test's own (the machine's are
    # shared with other programs, whose files are not this page's doing).
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("TMPDIR", str(temp))
    folders = [web.root, temp]
    if Path("/dev/shm").is_dir():
        runtime = Path(tempfile.mkdtemp(prefix="web-test-", dir="/dev/shm"))
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
        folders.append(runtime)
    try:
        since = time.time() - 0.01
        web.unlock()
        doc = web.docs["letter"]
        assert b"Przybylski" in web.client.get(f"/doc/{doc}/file/original").content
        assert "Przybylski" in web.client.get(f"/doc/{doc}").text
        assert doc in web.client.get("/results", params={"q": "Przybylski"}).text
        web.client.post(f"/doc/{doc}/download", data={"csrf": web.csrf()})
        web.client.post("/lock", data={"csrf": web.csrf()})
        changed = _files_changed_since(folders, since)
        assert changed  # the audit log at least: the watch can see writes
        for path in changed:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            for secret in (b"Przybylski", b"Saturdays", PASSPHRASE.encode()):
                assert secret not in data, path
        for folder in folders[1:]:
            assert not list(folder.iterdir()), folder  # no work folder is left either
    finally:
        if len(folders) > 2:
            shutil.rmtree(folders[2], ignore_errors=True)


def _entries(root: Path) -> list:
    return list(AuditLog(root / "audit.log").entries())


def test_a_personal_key_unlocks_and_is_named(
    web: Web, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(  # the new key file at the tests' low scrypt cost (see tests/conftest)
        scrypt_file, "encrypt", functools.partial(scrypt_file.encrypt, work_factor=TEST_WORK_FACTOR)
    )
    added = runner.invoke(
        cli,
        ["--vault", str(web.root), "key", "add", "deputy"],
        env={"VAULT_PASSPHRASE": PASSPHRASE, "VAULT_NEW_PASSPHRASE": "Deputy Stays 77"},
    )
    assert added.exit_code == 0, added.output
    answer = web.client.post("/unlock", data={"passphrase": "Deputy Stays 77", "csrf": web.csrf()})
    assert answer.status_code == 303
    assert web.keeper.unlocked and web.keeper.key_label == "deputy"
    last = _entries(web.root)[-1]
    assert last.event == "unlock" and last.detail["key"] == "deputy"
    assert "Unlocked with the key “deputy”" in web.client.get("/").text


def test_the_emergency_key_opens_the_vault_with_a_reason_recorded(
    web: Web, template_vault: Template
) -> None:
    key = template_vault.emergency_secret
    typed = " ".join(key[i : i + 4] for i in range(0, len(key), 4)).lower()  # as read off the sheet
    answer = web.client.post(
        "/unlock/emergency",
        data={"emergency_key": typed, "reason": "coordinator in hospital", "csrf": web.csrf()},
    )
    assert answer.status_code == 303
    assert web.keeper.unlocked and web.keeper.by_emergency_key
    used, unlocked = _entries(web.root)[-2:]
    assert used.event == "emergency-use" and used.detail["reason"] == "coordinator in hospital"
    assert unlocked.event == "unlock"
    page = web.client.get("/").text
    assert "opened with the emergency key" in page and "vault passwd" in page
    assert key not in page and key.lower() not in page
    assert key not in (web.root / "audit.log").read_text()


@pytest.mark.parametrize(
    ("typed", "reason", "code", "said"),
    [
        ("AGE-SECRET-KEY-1" + "Q" * 58, "court deadline", 403, "Check it against the sheet"),
        ("not a key at all", "court deadline", 403, "Check it against the sheet"),
        ("", "court deadline", 400, "No emergency key was typed"),
        ("{key}", "  ", 400, "Say why the emergency key is used"),
    ],
)
def test_the_emergency_key_is_refused_when_wrong_or_without_a_reason(
    web: Web, template_vault: Template, typed: str, reason: str, code: int, said: str
) -> None:
    before = len(_entries(web.root))
    typed = typed.format(key=template_vault.emergency_secret)
    answer = web.client.post(
        "/unlock/emergency", data={"emergency_key": typed, "reason": reason, "csrf": web.csrf()}
    )
    assert answer.status_code == code
    assert said in answer.text
    assert 'id="emergency-key"' in answer.text and '<details class="emergency" open' in answer.text
    assert template_vault.emergency_secret not in answer.text
    assert not web.keeper.unlocked
    assert len(_entries(web.root)) == before  # nothing recorded: nothing was opened


def test_a_session_key_reads_and_searches_its_documents_only(
    web: Web, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(  # the new key files at the tests' low scrypt cost (see tests/conftest)
        scrypt_file, "encrypt", functools.partial(scrypt_file.encrypt, work_factor=TEST_WORK_FACTOR)
    )
    letter, hostile = web.docs["letter"], web.docs["hostile"]
    full = {"VAULT_PASSPHRASE": PASSPHRASE}
    vault = ["--vault", str(web.root)]
    added = runner.invoke(
        cli,
        [*vault, "key", "add", "volunteer-1", "--level", "session"],
        env={**full, "VAULT_NEW_PASSPHRASE": "Volunteer Duty 58"},
    )
    assert added.exit_code == 0, added.output
    granted = runner.invoke(cli, [*vault, "access", "grant", "session", letter], env=full)
    assert granted.exit_code == 0, granted.output

    answer = web.client.post(
        "/unlock", data={"passphrase": "Volunteer Duty 58", "csrf": web.csrf()}
    )
    assert answer.status_code == 303
    assert web.keeper.level == "session"
    assert "(session documents only)" in web.client.get("/").text
    assert letter in web.client.get("/results", params={"q": "Przybylski"}).text
    assert hostile not in web.client.get("/results", params={"q": "Kowalczyk"}).text
    assert web.client.get(f"/doc/{hostile}").status_code == 404
    page = web.client.get(f"/doc/{letter}").text
    assert "Przybylski" in page
    assert "Download a copy" not in page and "Correct the details" not in page
    shown = web.client.get(f"/doc/{letter}/file/original")  # opened with the level's key
    assert shown.status_code == 200 and b"Przybylski" in shown.content
    for path, form in (("download", {}), ("edit", {"type": "letter", "family": "F-0001"})):
        refused = web.client.post(f"/doc/{letter}/{path}", data={"csrf": web.csrf(), **form})
        assert refused.status_code == 403, path
        assert "access level" in refused.text
        last = _entries(web.root)[-1]
        assert last.event == "refused" and last.detail["key"] == "volunteer-1"
    assert "F-0001" not in web.client.get(f"/doc/{letter}").text
