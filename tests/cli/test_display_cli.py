"""Control characters in stored names and text are shown escaped, and
messages name files by name only (full paths with --verbose)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE, make_pdf
from vault.cli import cli
from vault.display import escaped, escaped_lines

ENV = {"VAULT_PASSPHRASE": PASSPHRASE}
# Retitles the terminal, clears the screen, goes back to the start of the
# line to print a fake row, a C1 CSI, DEL, and a right-to-left override.
HOSTILE = "court\x1b]0;owned\x07\x1b[2J\rD-FAKE01 2026-01-01 \x9b31m\x7f\u202egpj.pdf"
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"


def raw_controls(text: str) -> list[str]:
    """Control characters that reached the output unescaped (line feeds aside)."""
    return [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F or c in BIDI]


def run(runner: CliRunner, vault_dir: Path, *args: str) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=ENV)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_escaping_rules() -> None:
    assert escaped("a\x1b[2Jb\rc\nd\te\x7f\x9b\u202e") == r"a\x1b[2Jb\x0dc\x0ad\x09e\x7f\x9b\u202e"
    assert escaped_lines("line 1\n\tline\x1b 2\r") == "line 1\n\tline\\x1b 2\\x0d"
    assert escaped("Łódź, café, 東京") == "Łódź, café, 東京"  # other text is untouched
    assert raw_controls(escaped("".join(map(chr, range(0x100))) + BIDI)) == []


@pytest.fixture
def hostile(vault_dir: Path, tmp_path: Path, runner: CliRunner) -> tuple[str, Result]:
    inbox = tmp_path / "Smith family scans"
    inbox.mkdir()
    pdf = make_pdf(inbox / HOSTILE, "hostile name letter")
    result = run(runner, vault_dir, "ingest", str(pdf))
    assert result.exit_code == 0, result.output
    doc_id = result.stdout.split()[0]
    return doc_id, result


def test_a_hostile_file_name_is_shown_escaped_everywhere(
    vault_dir: Path, runner: CliRunner, hostile: tuple[str, Result]
) -> None:
    doc_id, ingested = hostile
    outputs = {"ingest": ingested.output}
    for args in (["list"], ["show", doc_id], ["search", "hostile"]):
        result = run(runner, vault_dir, *args)
        assert result.exit_code == 0, result.output
        outputs[args[0]] = result.output
    for command, output in outputs.items():
        assert raw_controls(output) == [], command
        if command in ("ingest", "show"):  # list and search show titles, not file names
            assert escaped(HOSTILE) in output, command
    rows = [line for line in outputs["list"].splitlines() if "D-" in line]
    assert len(rows) == 1 and rows[0].startswith(doc_id)  # no fake row
    listed = json.loads(run(runner, vault_dir, "list", "--json").stdout)
    assert listed[0]["name"] == HOSTILE  # JSON keeps the name exactly (escaped by JSON)


def test_errors_escape_names(vault_dir: Path, runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "out\x1b[2J\r.pdf"
    target.write_bytes(b"")
    result = run(runner, vault_dir, "export", "D-NOSUCH", "--out", str(target))
    assert result.exit_code == 2
    assert raw_controls(result.output) == []
    assert "out\\x1b[2J\\x0d.pdf" in result.output


def test_messages_name_files_by_name_unless_verbose(
    vault_dir: Path, runner: CliRunner, tmp_path: Path
) -> None:
    folder = tmp_path / "Smith family scans"
    folder.mkdir()
    make_pdf(folder / "referral.pdf", "a referral")
    (folder / "empty.pdf").write_bytes(b"")
    quiet = run(runner, vault_dir, "ingest", str(folder))
    assert quiet.exit_code == 6
    assert "Smith family" not in quiet.output
    assert "  referral.pdf: " in quiet.stdout
    assert "not stored: empty.pdf: " in quiet.stderr

    make_pdf(folder / "second.pdf", "another referral")
    verbose = run(runner, vault_dir, "ingest", "--verbose", str(folder))
    assert f"not stored: {folder / 'empty.pdf'}: " in verbose.stderr
    assert f"  {folder / 'second.pdf'}: " in verbose.stdout

    watched = run(runner, vault_dir, "watch", str(folder), "--once", "--settle", "0.1")
    assert watched.exit_code == 6 and "quarantined: empty.pdf: " in watched.stderr
    assert "Smith family" not in next(x for x in watched.stderr.splitlines() if "quarantined:" in x)
    reason = next((vault_dir.parent / "quarantine").glob("*.reason.txt")).read_text()
    assert "From: empty.pdf\n" in reason and "Smith family" not in reason
