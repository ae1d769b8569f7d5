"""E-mails through `vault ingest` and `vault watch`: the e-mail found by
words of its body, its scanned attachment OCR'd and found by its own
words, both linked in `vault show`, the e-mail's searchable PDF; the links
kept through a crash between attachment and e-mail, a fold, a rebuild and
the chain; hostile e-mails left in place (ingest) or quarantined (watch)
with the reason, the batch going on."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.cli.test_formats_cli import ENV, pdf_text, run
from tests.ingest.mails import eml, msg
from tests.scans import scan, write_image_pdf
from vault.repository import Vault

BODY_WORD = "pangolin"  # in the e-mail's body
SCAN_WORD = "quincunx"  # in the scanned letter attached (tests.scans.LETTER)
NOTE_WORD = "okapi"  # in a small text attachment
SUBJECT = "Referral for the Smith family"


@pytest.fixture(scope="module")
def scanned_pdf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("scan") / "scan.pdf"
    return write_image_pdf(path, [scan(dpi=200)], dpi=200).read_bytes()


def write_mail(path: Path, scanned: bytes) -> Path:
    return eml(
        path,
        body=f"Please find the referral attached. The {BODY_WORD} is in the garden.",
        subject=SUBJECT,
        attachments=[
            ("scan.pdf", scanned, "application/pdf"),
            ("notes.txt", f"A note about the {NOTE_WORD}.".encode(), "text/plain"),
        ],
    )


def write_hostile(folder: Path) -> dict[str, str]:
    """Hostile e-mails -> words their reason must contain."""
    many = [(f"n{n}.txt", f"note {n}".encode(), "text/plain") for n in range(500)]
    eml(folder / "many.eml", attachments=many)
    cut = msg(folder / "cut.msg").read_bytes()
    (folder / "cut.msg").write_bytes(cut[: len(cut) // 2])
    return {"many.eml": "it has 500 attachments", "cut.msg": "damaged Outlook file"}


def found(runner: CliRunner, vault_dir: Path, word: str) -> list[str]:
    result = run(runner, vault_dir, "search", word, "--json", env=ENV)
    assert result.exit_code == 0, result.output
    return [row["name"] for row in json.loads(result.stdout)]


def rows(runner: CliRunner, vault_dir: Path) -> dict[str, dict[str, Any]]:
    listed = json.loads(run(runner, vault_dir, "list", "--json", env=ENV).stdout)
    return {row["name"]: row for row in listed}


def shown(runner: CliRunner, vault_dir: Path, doc_id: str, *more: str) -> Result:
    result = run(runner, vault_dir, "show", doc_id, *more, env=ENV)
    assert result.exit_code == 0, result.output
    return result


def check_linked(runner: CliRunner, vault_dir: Path) -> dict[str, str]:
    """The e-mail lists its attachments and each names the e-mail; ids by name."""
    ids = {name: row["id"] for name, row in rows(runner, vault_dir).items()}
    assert {"mail.eml", "scan.pdf", "notes.txt"} <= set(ids)
    email = shown(runner, vault_dir, ids["mail.eml"]).output
    assert f"attachments: {ids['scan.pdf']} scan.pdf, {ids['notes.txt']} notes.txt" in email
    data = json.loads(shown(runner, vault_dir, ids["mail.eml"], "--json").stdout)
    assert data["attachments"] == [ids["scan.pdf"], ids["notes.txt"]]
    for name in ("scan.pdf", "notes.txt"):
        attachment = shown(runner, vault_dir, ids[name]).output
        assert f'attached to: e-mail {ids["mail.eml"]} ("{SUBJECT}")' in attachment
        data = json.loads(shown(runner, vault_dir, ids[name], "--json").stdout)
        assert data["attached_to"] == [ids["mail.eml"]]
    return ids


def test_ingest_stores_the_email_and_its_attachments_and_leaves_hostile_ones(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, scanned_pdf: bytes
) -> None:
    folder = tmp_path / "post"
    folder.mkdir()
    write_mail(folder / "mail.eml", scanned_pdf)
    hostile = write_hostile(folder)
    (folder / "zz-after.txt").write_text("The marmot came after the hostile mail.\n")
    before = {name: (folder / name).read_bytes() for name in hostile}

    result = run(runner, vault_dir, "ingest", str(folder))

    assert result.exit_code == 6, result.output
    for name, why in hostile.items():
        line = next(x for x in result.stderr.splitlines() if x.startswith(f"not stored: {name}: "))
        assert why in line, line
        assert (folder / name).read_bytes() == before[name]  # left in place, byte for byte
    (line,) = [x for x in result.stdout.splitlines() if "  mail.eml: " in x]
    assert "with 2 attachments stored: " in line and "scan.pdf" in line and "notes.txt" in line
    assert "Stored 4 documents" in result.stderr  # the e-mail, 2 attachments, the text file
    assert found(runner, vault_dir, BODY_WORD) == ["mail.eml"]
    assert found(runner, vault_dir, SCAN_WORD) == ["scan.pdf"]  # OCR'd
    assert found(runner, vault_dir, NOTE_WORD) == ["notes.txt"]
    assert found(runner, vault_dir, "marmot") == ["zz-after.txt"]  # the batch went on
    ids = check_linked(runner, vault_dir)
    listed = rows(runner, vault_dir)
    assert listed["mail.eml"]["title"] == f"Document \u2014 {SUBJECT} \u2014 3 Dec 2026"
    email = shown(runner, vault_dir, ids["mail.eml"]).output
    facts = ("subject: " + SUBJECT, "from: Jane Carter <jane.carter@northshire.example>",
             "to: Harbour View Centre", "cc: Team", "sent: 3 Dec 2026 at", "e-mail")  # fmt: skip
    for fact in facts:
        assert fact in email, fact

    out = tmp_path / "mail.pdf"
    got = run(runner, vault_dir, "export", ids["mail.eml"], "--searchable", "--out", str(out),
              "--purpose", "other", env=ENV)  # fmt: skip
    assert got.exit_code == 0, got.output
    text = pdf_text(out)
    for expected in (f"Subject: {SUBJECT}", "From: Jane Carter", BODY_WORD, "scan.pdf",
                     "notes.txt"):  # fmt: skip
        assert expected in text, expected
    original = tmp_path / "scan-out.pdf"
    got = run(runner, vault_dir, "export", ids["scan.pdf"], "--original", "--out", str(original),
              "--purpose", "other", env=ENV)  # fmt: skip
    assert got.exit_code == 0 and original.read_bytes() == scanned_pdf


def test_watch_stores_emails_and_quarantines_hostile_ones(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, scanned_pdf: bytes
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_mail(inbox / "mail.eml", scanned_pdf)
    hostile = write_hostile(inbox)
    msg(inbox / "outlook.msg", attachments=[("visit.txt", b"The capybara visit.", "text/plain")])

    result = run(runner, vault_dir, "watch", str(inbox), "--once", "--settle", "0.1")

    assert result.exit_code == 6, result.output
    quarantine = tmp_path / "quarantine"
    for name, why in hostile.items():
        line = next(x for x in result.stderr.splitlines() if x.startswith(f"quarantined: {name}: "))
        assert why in line, line
        assert why in (quarantine / f"{name}.age.reason.txt").read_text()
    assert list(inbox.iterdir()) == []  # stored ones deleted, hostile ones moved
    assert found(runner, vault_dir, BODY_WORD) == ["mail.eml"]
    assert found(runner, vault_dir, SCAN_WORD) == ["scan.pdf"]
    assert sorted(found(runner, vault_dir, "capybara")) == ["outlook.msg", "visit.txt"]
    check_linked(runner, vault_dir)
    ids = {name: row["id"] for name, row in rows(runner, vault_dir).items()}
    outlook = shown(runner, vault_dir, ids["outlook.msg"]).output
    assert f"attachments: {ids['visit.txt']} visit.txt" in outlook
    assert "Outlook e-mail (.msg)" in outlook


@pytest.mark.parametrize("unlocked", [True, False], ids=["passphrase", "no-passphrase"])
def test_a_crash_between_attachments_and_email_stores_each_once(
    runner: CliRunner,
    vault_dir: Path,
    tmp_path: Path,
    scanned_pdf: bytes,
    monkeypatch: pytest.MonkeyPatch,
    unlocked: bool,
) -> None:
    path = write_mail(tmp_path / "mail.eml", scanned_pdf)
    env = ENV if unlocked else {"VAULT_PASSPHRASE": ""}
    real = Vault.store_file

    def full_at_the_email(self: Vault, source: Path, **kwargs: Any) -> Any:
        if kwargs["media_type"] == "message/rfc822":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, source, **kwargs)

    monkeypatch.setattr(Vault, "store_file", full_at_the_email)
    first = run(runner, vault_dir, "ingest", str(path), env=env)
    assert first.exit_code == 1, first.output
    assert path.exists()
    monkeypatch.setattr(Vault, "store_file", real)

    second = run(runner, vault_dir, "ingest", str(path), env=env)

    assert second.exit_code == 0, second.output
    if unlocked:
        assert "(already in the vault)" in second.stdout
    listed = json.loads(run(runner, vault_dir, "list", "--json", env=ENV).stdout)  # folds
    assert sorted(row["name"] for row in listed) == ["mail.eml", "notes.txt", "scan.pdf"]
    check_linked(runner, vault_dir)


def test_links_survive_a_rebuild_and_the_chain(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, scanned_pdf: bytes
) -> None:
    path = write_mail(tmp_path / "mail.eml", scanned_pdf)
    assert run(runner, vault_dir, "ingest", str(path), env=ENV).exit_code == 0
    ids = check_linked(runner, vault_dir)

    rebuilt = run(runner, vault_dir, "rebuild-catalog", env=ENV)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert check_linked(runner, vault_dir) == ids

    shutil.rmtree(vault_dir / "local")  # this computer's database gone: filled from the chain
    (vault_dir / "local").mkdir(mode=0o700)
    assert check_linked(runner, vault_dir) == ids


def test_erasing_says_what_it_leaves_of_an_email(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, scanned_pdf: bytes
) -> None:
    path = write_mail(tmp_path / "mail.eml", scanned_pdf)
    assert run(runner, vault_dir, "ingest", str(path), env=ENV).exit_code == 0
    ids = check_linked(runner, vault_dir)

    gone = run(runner, vault_dir, "erase", ids["notes.txt"], "--yes", env=ENV)
    assert gone.exit_code == 0, gone.output
    assert (
        f"{ids['notes.txt']} came attached to e-mail {ids['mail.eml']}, whose stored original "
        "still holds it" in " ".join(gone.stderr.split())
    )
    email = shown(runner, vault_dir, ids["mail.eml"]).output
    assert f"{ids['notes.txt']} (no longer in the vault)" in email

    gone = run(runner, vault_dir, "erase", ids["mail.eml"], "--yes", env=ENV)
    assert gone.exit_code == 0, gone.output
    assert f"attachments ({ids['scan.pdf']}) are documents of their own: they are kept" in (
        " ".join(gone.stderr.split())
    )
    attachment = shown(runner, vault_dir, ids["scan.pdf"]).output
    assert "attached to" not in attachment
    assert found(runner, vault_dir, SCAN_WORD) == ["scan.pdf"]
