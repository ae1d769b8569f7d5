"""A backup's catalog: a base and small deltas, sent a day at a time and recovered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import PASSPHRASE
from tests.sync.conftest import store_documents
from vault.cli import cli
from vault.head import parse_head


def run(runner: CliRunner, vault_dir: Path, *args: str) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _catalog_files(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in (folder / "catalog").iterdir()}


def _named(folder: Path) -> set[str]:
    head, _ = parse_head((folder / "head.json").read_bytes())
    return set(head.catalog_files())


@pytest.fixture
def synced(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    monkeypatch.setenv("VAULT_PASSPHRASE", PASSPHRASE)
    store_documents(vault_dir, 12, tmp_path / "inbox", size=20_000)
    assert run(runner, vault_dir, "list").exit_code == 0  # folds them in
    folder = tmp_path / "usb"
    assert run(runner, vault_dir, "remote", "add", "usb", str(folder), "--create").exit_code == 0
    assert run(runner, vault_dir, "sync").exit_code == 0
    return vault_dir, folder


def test_a_day_of_post_sends_a_small_delta_not_the_catalog(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, folder = synced
    before = _catalog_files(folder)
    store_documents(vault_dir, 3, tmp_path / "day", size=20_000)
    listed = json.loads(run(runner, vault_dir, "list", "--json").stdout)
    doc_id = listed[0]["id"]
    assert run(runner, vault_dir, "edit", doc_id, "--family", "F1234").exit_code == 0
    assert run(runner, vault_dir, "search", "letter").exit_code == 0
    assert run(runner, vault_dir, "sync").exit_code == 0
    after = _catalog_files(folder)
    new = {name: size for name, size in after.items() if name not in before}
    assert set(before) <= set(after)  # the base and earlier deltas stay
    assert len(new) == 4  # two deltas (the fold, the edit), each an .age and an .idx
    assert sum(new.values()) < 16_000, new
    assert set(after) == _named(folder)


def test_compact_replaces_the_deltas_by_one_base_on_the_backup_and_recovery_reads_it(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, folder = synced
    for day in range(2):
        store_documents(vault_dir, 2, tmp_path / f"day{day}")
        assert run(runner, vault_dir, "list").exit_code == 0
        assert run(runner, vault_dir, "sync").exit_code == 0
    assert len(_named(folder)) > 2
    dest = tmp_path / "recovered-deltas"
    recovered = runner.invoke(cli, ["recover", "--from", str(folder), "--to", str(dest)])
    assert recovered.exit_code == 0, recovered.output
    expected = json.loads(run(runner, vault_dir, "list", "--json").stdout)
    assert json.loads(run(runner, dest, "list", "--json").stdout) == expected
    assert run(runner, vault_dir, "sync", "--compact").exit_code == 0
    assert len(_named(folder)) == 2
    assert set(_catalog_files(folder)) == _named(folder)  # the old deltas were removed
    dest = tmp_path / "recovered-base"
    recovered = runner.invoke(cli, ["recover", "--from", str(folder), "--to", str(dest)])
    assert recovered.exit_code == 0, recovered.output
    assert json.loads(run(runner, dest, "list", "--json").stdout) == expected


def test_a_delta_swapped_on_the_backup_is_refused_at_recovery(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, folder = synced
    for day in range(2):
        store_documents(vault_dir, 1, tmp_path / f"day{day}")
        assert run(runner, vault_dir, "list").exit_code == 0
        assert run(runner, vault_dir, "sync").exit_code == 0
    head, _ = parse_head((folder / "head.json").read_bytes())
    first, second = (folder / "catalog" / f"{age}.age" for age, _, _ in head.deltas[-2:])
    first_bytes = first.read_bytes()
    first.write_bytes(second.read_bytes())
    second.write_bytes(first_bytes)
    dest = tmp_path / "recovered"
    refused = runner.invoke(cli, ["recover", "--from", str(folder), "--to", str(dest)])
    assert refused.exit_code == 4, refused.output
    assert "does not match the head" in refused.stderr
    assert not dest.exists()


@pytest.mark.parametrize("where", ["backup", "here"])
def test_a_base_damaged_in_its_age_header_is_corruption_not_a_wrong_passphrase(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path, where: str
) -> None:
    vault_dir, folder = synced
    damaged = folder if where == "backup" else vault_dir
    head, _ = parse_head((damaged / "head.json").read_bytes())
    base = damaged / "catalog" / f"{head.catalog}.age"
    data = bytearray(base.read_bytes())
    data[100:102] = b"xx"  # inside the recipient stanza: no identity opens it
    base.write_bytes(bytes(data))
    if where == "backup":
        dest = tmp_path / "recovered"
        refused = runner.invoke(cli, ["recover", "--from", str(folder), "--to", str(dest)])
        assert not dest.exists()
    else:  # a new computer: no database, the catalog is made from the chain
        for path in (vault_dir / "local").glob("catalog*"):
            path.unlink()
        refused = run(runner, vault_dir, "list")
    assert refused.exit_code == 4, refused.output
    assert "does not match the head" in refused.stderr
    assert "passphrase" not in refused.stderr
    assert "rebuild-catalog" in refused.stderr  # how to go on


def test_a_backup_missing_a_delta_is_recovered_from_the_manifests_with_a_warning(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, folder = synced
    store_documents(vault_dir, 1, tmp_path / "day", size=64)
    assert run(runner, vault_dir, "list").exit_code == 0
    assert run(runner, vault_dir, "sync").exit_code == 0
    head, _ = parse_head((folder / "head.json").read_bytes())
    (folder / "catalog" / f"{head.deltas[-1][0]}.age").unlink()
    dest = tmp_path / "recovered"
    done = runner.invoke(cli, ["recover", "--from", str(folder), "--to", str(dest)])
    assert done.exit_code == 0, done.output
    assert "lacks 1 of the catalog files" in done.stderr
    expected = json.loads(run(runner, vault_dir, "list", "--json").stdout)
    assert json.loads(run(runner, dest, "list", "--json").stdout) == expected
