"""Text that is not UTF-8: a terminal or script set to another encoding
(Latin-1, Windows-1252) gives bytes that Python keeps as lone surrogates on
the command line, and standard input or a file may hold them too. Every
such input is one clear line and exit status 2, never a traceback, and
nothing is recorded.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE
from vault.cli import cli

BAD = "caf\udce9 note"  # b"caf\xe9 note" (Latin-1) as Python reads it from argv


def run(root: Path, *args: str, stdin: bytes | None = None) -> Result:
    result = CliRunner().invoke(
        cli, ["--vault", str(root), *args], env={"VAULT_PASSPHRASE": PASSPHRASE}, input=stdin
    )
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result


def test_an_incident_note_or_reason_not_in_utf8_is_refused(vault_dir: Path) -> None:
    record = ("incident", "record", "--kind", "other", "--aware", "2026-01-04 09:30")
    refused = run(vault_dir, *record, "--note", BAD)
    assert refused.exit_code == 2, refused.output
    assert "--note: the text is not UTF-8" in refused.output
    refused = run(vault_dir, *record, "--note", "-", stdin=b"caf\xe9 note\n")
    assert refused.exit_code == 2, refused.output
    assert "--note: standard input is not UTF-8 text" in refused.output
    assert "incident" not in (vault_dir / "audit.log").read_text()

    done = run(vault_dir, *record, "--note", "-", stdin="café note\n".encode())
    assert done.exit_code == 0, done.output
    incident_id = done.output.split()[2]
    refused = run(vault_dir, "incident", "note", incident_id, "--note", BAD)
    assert refused.exit_code == 2, refused.output
    close = ("incident", "close", incident_id, "--not-reportable", "--reason")
    refused = run(vault_dir, *close, BAD)
    assert refused.exit_code == 2, refused.output
    refused = run(vault_dir, *close, "-", stdin=b"\xff\xfe")
    assert refused.exit_code == 2, refused.output
    shown = run(vault_dir, "incident", "show", incident_id)
    assert "café note" in shown.output and "open" in shown.output


def test_an_edited_title_or_field_not_in_utf8_is_refused(vault_dir: Path, tmp_path: Path) -> None:
    from tests.conftest import make_pdf

    letter = make_pdf(tmp_path / "letter.pdf", "A letter")
    stored = run(vault_dir, "ingest", str(letter))
    assert stored.exit_code == 0, stored.output
    doc_id = stored.output.split()[0]
    for option, value in (("--title", BAD), ("--field", f"case={BAD}")):
        refused = run(vault_dir, "edit", doc_id, option, value)
        assert refused.exit_code == 2, refused.output
        assert f"{option}: the text is not UTF-8" in refused.output


def test_a_passphrase_file_not_in_utf8_is_refused(vault_dir: Path, tmp_path: Path) -> None:
    latin = tmp_path / "passphrase.txt"
    latin.write_bytes(b"Caf\xe9 Horse 42\n")
    refused = run(vault_dir, "list", "--passphrase-file", str(latin))
    assert refused.exit_code == 2, refused.output
    assert "is not UTF-8 text" in refused.output
    refused = run(
        vault_dir, "export", "--bundle", str(tmp_path / "b.age"), "D-7K3M9Q",
        "--bundle-passphrase-file", str(latin),
    )  # fmt: skip
    assert refused.exit_code == 2, refused.output
    assert "bundle passphrase file" in refused.output and "not UTF-8" in refused.output
    assert not (tmp_path / "b.age").exists()
