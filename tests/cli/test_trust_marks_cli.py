"""What status, the committee report and verify say about what they could
not check: an unauthenticated head's figures are marked unverified, a head
whose MAC fails points to ``vault rebuild-catalog``, and objects that no
document names are reported by count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE, make_pdf
from vault.cli import cli
from vault.repository import Vault

ENV = {"VAULT_PASSPHRASE": PASSPHRASE}


def run(
    runner: CliRunner, vault_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def filled(vault_dir: Path, tmp_path: Path, runner: CliRunner) -> Path:
    """A vault with two documents folded into an authenticated head."""
    for n in (1, 2):
        pdf = make_pdf(tmp_path / f"letter-{n}.pdf", f"letter number {n}")
        assert run(runner, vault_dir, "ingest", str(pdf), env=ENV).exit_code == 0
    return vault_dir


def forge_head(vault_dir: Path, documents: int) -> None:
    """What someone without the key can do: change the figures, guess a MAC."""
    path = vault_dir / "head.json"
    record = json.loads(path.read_text())
    record["documents"] = documents
    record["mac"] = "0" * 64
    path.write_text(json.dumps(record, indent=2, sort_keys=True))


def test_status_marks_the_head_unverified_without_the_passphrase(
    filled: Path, runner: CliRunner
) -> None:
    keyless = run(runner, filled, "status", "--json")
    assert json.loads(keyless.stdout)["head_verified"] is False
    text = run(runner, filled, "status").stdout
    assert "The vault holds 2 documents (unverified)." in text
    assert "(unverified: needs the passphrase to check)" in text
    checked = run(runner, filled, "status", "--json", env=ENV)
    assert json.loads(checked.stdout)["head_verified"] is True
    assert "unverified" not in run(runner, filled, "status", env=ENV).stdout


def test_a_forged_head_is_a_warning_naming_rebuild_catalog(filled: Path, runner: CliRunner) -> None:
    forge_head(filled, 250)
    found = json.loads(run(runner, filled, "status", "--json", env=ENV).stdout)
    assert found["head_verified"] is False and found["ok"] is False
    assert "authenticity" in found["warnings"][0]
    assert "vault rebuild-catalog" in found["warnings"][0]
    listing = run(runner, filled, "list", env=ENV)
    assert listing.exit_code == 4
    assert "vault: hint:" in listing.output and "vault rebuild-catalog" in listing.output


def test_the_report_marks_unverified_figures(
    filled: Path, runner: CliRunner, tmp_path: Path
) -> None:
    forge_head(filled, 250)
    out = tmp_path / "report.html"
    assert run(runner, filled, "report", "--out", str(out)).exit_code == 0
    html = out.read_text()
    assert "250 documents" in html
    assert "unverified" in html
    checked = tmp_path / "checked.html"
    forge = run(runner, filled, "report", "--out", str(checked), env=ENV)
    assert forge.exit_code == 0
    assert "Ask the coordinator to rebuild the vault" in checked.read_text()


def test_verify_reports_orphan_objects_by_count(
    filled: Path, runner: CliRunner, tmp_path: Path
) -> None:
    vault = Vault.open(filled)
    with vault.lock:
        for n in range(3):  # what an ingest killed before its manifest leaves
            vault.objects.put_bytes(f"orphan {n}".encode(), [vault.recipient])
    result = run(runner, filled, "verify")
    assert result.exit_code == 0, result.output
    assert "3 objects are named by no document" in result.stderr
    assert "vault: hint: 'vault prune' removes them" in result.stderr
    found = json.loads(run(runner, filled, "verify", "--json").stdout)
    assert found["unreferenced"] == 3 and found["ok"] is True
