"""Journal entries a user meets through the CLI: a swapped public key, an
entry encrypted to a foreign key, a forged entry from someone holding only
the public key (each written here as an attacker would, with plain files)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE, make_pdf
from vault import crypto
from vault.cli import cli
from vault.manifest import Manifest
from vault.objects import ObjectStore

ENV = {"VAULT_PASSPHRASE": PASSPHRASE}


def run(
    runner: CliRunner, vault_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def listed(result: Result) -> list[str]:
    return sorted(row["name"] for row in json.loads(result.stdout))


def test_keyless_ingest_refuses_a_public_key_that_is_not_the_vaults(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    _, attacker = crypto.generate_identity()
    (vault_dir / "keys" / "data.pub").write_text(attacker + "\n")
    source = make_pdf(tmp_path / "referral.pdf", "referral")
    result = run(runner, vault_dir, "ingest", str(source))
    assert result.exit_code == 4, result.output
    assert "data.pub" in result.stderr and "Stored 1" not in result.output
    assert source.exists()
    assert not any((vault_dir / "objects").rglob("*")), "something was encrypted to the attacker"


def _write_raw(vault_dir: Path, tmp_path: Path, recipient: str, name: str) -> str:
    """An object, an unsigned manifest and a journal line, written with a public key only."""
    store = ObjectStore(vault_dir / "objects", vault_dir / "tmp")
    manifests = ObjectStore(vault_dir / "manifests", vault_dir / "tmp")
    store.open()
    to = [crypto.parse_recipient(recipient)]
    original = store.put_file(make_pdf(tmp_path / name, "court order, family F-0042"), to)
    doc = Manifest(
        "D-FFFFFF", original.id, name, "application/pdf", 10, "2026-01-01T00:00:00+00:00"
    )
    record = manifests.put_bytes(doc.to_json(), to)
    line = {
        "manifest": record.id,
        "size": record.size,
        "objects": original.objects,
        "signed": False,
    }
    with open(vault_dir / "journal.log", "a") as f:
        f.write(json.dumps(line) + "\n")
    return record.id


def test_an_entry_to_a_foreign_key_is_set_aside_and_blocks_nothing(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    assert run(runner, vault_dir, "ingest", str(make_pdf(tmp_path / "a.pdf", "a"))).exit_code == 0
    _, attacker = crypto.generate_identity()
    foreign = _write_raw(vault_dir, tmp_path, attacker, "foreign.pdf")

    result = run(runner, vault_dir, "list", "--json", env=ENV)
    assert result.exit_code == 4, result.output
    assert listed(result) == ["a.pdf"]
    assert foreign[:12] in result.stderr and "set aside" in result.stderr

    again = run(runner, vault_dir, "list", "--json", env=ENV)
    assert again.exit_code == 0 and listed(again) == ["a.pdf"]
    assert run(runner, vault_dir, "verify").exit_code == 0


def test_a_forged_entry_is_never_listed_or_signed(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    """Written with only keys/data.pub, as from a remote or a copied folder."""
    recipient = (vault_dir / "keys" / "data.pub").read_text().strip()
    forged = _write_raw(vault_dir, tmp_path, recipient, "court.pdf")
    assert run(runner, vault_dir, "ingest", str(make_pdf(tmp_path / "a.pdf", "a"))).exit_code == 0

    result = run(runner, vault_dir, "list", "--json", env=ENV)
    assert result.exit_code == 4, result.output
    assert listed(result) == ["a.pdf"]
    assert forged[:12] in result.stderr
    search = run(runner, vault_dir, "search", "court", "--json", env=ENV)
    assert json.loads(search.stdout) == []
    status = run(runner, vault_dir, "status")
    assert "set aside" in status.output


def test_an_unlocked_ingest_stores_then_names_what_it_set_aside(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    recipient = (vault_dir / "keys" / "data.pub").read_text().strip()
    forged = _write_raw(vault_dir, tmp_path, recipient, "court.pdf")
    source = make_pdf(tmp_path / "a.pdf", "a")
    result = run(runner, vault_dir, "ingest", str(source), env=ENV)
    assert result.exit_code == 4, result.output
    assert "Stored 1 document" in result.stderr and forged[:12] in result.stderr
    assert listed(run(runner, vault_dir, "list", "--json", env=ENV)) == ["a.pdf"]


def test_status_counts_only_genuine_journal_entries_as_waiting(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    """A forged entry (written with the public key only) is not a document
    waiting to be checked: status and the report show it as untrusted."""
    recipient = (vault_dir / "keys" / "data.pub").read_text().strip()
    _write_raw(vault_dir, tmp_path, recipient, "court.pdf")
    assert run(runner, vault_dir, "ingest", str(make_pdf(tmp_path / "a.pdf", "a"))).exit_code == 0

    found = json.loads(run(runner, vault_dir, "status", "--json").stdout)
    assert (found["documents"], found["documents_unchecked"]) == (1, 1)
    assert found["documents_untrusted"] == 1
    assert any("not signed" in warning for warning in found["warnings"])
    text = run(runner, vault_dir, "status").output
    assert "The vault holds 1 document (1 of them stored since" in text
    assert "1 more are untrusted" in text
    report = tmp_path / "report.html"
    assert run(runner, vault_dir, "report", "--out", str(report)).exit_code == 0
    html = report.read_text()
    assert "holds 1 document " in html and "1 journal entries" in html
