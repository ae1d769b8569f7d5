"""Remotes in config.json: names, paths, no credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.remotes import add_remote, remotes, remove_remote, resolve
from vault.errors import NotFoundError, UsageError
from vault.repository import Vault


@pytest.fixture
def vault(vault_dir: Path) -> Vault:
    return Vault.open(vault_dir)


def test_add_list_remove(vault: Vault, tmp_path: Path) -> None:
    with vault.lock:
        assert add_remote(vault, "usb", str(tmp_path / "b"), create=True) == str(tmp_path / "b")
        add_remote(vault, "offsite", "offsite:bucket/vault")
    assert remotes(Vault.open(vault.root).config) == {
        "usb": str(tmp_path / "b"),
        "offsite": "offsite:bucket/vault",
    }
    assert list(resolve(vault.config, None)) == ["usb", "offsite"]
    with vault.lock:
        remove_remote(vault, "usb")
    assert list(remotes(Vault.open(vault.root).config)) == ["offsite"]
    with pytest.raises(NotFoundError):
        resolve(vault.config, "usb")


def test_relative_local_path_is_made_absolute(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with vault.lock:
        assert add_remote(vault, "usb", "backup", create=True) == str(tmp_path / "backup")


@pytest.mark.parametrize(
    "path",
    [
        ":s3,access_key_id=AK,secret_access_key=SK:bucket",
        "offsite,secret_access_key=SK:bucket",
        "-x",
    ],
)
def test_paths_with_credentials_or_flags_are_refused(vault: Vault, path: str) -> None:
    with vault.lock, pytest.raises(UsageError):
        add_remote(vault, "bad", path)


def test_bad_names_and_duplicates(vault: Vault, tmp_path: Path) -> None:
    with vault.lock:
        with pytest.raises(UsageError):
            add_remote(vault, "no spaces", str(tmp_path / "a"))
        add_remote(vault, "usb", str(tmp_path / "a"), create=True)
        with pytest.raises(UsageError, match="already"):
            add_remote(vault, "usb", str(tmp_path / "b"), create=True)
        with pytest.raises(UsageError, match="overlaps"):
            add_remote(vault, "inside", str(vault.root / "backup"))


def test_no_remotes_is_a_usage_error(vault: Vault) -> None:
    with pytest.raises(UsageError, match="no remote"):
        resolve(vault.config, None)
