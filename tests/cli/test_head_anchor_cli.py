"""A deleted, damaged, forged or older head.json is never rebuilt silently:
the vault says so (exit 4) until ``vault rebuild-catalog``, which works
whatever state head.json is in, keeps the highest authentic state number and
the audit anchor, reports what the last state had that is gone, and keeps
the newest version of a document after an interrupted edit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import PASSPHRASE, make_pdf
from vault.cli import cli
from vault.repository import Vault

ENV = {"VAULT_PASSPHRASE": PASSPHRASE}


def run(runner: CliRunner, vault_dir: Path, *args: str):  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=ENV)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result


def _stored(vault_dir: Path, tmp_path: Path, count: int) -> list[str]:
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        ids = [
            vault.store_file(
                make_pdf(tmp_path / f"d{n}.pdf", f"document {n}"),
                name=f"d{n}.pdf",
                media_type="application/pdf",
            ).doc_id
            for n in range(count)
        ]
        vault.fold_journal()
    return ids


def _seq(vault_dir: Path) -> int:
    return int(json.loads((vault_dir / "head.json").read_text())["seq"])


def _listed(runner: CliRunner, vault_dir: Path) -> list[str]:
    result = run(runner, vault_dir, "list", "--json")
    assert result.exit_code == 0, result.output
    return sorted(row["id"] for row in json.loads(result.stdout))


def _manifest_of(vault_dir: Path, doc_id: str) -> str:
    vault = Vault.open(vault_dir)
    vault.unlock(PASSPHRASE)
    return str(vault.document(doc_id)["manifest"])


def test_deleted_head_is_exit_4_until_rebuilt_and_the_rebuild_names_what_is_gone(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    kept, lost = _stored(vault_dir, tmp_path, 2)
    seq = _seq(vault_dir)
    gone = _manifest_of(vault_dir, lost)
    (vault_dir / "manifests" / gone[:2] / gone).unlink()
    (vault_dir / "head.json").unlink()

    for args in (["list"], ["search", "document"], ["verify"]):
        result = run(runner, vault_dir, *args)
        assert result.exit_code == 4, (args, result.output)
    listed = run(runner, vault_dir, "list")
    assert "vault: error: the vault head (head.json) is missing" in listed.output
    status = run(runner, vault_dir, "status", "--json")
    assert "head.json) is missing" in json.loads(status.stdout)["warnings"][0]
    assert "rebuild-catalog" in listed.output
    assert not (vault_dir / "head.json").exists()  # nothing was rebuilt behind the user's back

    rebuilt = run(runner, vault_dir, "rebuild-catalog")
    assert rebuilt.exit_code == 4, rebuilt.output
    assert f"missing: {gone}" in rebuilt.output
    assert _seq(vault_dir) == seq + 1  # the number goes on, it does not restart at 1
    assert _listed(runner, vault_dir) == [kept]


def test_head_and_its_copy_in_the_vault_deleted_is_still_seen(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    _stored(vault_dir, tmp_path, 1)
    seq = _seq(vault_dir)
    (vault_dir / "head.json").unlink()
    (vault_dir / "anchor.json").unlink()
    for manifest in (vault_dir / "manifests").rglob("*"):
        if manifest.is_file():
            manifest.unlink()  # not even a manifest left to give it away
    result = run(runner, vault_dir, "list")
    assert result.exit_code == 4, result.output
    assert "head.json) is missing" in result.output
    rebuilt = run(runner, vault_dir, "rebuild-catalog")
    assert rebuilt.exit_code == 4, rebuilt.output  # the last state had a document
    assert "had 1 documents" in rebuilt.output or "missing:" in rebuilt.output
    assert _seq(vault_dir) == seq + 1


def test_deleted_head_does_not_hide_a_cut_audit_log(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    _stored(vault_dir, tmp_path, 1)
    audit = vault_dir / "audit.log"
    lines = audit.read_bytes().splitlines(keepends=True)
    audit.write_bytes(b"".join(lines[:-1]))  # the last entry cut off
    (vault_dir / "head.json").unlink()
    result = run(runner, vault_dir, "audit", "verify")
    assert result.exit_code == 4, result.output
    assert "missing" in result.output


def _forged_head(vault_dir: Path) -> bytes:
    head = json.loads((vault_dir / "head.json").read_text())
    return json.dumps({**head, "seq": 999, "mac": "0" * 64}).encode()


@pytest.mark.parametrize(
    "damage",
    [
        lambda path, forged: path.unlink(),
        lambda path, forged: path.write_bytes(b"\x00garbage{"),
        lambda path, forged: path.write_bytes(b""),
        lambda path, forged: path.write_bytes(b"[1, 2]"),
        lambda path, forged: path.write_bytes(forged),
        lambda path, forged: (path.unlink(), path.mkdir()),
    ],
    ids=["deleted", "garbage", "empty", "a-list", "forged", "a-folder"],
)
def test_rebuild_catalog_works_whatever_state_the_head_is_in(
    runner: CliRunner,
    vault_dir: Path,
    tmp_path: Path,
    damage,  # type: ignore[no-untyped-def]
) -> None:
    ids = _stored(vault_dir, tmp_path, 2)
    seq = _seq(vault_dir)
    damage(vault_dir / "head.json", _forged_head(vault_dir))
    assert run(runner, vault_dir, "list").exit_code == 4
    rebuilt = run(runner, vault_dir, "rebuild-catalog")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert _seq(vault_dir) == seq + 1  # the highest *authentic* number, not the forged 999
    assert _listed(runner, vault_dir) == sorted(ids)
    assert run(runner, vault_dir, "verify").exit_code == 0
    assert run(runner, vault_dir, "audit", "verify").exit_code == 0


def test_an_older_head_put_back_is_seen(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    _stored(vault_dir, tmp_path, 1)
    old_head = (vault_dir / "head.json").read_bytes()
    more = tmp_path / "more"
    more.mkdir()
    _stored(vault_dir, more, 2)  # d0 is the same document again, d1 is new
    seq = _seq(vault_dir)
    (vault_dir / "head.json").write_bytes(old_head)  # a genuine but older head
    result = run(runner, vault_dir, "list")
    assert result.exit_code == 4, result.output
    assert "older than the last one saved here" in result.output
    assert run(runner, vault_dir, "rebuild-catalog").exit_code == 0
    assert _seq(vault_dir) == seq + 1
    assert len(_listed(runner, vault_dir)) == 2


def test_rebuild_keeps_the_newest_version_after_an_interrupted_edit(
    runner: CliRunner, vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit killed after saving the new manifest, before removing the old:
    both versions are there. The test makes sure the old one sorts first."""
    [doc] = _stored(vault_dir, tmp_path, 1)
    vault = Vault.open(vault_dir)
    vault.unlock(PASSPHRASE)
    monkeypatch.setattr(vault.manifests, "remove", lambda object_id: None)  # killed there
    old = vault.document(doc)["manifest"]
    for attempt in range(200):
        new = vault.edit(doc, fields={"case_number": f"NT{attempt}"})["manifest"]
        if new > old:
            break
        vault.manifests.path(new).unlink()  # sorts first: put the catalog back and retry
        vault.rebuild_catalog()
    else:
        pytest.fail("no edit gave a manifest id sorting after the old one")
    assert vault.manifests.exists(old) and vault.manifests.exists(new)
    (vault_dir / "head.json").unlink()
    assert run(runner, vault_dir, "rebuild-catalog").exit_code == 0
    shown = run(runner, vault_dir, "show", doc, "--json")
    assert json.loads(shown.stdout)["fields"] == {"case_number": f"NT{attempt}"}


def test_a_vault_copied_elsewhere_opens(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> None:
    """The anchor outside the vault is per folder: a copy (a restore to a new
    computer or folder) opens as it is."""
    ids = _stored(vault_dir, tmp_path, 1)
    copy = tmp_path / "copy"
    shutil.copytree(vault_dir, copy)
    (copy / "anchor.json").unlink()
    assert _listed(runner, copy) == ids


def test_a_whole_vault_folder_put_back_from_an_older_copy_opens(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    """The user's own restore of the whole folder is consistent: no alarm."""
    first = _stored(vault_dir, tmp_path, 1)
    backup = tmp_path / "backup"
    shutil.copytree(vault_dir, backup)
    more = tmp_path / "more"
    more.mkdir()
    _stored(vault_dir, more, 2)
    shutil.rmtree(vault_dir)
    shutil.copytree(backup, vault_dir)
    assert _listed(runner, vault_dir) == first
