"""'vault repair' writes to the remote as 'vault sync' does, so it refuses, as
sync does, a remote path that is the vault folder or inside it (one written
into config.json by hand, or reached through a symbolic link)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.sync.conftest import store_documents
from vault.cli import cli


@pytest.mark.parametrize("where", ["objects", "link/objects", ":local:"])
def test_repair_refuses_a_remote_inside_the_vault(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, where: str
) -> None:
    store_documents(vault_dir, 1, tmp_path / "docs")
    (tmp_path / "link").symlink_to(vault_dir)
    path = {
        "objects": str(vault_dir / "objects"),
        "link/objects": str(tmp_path / "link" / "objects"),
        ":local:": f":local:{vault_dir / 'objects'}",
    }[where]
    config = json.loads((vault_dir / "config.json").read_text())
    config["remotes"] = {"usb": path}
    (vault_dir / "config.json").write_text(json.dumps(config))
    before = sorted(p.relative_to(vault_dir) for p in vault_dir.rglob("*") if p.is_file())

    result = runner.invoke(cli, ["--vault", str(vault_dir), "repair", "usb"])
    assert result.exit_code == 2, result.output
    assert "overlaps the vault folder" in result.output
    after = sorted(p.relative_to(vault_dir) for p in vault_dir.rglob("*") if p.is_file())
    assert [p for p in after if p not in before and p.parts[0] != "tmp"] == []
