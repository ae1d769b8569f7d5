"""Retention dates: written at storing (the type's years from
``retention_years`` in config.json), changed by ``vault edit`` (a new type,
or ``--retention``), and ``vault retention`` listing what is past its date."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE, make_pdf
from vault import retention
from vault.cli import cli
from vault.config import Layout, read_config, write_config
from vault.repository import Vault


def run(runner: CliRunner, root: Path, *args: str) -> Result:
    result = runner.invoke(cli, ["--vault", str(root), *args], env={"VAULT_PASSPHRASE": PASSPHRASE})
    assert "Traceback" not in result.output
    return result


def stored(root: Path, tmp_path: Path, doc_type: str) -> str:
    vault = Vault.open(root)
    with vault.lock:
        path = make_pdf(tmp_path / f"{doc_type}.pdf", f"A {doc_type} for the Finch family")
        return vault.store_file(
            path, name=path.name, media_type="application/pdf", doc_type=doc_type
        ).doc_id


def due(runner: CliRunner, root: Path) -> list[dict[str, Any]]:
    result = run(runner, root, "retention", "--json")
    assert result.exit_code == 0, result.output
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def set_years(root: Path, years: dict[str, int]) -> None:
    layout = Layout(root)
    config = read_config(layout)
    config["retention_years"] = years
    write_config(layout, config)


def test_a_stored_document_carries_its_types_retention_date(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    set_years(vault_dir, {"letter": 2})
    letter = stored(vault_dir, tmp_path, "letter")
    referral = stored(vault_dir, tmp_path, "referral")
    shown = {
        doc_id: json.loads(run(runner, vault_dir, "show", doc_id, "--json").stdout)
        for doc_id in (letter, referral)
    }
    today = date.today()
    assert shown[letter]["retention"] == retention._add_years(today, 2).isoformat()
    assert shown[referral]["retention"] == retention._add_years(today, 7).isoformat()
    assert due(runner, vault_dir) == []
    result = run(runner, vault_dir, "retention")
    assert result.exit_code == 0 and "No document is past its retention date" in result.output


def test_retention_lists_what_is_past_its_date_and_edit_changes_it(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    set_years(vault_dir, {"letter": 0})
    letter = stored(vault_dir, tmp_path, "letter")
    other = stored(vault_dir, tmp_path, "other")
    assert [row["id"] for row in due(runner, vault_dir)] == [letter]
    # A date of its own; then a new type gives its type's date again.
    assert run(runner, vault_dir, "edit", letter, "--retention", "2099-01-31").exit_code == 0
    assert due(runner, vault_dir) == []
    # A date set by hand stays when the type changes afterwards.
    assert run(runner, vault_dir, "edit", letter, "--type", "referral").exit_code == 0
    shown = json.loads(run(runner, vault_dir, "show", letter, "--json").stdout)
    assert shown["doc_type"] == "referral" and shown["retention"] == "2099-01-31"
    assert run(runner, vault_dir, "edit", other, "--type", "letter").exit_code == 0
    found = due(runner, vault_dir)
    assert [row["id"] for row in found] == [other]
    assert found[0]["doc_type"] == "letter" and found[0]["retention"] == date.today().isoformat()
    assert run(runner, vault_dir, "edit", other, "--retention", "2001-02-03").exit_code == 0
    result = run(runner, vault_dir, "retention")
    assert other in result.output and "2001-02-03" in result.output
    assert "Finch" not in result.output  # ids, types, families and dates: no names


@pytest.mark.parametrize("given", ["31/01/2040", "2040-02-30", "soon"])
def test_a_retention_that_is_not_a_date_is_refused(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, given: str
) -> None:
    doc_id = stored(vault_dir, tmp_path, "letter")
    result = run(runner, vault_dir, "edit", doc_id, "--retention", given)
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


def test_a_malformed_retention_setting_is_named(runner: CliRunner, vault_dir: Path) -> None:
    layout = Layout(vault_dir)
    config = json.loads(layout.config.read_text())
    config["retention_years"] = {"letter": "seven"}
    layout.config.write_text(json.dumps(config))
    result = run(runner, vault_dir, "retention")
    assert result.exit_code != 0 and "retention_years" in result.output


def test_dates_of_older_documents_are_worked_out_from_their_type() -> None:
    rows = [
        {"id": "D-A", "doc_type": "letter", "received": "2020-02-29T10:00:00+00:00"},
        {"id": "D-B", "doc_type": "referral", "received": "2020-03-01T10:00:00+00:00"},
        {"id": "D-C", "doc_type": "other", "received": "2026-01-01T10:00:00+00:00",
         "retention": "2026-06-01"},
    ]  # fmt: skip
    found = retention.due(rows, {}, today=date(2027, 1, 1))
    assert [(row["id"], row["retention"]) for row in found] == [
        ("D-A", "2023-02-28"),  # 29 February: 28 February three years on
        ("D-C", "2026-06-01"),  # its own date; D-B's (2027-03-01) is still to come
    ]
    assert retention.retention_date("letter", "2020-02-29T10:00:00+00:00", {}) == "2023-02-28"
    assert retention.years_for("court-order", {"retention_years": {"court-order": 25}}) == 25
    assert retention.years_for("unknown-kind", {}) == retention.DEFAULT_YEARS["other"]


def test_status_and_the_report_count_what_is_due_never_naming_it(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    set_years(vault_dir, {"letter": 0})
    stored(vault_dir, tmp_path, "letter")
    stored(vault_dir, tmp_path, "referral")
    assert run(runner, vault_dir, "list").exit_code == 0  # folded into the catalog
    result = run(runner, vault_dir, "status", "--json")
    assert result.exit_code in (0, 1), result.output
    assert json.loads(result.stdout)["retention_due"] == 1
    text = run(runner, vault_dir, "status").output
    assert "Documents past their retention date: 1 (" in text
    keyless = runner.invoke(
        cli, ["--vault", str(vault_dir), "status"], env={"VAULT_PASSPHRASE": ""}
    )
    assert "past their retention date: not known" in keyless.output
    report = tmp_path / "report.html"
    assert run(runner, vault_dir, "report", "--out", str(report)).exit_code in (0, 1)
    page = report.read_text()
    assert "Documents past their retention date: 1" in page and "Finch" not in page


def test_each_correction_is_kept_and_shown_with_history(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    doc_id = stored(vault_dir, tmp_path, "other")
    assert "has not been corrected" in run(runner, vault_dir, "show", doc_id, "--history").output
    assert run(runner, vault_dir, "edit", doc_id, "--type", "referral").exit_code == 0
    edited = run(runner, vault_dir, "edit", doc_id, "--family", "F-42", "--retention", "2040-01-31")
    assert edited.exit_code == 0, edited.output
    result = run(runner, vault_dir, "show", doc_id, "--history", "--json")
    assert result.exit_code == 0, result.output
    history = json.loads(result.stdout)["history"]
    assert [sorted(h["changed"]) for h in history] == [
        ["doc_type", "title"],  # other and referral are kept 7 years alike
        ["family", "retention"],
    ]
    assert history[0]["changed"]["doc_type"] == ["other", "referral"]
    assert history[1]["changed"]["family"] == [None, "F-0042"]
    assert history[1]["changed"]["retention"][1] == "2040-01-31"
    assert all(h["key"] == "coordinator" and h["time"] for h in history)
    text = run(runner, vault_dir, "show", doc_id, "--history").output
    assert "Correction 1" in text and "doc_type: other -> referral" in text
    assert "family: - -> F-0042" in text


def test_an_edit_that_changes_nothing_records_no_correction(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    """The type it has, or the retention date it has: no empty correction in
    its history, no new manifest."""
    doc_id = stored(vault_dir, tmp_path, "letter")
    before = json.loads(run(runner, vault_dir, "show", doc_id, "--json").stdout)
    assert run(runner, vault_dir, "edit", doc_id, "--type", "letter").exit_code == 0
    same_date = run(runner, vault_dir, "edit", doc_id, "--retention", before["retention"])
    assert same_date.exit_code == 0, same_date.output
    after = json.loads(run(runner, vault_dir, "show", doc_id, "--json").stdout)
    assert after["manifest"] == before["manifest"]
    assert json.loads(run(runner, vault_dir, "show", doc_id, "--history", "--json").stdout) == {
        "id": doc_id,
        "history": [],
    }


def test_a_retention_setting_naming_no_document_type_is_refused_before_erasing(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    """A typo ("court order") would leave court orders at the default years:
    'vault retention' and 'vault erase --due' refuse it, and erase nothing."""
    set_years(vault_dir, {"court-order": 0})
    doc_id = stored(vault_dir, tmp_path, "court-order")  # due at once
    set_years(vault_dir, {"court order": 10, "court-order": 0})
    for args in (("retention",), ("erase", "--due", "--yes")):
        result = run(runner, vault_dir, *args)
        assert result.exit_code == 2, result.output
        assert "'court order'" in result.output and "court-order" in result.output
    assert run(runner, vault_dir, "show", doc_id).exit_code == 0
    set_years(vault_dir, {"court-order": 0})
    assert [row["id"] for row in due(runner, vault_dir)] == [doc_id]


def test_one_document_past_its_date_is_said_in_the_singular(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    set_years(vault_dir, {"letter": 0})
    stored(vault_dir, tmp_path, "letter")
    result = run(runner, vault_dir, "retention")
    assert result.exit_code == 0, result.output
    assert "1 document is past its retention date." in result.output
