"""The emergency key comes from a file, an image of the sheet, or a hidden
prompt; never from the command line, where ``ps`` and the shell history show it."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pypdfium2
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from tests.conftest import Template
from vault.cli import cli
from vault.emergency_sheet import write_emergency_sheet
from vault.repository import Vault

REASON = ["--reason", "coordinator on leave"]


def run(runner: CliRunner, vault_dir: Path, *args: str, stdin: str | None = None) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), "list", *args], input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def grouped(key: str, *, sep: str = " ") -> str:
    """The key as the sheet prints it, in lower case: groups of four."""
    return sep.join(key[i : i + 4] for i in range(0, len(key), 4)).lower()


def emergency_uses(vault_dir: Path) -> int:
    return sum(1 for e in Vault.open(vault_dir).audit.entries() if e.event == "emergency-use")


def assert_unlocked(result: Result, vault_dir: Path, key: str) -> None:
    assert result.exit_code == 0, result.output
    assert emergency_uses(vault_dir) == 1
    assert key not in result.output and key.lower() not in result.output


@pytest.mark.parametrize("form", ["as-is", "grouped", "no-prefix"])
def test_a_key_on_the_command_line_is_refused_with_a_hint(
    runner: CliRunner, vault_dir: Path, template_vault: Template, form: str
) -> None:
    key = template_vault.emergency_secret
    value = {
        "as-is": key,
        "grouped": grouped(key),
        "no-prefix": key.removeprefix("AGE-SECRET-KEY-"),
    }[form]
    result = run(runner, vault_dir, "--emergency-key", value, *REASON)
    assert result.exit_code == 2
    assert "must not be given on the command line" in result.output
    assert "vault: hint:" in result.output and "prompt" in result.output
    assert key not in result.output and value not in result.output
    assert emergency_uses(vault_dir) == 0


def test_a_key_file_forgives_spaces_line_breaks_case_and_comments(
    runner: CliRunner, vault_dir: Path, template_vault: Template, tmp_path: Path
) -> None:
    key = template_vault.emergency_secret
    keyfile = tmp_path / "key.txt"
    keyfile.write_text("# typed from the sealed sheet\n" + grouped(key, sep=" \n ") + "\n")
    result = run(runner, vault_dir, "--emergency-key", str(keyfile), *REASON)
    assert_unlocked(result, vault_dir, key)


@pytest.mark.parametrize("how", [["--emergency-key"], ["--emergency-key", "-"]])
def test_the_key_typed_at_the_prompt(
    runner: CliRunner, vault_dir: Path, template_vault: Template, how: list[str]
) -> None:
    key = template_vault.emergency_secret
    result = run(runner, vault_dir, *REASON, *how, stdin=grouped(key) + "\n")
    assert_unlocked(result, vault_dir, key)


def test_an_empty_answer_is_a_usage_error(runner: CliRunner, vault_dir: Path) -> None:
    result = run(runner, vault_dir, *REASON, "--emergency-key", stdin="\n")
    assert result.exit_code == 2 and "no emergency key" in result.output


@pytest.fixture
def sheet(tmp_path: Path, template_vault: Template) -> Path:
    path = tmp_path / "sheet.pdf"
    write_emergency_sheet(
        path,
        secret_key=template_vault.emergency_secret,
        vault_id="test-vault",
        centre_name="Test Centre",
        created=datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC),
    )
    return path


def photo_of(sheet: Path, out: Path, fmt: str) -> Path:
    """A rendering of the sheet as a phone would keep it: turned a little, JPEG or PNG."""
    document = pypdfium2.PdfDocument(sheet)
    try:
        page = document[0].render(scale=150 / 72).to_pil()
    finally:
        document.close()
    page = page.convert("RGB").rotate(3, expand=True, fillcolor="white")
    buffer = io.BytesIO()
    page.save(buffer, fmt, quality=80) if fmt == "JPEG" else page.save(buffer, fmt)
    out.write_bytes(buffer.getvalue())
    return out


@pytest.mark.parametrize("kind", ["photo.jpg", "scan.png", "sheet.pdf"])
def test_the_key_read_from_an_image_of_the_sheet(
    runner: CliRunner,
    vault_dir: Path,
    template_vault: Template,
    tmp_path: Path,
    sheet: Path,
    kind: str,
) -> None:
    if kind == "sheet.pdf":
        picture = sheet
    else:
        picture = photo_of(sheet, tmp_path / kind, "JPEG" if kind.endswith("jpg") else "PNG")
    result = run(runner, vault_dir, "--emergency-key", str(picture), *REASON)
    assert_unlocked(result, vault_dir, template_vault.emergency_secret)


def test_an_image_without_the_code_is_a_clear_error(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (400, 300), 255).save(blank)
    result = run(runner, vault_dir, "--emergency-key", str(blank), *REASON)
    assert result.exit_code == 2
    assert "no emergency key QR code could be read in blank.png" in result.output
    missing = run(runner, vault_dir, "--emergency-key", str(tmp_path / "gone.txt"), *REASON)
    assert (
        missing.exit_code == 2 and "cannot read the emergency key file gone.txt" in missing.output
    )
