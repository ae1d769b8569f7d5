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


def _garble_table(vault_dir: Path, table: str) -> None:
    """Garble the page holding ``table`` in this computer's database (a bad
    sector, a stray write): every other page stays as it was."""
    from vault import catalog_db
    from vault.repository import Vault

    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        key = vault.unlocked_key().catalog_key
    path = catalog_db.current(vault_dir / "local")
    assert path is not None
    conn = catalog_db.open_database(path, key, read_only=True)
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    conn.close()
    data = bytearray(path.read_bytes())
    offset = (int(root) - 1) * page_size + 100
    data[offset : offset + 64] = bytes(b ^ 0xFF for b in data[offset : offset + 64])
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("table", ["documents", "meta"])
def test_a_damaged_page_of_the_database_is_one_line_never_a_traceback(
    runner: CliRunner, filled: Path, table: str
) -> None:
    expected = _names(runner, filled)
    _garble_table(filled, table)
    listed = run(runner, filled, "list")
    if table == "meta":  # read at open: the database is made again from the head's chain
        assert listed.exit_code == 0, listed.output
        assert _names(runner, filled) == expected
        return
    assert listed.exit_code == 4, listed.output
    assert "the catalog on this computer (local/catalog-" in listed.stderr
    assert "is damaged" in listed.stderr
    assert "vault rebuild-catalog" in listed.stderr
    assert run(runner, filled, "rebuild-catalog").exit_code == 0
    assert _names(runner, filled) == expected


def test_a_save_cut_short_is_not_read_as_it_is_on_a_read_only_vault(
    runner: CliRunner, filled: Path, tmp_path: Path
) -> None:
    from tests.mounts import read_only_view
    from vault import catalog_db
    from vault.repository import Vault

    expected = _names(runner, filled)
    vault = Vault.open(filled)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        key = vault.unlocked_key().catalog_key
    path = catalog_db.current(filled / "local")
    assert path is not None
    conn = catalog_db.open_database(path, key)
    conn.execute("PRAGMA cache_size = 2")  # pages written to the file before the commit
    conn.execute("UPDATE documents SET name = 'half-saved'")
    conn.execute("CREATE TABLE spill (x TEXT)")
    conn.executemany("INSERT INTO spill VALUES (?)", [("x" * 4000,)] * 50)
    crashed = tmp_path / "crashed"  # the files as a killed save leaves them
    crashed.mkdir()
    for name in (path.name, f"{path.name}-journal"):
        shutil.copy2(path.parent / name, crashed / name)
    conn.rollback()
    conn.close()
    for copy in crashed.iterdir():
        shutil.copy2(copy, path.parent / copy.name)
    with read_only_view(filled.parent, tmp_path / "ro") as ro:
        assert _names(runner, ro / filled.name) == expected
    assert _names(runner, filled) == expected  # a writer rolls the save back


@pytest.mark.parametrize("harm", ["garbled", "deleted"])
def test_verify_checks_the_catalog_files_the_head_names(
    runner: CliRunner, filled: Path, harm: str
) -> None:
    head = json.loads((filled / "head.json").read_text())
    name = f"{head['deltas'][-1][0]}.age"
    path = filled / "catalog" / name
    if harm == "garbled":  # same size, other bytes: what a sync would send on
        data = bytearray(path.read_bytes())
        data[-20:-18] = bytes(b ^ 0xFF for b in data[-20:-18])
        path.write_bytes(bytes(data))
    else:
        path.unlink()
    checked = run(runner, filled, "verify")
    assert checked.exit_code == 4, checked.output
    problem = "corrupt" if harm == "garbled" else "missing"
    assert f"{problem}: catalog/{name}" in checked.stdout


def test_a_lost_database_and_a_lost_manifest_never_drop_the_document(
    runner: CliRunner, filled: Path, tmp_path: Path
) -> None:
    """A delta's row takes its page text from its manifest: with the database
    and that manifest both gone, the catalog is not rebuilt without the document
    (the next sync would take it out of the backup too). The command stops
    (exit 4) naming what is missing; once the manifest is back, all is there."""
    from vault.repository import Vault

    vault = Vault.open(filled)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        src = tmp_path / "note.txt"
        src.write_text("a note")
        doc_id = vault.store_file(
            src, name="note.txt", media_type="text/plain", text=["Zebedee visits on Tuesdays"]
        ).doc_id
        vault.fold_journal()  # saved as a delta: its row without the text
        manifest = vault.manifests.path(str(vault.catalog.get(doc_id)["manifest"]))
    expected = _names(runner, filled)
    kept = tmp_path / "manifest"
    shutil.move(manifest, kept)
    for path in (filled / "local").glob("catalog-*.db"):
        path.unlink()
    head = (filled / "head.json").read_bytes()
    refused = run(runner, filled, "list")
    assert refused.exit_code == 4, refused.output
    assert f"of document {doc_id} is missing" in refused.stderr
    assert "vault repair" in refused.stderr
    assert (filled / "head.json").read_bytes() == head  # no new catalog without it
    shutil.move(kept, manifest)  # what 'vault repair NAME' does
    assert _names(runner, filled) == expected
    found = run(runner, filled, "search", "Zebedee", "--json")
    assert found.exit_code == 0, found.output
    assert [d["id"] for d in json.loads(found.stdout)] == [doc_id]  # its text, from the manifest
