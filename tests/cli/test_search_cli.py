"""vault search: output on a terminal and as JSON, filters, errors and exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE, make_pdf
from vault.cli import cli
from vault.repository import Vault

ENV = {"VAULT_PASSPHRASE": PASSPHRASE}

DOCUMENTS = [
    ("referral.pdf", "referral", "F-0042", [
        "Referral for contact.\nMother: Mrs Anna Przybylski, of Leeds.",
        "Court case NT26P00412, hearing on 3 March.",
    ]),
    ("order.pdf", "court-order", "F-0107", [
        "Order in case NT26P0O412: contact with Mr Przybylsk1 on Saturdays.",
    ]),
    ("letter.pdf", "letter", None, [
        "Dear Ms Nowak, thank you for your letter about the Saturday visits.",
    ]),
]  # fmt: skip


@pytest.fixture
def documents(vault_dir: Path, tmp_path: Path) -> dict[str, str]:
    """The vault with DOCUMENTS stored and folded in: {file name: document id}."""
    ids = {}
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        for name, doc_type, family, text in DOCUMENTS:
            source = make_pdf(tmp_path / name, name)  # distinct content: no duplicates
            stored = vault.store_file(
                source,
                name=name,
                media_type="application/pdf",
                doc_type=doc_type,
                family=family,
                text=text,
                pages=len(text),
            )
            ids[name] = stored.doc_id
        vault.fold_journal()
    return ids


def run(
    runner: CliRunner, vault_dir: Path, *args: str, env: dict[str, str] | None = ENV, **kw
) -> Result:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["--vault", str(vault_dir), "search", *args], env=env, **kw)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _json(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return rows


def test_finds_a_word_and_shows_the_hit(
    runner: CliRunner, vault_dir: Path, documents: dict[str, str]
) -> None:
    result = run(runner, vault_dir, "przybylski")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == documents["referral.pdf"]
    assert "Referral — " in lines[0] and "F-0042" in lines[0] and "p. 1" in lines[0]
    assert "referral.pdf" not in lines[0]  # the title, not the scanner's file name
    assert lines[1].strip() == "Referral for contact. Mother: Mrs Anna Przybylski, of Leeds."
    assert "\x1b[" not in result.stdout  # no styling when not on a terminal
    assert lines[2].split()[0] == documents["order.pdf"]  # "Przybylsk1": a near spelling
    assert "(similar spelling)" in lines[2]
    assert result.stderr == ""


def test_the_hit_is_bold_on_a_terminal(
    runner: CliRunner, vault_dir: Path, documents: dict[str, str]
) -> None:
    result = run(runner, vault_dir, "Nowak", color=True)
    assert "Dear Ms \x1b[1mNowak\x1b[0m, thank you" in result.stdout


def test_json_is_an_array_of_hits(
    runner: CliRunner, vault_dir: Path, documents: dict[str, str]
) -> None:
    rows = _json(run(runner, vault_dir, "Przybylski", "--json"))
    assert [row["id"] for row in rows] == [documents["referral.pdf"], documents["order.pdf"]]
    first = rows[0]
    assert {"id", "name", "doc_type", "family", "received", "pages", "score", "snippet"} <= set(
        first
    )
    assert first["snippet"] == "Referral for contact. Mother: Mrs Anna [Przybylski], of Leeds."
    assert first["pages"] == [1] and first["match"] == "exact"
    assert rows[1]["match"] == "fuzzy" and "[Przybylsk1]" in str(rows[1]["snippet"])
    assert isinstance(first["score"], float) and first["score"] > rows[1]["score"]  # type: ignore[operator]


def test_phrase_partial_and_ocr_damage(
    runner: CliRunner, vault_dir: Path, documents: dict[str, str]
) -> None:
    # (Each run unlocks the vault, slow on purpose: the library tests cover the cases.)
    referral, order = documents["referral.pdf"], documents["order.pdf"]
    phrase = _json(run(runner, vault_dir, "Anna", "Przybylski", "--json"))  # unquoted words
    assert [(r["id"], r["match"]) for r in phrase] == [(referral, "exact")]
    assert "[Anna Przybylski]" in str(phrase[0]["snippet"])
    partial = _json(run(runner, vault_dir, "Przybylsk", "--json"))
    assert [(r["id"], r["match"]) for r in partial] == [(referral, "partial"), (order, "partial")]
    wrong_letter = _json(run(runner, vault_dir, "Przybilski", "--json"))
    # one edit from "Przybylski", two from "Przybylsk1"
    assert [(r["id"], r["match"]) for r in wrong_letter] == [(referral, "fuzzy"), (order, "fuzzy")]
    assert "[Przybylski]" in str(wrong_letter[0]["snippet"])
    confused = _json(run(runner, vault_dir, "NT26P0O412", "--json"))
    assert [(r["id"], r["match"], r["pages"]) for r in confused] == [
        (order, "exact", [1]),
        (referral, "fuzzy", [2]),
    ]
    exact_only = _json(run(runner, vault_dir, "NT26P0O412", "--exact", "--json"))
    assert [r["id"] for r in exact_only] == [order]


def test_filters(runner: CliRunner, vault_dir: Path, documents: dict[str, str]) -> None:
    def ids(*options: str) -> list[object]:
        return [r["id"] for r in _json(run(runner, vault_dir, "Przybylski", "--json", *options))]

    assert ids("--type", "court-order") == [documents["order.pdf"]]
    assert ids("--family", "F-0042") == [documents["referral.pdf"]]
    today = datetime.now(UTC).date()  # received today (UTC), by the fixture
    assert len(ids("--since", today.isoformat(), "--until", today.isoformat())) == 2
    assert ids("--until", (today - timedelta(days=1)).isoformat()) == []
    bad_type = run(runner, vault_dir, "Przybylski", "--type", "memo")
    assert bad_type.exit_code == 2


def test_limit(runner: CliRunner, vault_dir: Path, documents: dict[str, str]) -> None:
    result = run(runner, vault_dir, "Przybylski", "--limit", "1")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 2  # one document: its line and its snippet
    assert "--limit" in result.stderr
    assert len(_json(run(runner, vault_dir, "Przybylski", "--limit", "1", "--json"))) == 1


def test_no_match(runner: CliRunner, vault_dir: Path, documents: dict[str, str]) -> None:
    plain = run(runner, vault_dir, "Zebedee")
    assert plain.exit_code == 0
    assert plain.stdout == ""
    assert "No documents match" in plain.stderr
    assert run(runner, vault_dir, "Zebedee", "--json").stdout.strip() == "[]"


@pytest.mark.parametrize(
    "query,found",
    [('foo" OR "bar', []), ("NEAR(Nowak, 5)", []), ("Nowak*", ["letter.pdf"]),
     ("^Nowak)", ["letter.pdf"]), ("text:Nowak", [])],
)  # fmt: skip
def test_fts_syntax_is_inert(
    runner: CliRunner, vault_dir: Path, documents: dict[str, str], query: str, found: list[str]
) -> None:
    rows = _json(run(runner, vault_dir, query, "--json"))
    assert [r["id"] for r in rows] == [documents[name] for name in found]


@pytest.mark.parametrize("query", ["ab", "*", "NE*", '""', "a b"])
def test_short_query_is_a_usage_error_before_unlocking(
    runner: CliRunner, vault_dir: Path, query: str
) -> None:
    result = run(runner, vault_dir, query, env=None)  # no passphrase: not even asked for
    assert result.exit_code == 2
    assert "at least 3 letters or digits" in result.stderr


def test_bad_date_is_a_usage_error(runner: CliRunner, vault_dir: Path) -> None:
    for option, value in (
        ("--since", "31/02/2026"),
        ("--until", "2026-02-30"),
        ("--since", "12/31/2026"),
        ("--until", "1/3"),
        ("--since", "yesterday-ish"),
    ):
        result = run(runner, vault_dir, "Nowak", option, value)
        assert result.exit_code == 2
        assert option in result.stderr and "04/12/2026" in result.stderr
        assert len(result.stderr.splitlines()) == 2  # the error and its hint
    reversed_range = run(
        runner, vault_dir, "Nowak", "--since", "2026-03-02", "--until", "2026-03-01"
    )
    assert reversed_range.exit_code == 2 and "after" in reversed_range.stderr


def test_needs_the_passphrase(runner: CliRunner, vault_dir: Path) -> None:
    result = run(runner, vault_dir, "Nowak", env=None)
    assert result.exit_code == 2
    assert "VAULT_PASSPHRASE" in result.stderr
    wrong = run(runner, vault_dir, "Nowak", env={"VAULT_PASSPHRASE": "Wrong Horse 42"})
    assert wrong.exit_code == 3


def test_missing_query(runner: CliRunner, vault_dir: Path) -> None:
    assert run(runner, vault_dir).exit_code == 2


def test_a_catalog_database_of_an_older_schema_is_made_again(
    runner: CliRunner, vault_dir: Path, documents: dict[str, str]
) -> None:
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        vault.catalog.conn.execute("PRAGMA user_version = 1")  # as made by an earlier version
        vault.catalog.conn.commit()
    pointer = vault_dir / "local" / "catalog.current"
    before = pointer.read_text()
    rows = _json(run(runner, vault_dir, "Nowak", "--json"))
    assert [r["id"] for r in rows] == [documents["letter.pdf"]]
    assert pointer.read_text() != before  # a new database, made from the head's files
    assert '"rebuild"' not in (vault_dir / "audit.log").read_text()  # not from the manifests
