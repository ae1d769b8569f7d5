"""vault edit: corrections are signed, audited, and survive a catalog rebuild."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import PASSPHRASE, make_pdf
from vault.cli import cli
from vault.repository import Vault

ENV = {"VAULT_PASSPHRASE": PASSPHRASE}


def test_edit_type_family_and_fields(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    src = make_pdf(tmp_path / "order.pdf", "order")
    base = ["--vault", str(vault_dir)]
    stored = runner.invoke(cli, [*base, "ingest", str(src)], env=ENV)
    doc_id = stored.output.split()[0]
    result = runner.invoke(
        cli,
        [*base, "edit", doc_id, "--type", "court-order", "--family", "F-0017",
         "--field", "case_number=NT26P00412"],
        env=ENV,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = json.loads(runner.invoke(cli, [*base, "show", doc_id, "--json"], env=ENV).stdout)
    assert (shown["doc_type"], shown["family"]) == ("court-order", "F-0017")
    assert shown["fields"]["case_number"] == "NT26P00412"

    removed = runner.invoke(
        cli, [*base, "edit", doc_id, "--no-family", "--field", "case_number="], env=ENV
    )
    assert removed.exit_code == 0, removed.output

    vault = Vault.open(vault_dir)
    vault.unlock(PASSPHRASE)
    assert len(list(vault.manifests.ids())) == 1  # old manifests removed
    vault.rebuild_catalog()
    row = vault.document(doc_id)
    assert (row["doc_type"], row["family"]) == ("court-order", None)
    assert "case_number" not in row["fields"]
    assert [e.event for e in vault.audit.entries()].count("edit") == 2
    assert vault.verify().ok


def test_edit_needs_a_change(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    base = ["--vault", str(vault_dir)]
    doc_id = runner.invoke(
        cli, [*base, "ingest", str(make_pdf(tmp_path / "a.pdf", "a"))], env=ENV
    ).output.split()[0]
    result = runner.invoke(cli, [*base, "edit", doc_id], env=ENV)
    assert result.exit_code == 2 and "nothing to change" in result.output
    bad = runner.invoke(cli, [*base, "edit", doc_id, "--field", "novalue"], env=ENV)
    assert bad.exit_code == 2 and "NAME=VALUE" in bad.output
