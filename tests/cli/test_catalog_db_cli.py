"""This computer's catalog database through the CLI: put back, lost, damaged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE
from tests.sync.conftest import store_documents
from vault.cli import cli


def run(runner: CliRunner, vault_dir: Path, *args: str) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _names(runner: CliRunner, vault_dir: Path) -> list[str]:
    listed = run(runner, vault_dir, "list", "--json")
    assert listed.exit_code == 0, listed.output
    return sorted(d["name"] for d in json.loads(listed.stdout))


@pytest.fixture
def filled(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("VAULT_PASSPHRASE", PASSPHRASE)
    store_documents(vault_dir, 2, tmp_path / "inbox")
    assert len(_names(runner, vault_dir)) == 2
    return vault_dir


def test_an_older_copy_of_the_database_is_refused_until_rebuilt(
    runner: CliRunner, filled: Path, tmp_path: Path
) -> None:
    local = filled / "local"
    kept = tmp_path / "kept"
    shutil.copytree(local, kept)
    store_documents(filled, 1, tmp_path / "more", size=64)  # not a duplicate
    assert len(_names(runner, filled)) == 3
    for path in kept.glob("catalog*"):
        shutil.copy2(path, local / path.name)
    refused = run(runner, filled, "list")
    assert refused.exit_code == 4, refused.output
    assert "older than the vault's head" in refused.stderr
    assert "vault rebuild-catalog" in refused.stderr
    assert run(runner, filled, "rebuild-catalog").exit_code == 0
    assert len(_names(runner, filled)) == 3


@pytest.mark.parametrize("harm", ["deleted", "garbled"])
def test_a_lost_or_damaged_database_is_made_again_from_the_head(
    runner: CliRunner, filled: Path, harm: str
) -> None:
    expected = _names(runner, filled)
    for path in (filled / "local").glob("catalog-*.db"):
        if harm == "deleted":
            path.unlink()
        else:
            path.write_bytes(b"\0" * path.stat().st_size)
    assert _names(runner, filled) == expected
    audit = run(runner, filled, "audit", "--json")
    assert "rebuild" not in audit.stdout  # from the chain, not the manifests
