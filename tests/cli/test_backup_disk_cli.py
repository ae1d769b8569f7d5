"""A folder remote (a USB disk) marked with the vault id: an unplugged disk is
said in plain words (exit 5) and its folder is never made again on this
computer's own disk; `remote add` refuses a folder that does not exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sync.backup import sync_remote
from tests.conftest import PASSPHRASE
from tests.sync.conftest import store_documents
from tests.sync.remote_folder import files_in
from vault.cli import cli
from vault.errors import RemoteError
from vault.repository import Vault

MARKER = "vault-backup.txt"


def run(
    runner: CliRunner, vault_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Result:
    result = runner.invoke(cli, ["--vault", str(vault_dir), *args], env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def errors(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("vault: error:")]


@pytest.fixture
def synced(runner: CliRunner, vault_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A vault with two documents backed up to the folder remote 'usb'."""
    store_documents(vault_dir, 2, tmp_path / "inbox")
    folder = tmp_path / "usb"
    added = run(runner, vault_dir, "remote", "add", "usb", str(folder), "--create")
    assert added.exit_code == 0, added.output
    assert run(runner, vault_dir, "sync", "usb").exit_code == 0
    return vault_dir, folder


def test_remote_add_refuses_a_missing_folder_unless_asked_to_create_it(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "usb"
    refused = run(runner, vault_dir, "remote", "add", "usb", str(folder))
    assert refused.exit_code == 2
    assert errors(refused) == [f"vault: error: the folder {folder} does not exist"]
    assert "--create" in refused.stderr and "plug the backup disk in" in refused.stderr
    assert (
        not folder.exists()
        and json.loads(run(runner, vault_dir, "remote", "list", "--json").stdout) == []
    )

    # --create makes the last folder only: a missing disk's mount point is not made either.
    deeper = tmp_path / "STICK" / "vault"
    refused = run(runner, vault_dir, "remote", "add", "usb", str(deeper), "--create")
    assert refused.exit_code == 2 and "plugged in" in refused.stderr
    assert not (tmp_path / "STICK").exists()

    added = run(runner, vault_dir, "remote", "add", "usb", str(folder), "--create")
    assert added.exit_code == 0, added.output
    vault_id = Vault.open(vault_dir).vault_id
    assert f"vault id: {vault_id}" in (folder / MARKER).read_text()
    assert (folder / MARKER).stat().st_mode & 0o077 == 0


def test_an_unplugged_disk_is_said_and_its_folder_never_made_again(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, folder = synced
    folder.rename(tmp_path / "usb-unplugged")
    with_key = {"VAULT_PASSPHRASE": PASSPHRASE}
    for args in (
        ["sync"],
        ["sync", "usb", "--full"],
        ["verify", "--remote", "usb"],
        ["repair", "usb"],
        ["drill", "usb"],
        ["recover", "--from", str(folder), "--to", str(tmp_path / "new")],
    ):
        result = run(runner, vault_dir, *args, env=with_key)
        assert result.exit_code == 5, (args, result.output)
        assert len(errors(result)) == 1, (args, result.stderr)
        assert "not plugged in" in result.stderr or "is not there" in result.stderr, args
        assert "plug the" in result.stderr and "sent" not in result.stdout
        assert not folder.exists(), args  # never made again on this computer's disk
    message = errors(run(runner, vault_dir, "sync"))[0]
    assert message == (
        f"vault: error: the backup disk of remote 'usb' is not plugged in: "
        f"the folder {folder} is not there"
    )


def test_an_empty_mount_point_is_not_taken_for_the_disk(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path
) -> None:
    """The disk's folder is there but empty (the mount point of an unplugged disk)."""
    vault_dir, folder = synced
    folder.rename(tmp_path / "usb-unplugged")
    folder.mkdir()
    for args in (["sync"], ["verify", "--remote", "usb"]):
        result = run(runner, vault_dir, *args)
        assert result.exit_code == 5 and "not plugged in" in result.stderr, args
        assert list(folder.iterdir()) == []  # nothing written there


def test_another_vaults_disk_is_refused(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, folder = synced
    (folder / MARKER).write_text("vault id: 0123456789abcdef\n")
    result = run(runner, vault_dir, "sync")
    assert result.exit_code == 5 and "the backup of another vault" in result.stderr
    other = tmp_path / "other"
    other.mkdir()
    (other / MARKER).write_text("vault id: 0123456789abcdef\n")
    refused = run(runner, vault_dir, "remote", "add", "other", str(other))
    assert refused.exit_code == 2 and "another vault" in refused.stderr


def test_a_folder_remote_from_before_the_marker_is_marked_by_its_next_sync(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, folder = synced
    (folder / MARKER).unlink()  # as an earlier version left it
    checked = run(runner, vault_dir, "verify", "--remote", "usb")
    assert checked.exit_code == 0, checked.output
    assert not (folder / MARKER).exists()  # a check only reads
    store_documents(vault_dir, 1, tmp_path / "more")
    result = run(runner, vault_dir, "sync")
    assert result.exit_code == 0, result.output
    assert "marked the folder as this vault's backup" in result.stderr
    assert Vault.open(vault_dir).vault_id in (folder / MARKER).read_text()

    # An unmarked folder added (by hand, or an earlier version) and never synced to.
    fresh = tmp_path / "second"
    fresh.mkdir()
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.config["remotes"]["second"] = str(fresh)
        from vault.config import write_config

        write_config(vault.layout, vault.config)
    first = run(runner, vault_dir, "sync", "second")
    assert first.exit_code == 0, first.output
    assert (fresh / MARKER).exists() and "head.json" in files_in(fresh)


def test_a_backup_made_before_the_marker_still_recovers(
    runner: CliRunner, synced: tuple[Path, Path], tmp_path: Path
) -> None:
    vault_dir, folder = synced
    (folder / MARKER).unlink()
    dest = tmp_path / "new"
    result = run(
        runner,
        vault_dir,
        "recover",
        "--from",
        str(folder),
        "--to",
        str(dest),
        "--quiet",
        env={"VAULT_PASSPHRASE": PASSPHRASE},
    )
    assert result.exit_code == 0, result.output
    assert (dest / "config.json").exists()


def test_a_disk_pulled_out_mid_sync_never_passes_for_a_backup(
    runner: CliRunner,
    vault_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """rclone makes the folder again on this computer's disk when the disk goes
    mid-copy; that folder gets no head and is refused by the next sync."""
    store_documents(vault_dir, 2, tmp_path / "inbox", size=400_000)
    folder = tmp_path / "usb"
    assert run(runner, vault_dir, "remote", "add", "usb", str(folder), "--create").exit_code == 0
    monkeypatch.setenv("RCLONE_BWLIMIT", "200k")  # slow enough to be pulled out part-way
    away = tmp_path / "usb-unplugged"

    def unplug(stats: dict[str, object]) -> None:
        if folder.exists() and not away.exists() and stats.get("bytes"):
            folder.rename(away)

    with pytest.raises(RemoteError):
        sync_remote(Vault.open(vault_dir), "usb", str(folder), on_stats=unplug)
    assert away.exists() and not (folder / "head.json").exists()
    monkeypatch.delenv("RCLONE_BWLIMIT")
    again = run(runner, vault_dir, "sync")
    assert again.exit_code == 5 and "not plugged in" in again.stderr, again.output
    assert not (folder / MARKER).exists() and not (folder / "head.json").exists()


def test_a_disk_unplugged_before_its_first_sync_is_not_replaced_by_its_mount_point(
    runner: CliRunner, vault_dir: Path, tmp_path: Path
) -> None:
    """Added (and marked) today, unplugged before the first sync: the empty
    mount point left behind is not taken for a new backup folder."""
    store_documents(vault_dir, 1, tmp_path / "inbox")
    folder = tmp_path / "usb"
    folder.mkdir()
    assert run(runner, vault_dir, "remote", "add", "usb", str(folder)).exit_code == 0
    folder.rename(tmp_path / "usb-unplugged")
    folder.mkdir()  # the mount point, empty
    result = run(runner, vault_dir, "sync", "usb")
    assert result.exit_code == 5 and "not plugged in" in result.stderr, result.output
    assert list(folder.iterdir()) == []
    assert run(runner, vault_dir, "remote", "remove", "usb").exit_code == 0
    assert "usb" not in Vault.open(vault_dir).config.get("marked_remotes", [])
