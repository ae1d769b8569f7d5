"""The key register's own logic: the order keys are tried in, labels, and
what a rotation will find in it (no CLI: see tests/cli/test_personal_keys_cli.py)."""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE, TEST_WORK_FACTOR
from vault import key_register, scrypt_file
from vault.errors import IntegrityError, UsageError, WrongKeyError
from vault.repository import Vault

DEPUTY = "Deputy Stays 77"


@pytest.fixture(autouse=True)
def cheap_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        scrypt_file, "encrypt", functools.partial(scrypt_file.encrypt, work_factor=TEST_WORK_FACTOR)
    )


def test_the_most_recently_used_key_is_tried_first(
    unlocked_vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = unlocked_vault
    key = vault.unlocked_key()
    key_register.add_key(vault.key_paths, vault.config, key, "deputy", DEPUTY)
    tried: list[str] = []
    real = key_register.open_key_file

    def spy(path: Path, *args: object, **kwargs: object) -> object:
        tried.append(path.name)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(key_register, "open_key_file", spy)
    # The coordinator unlocked today (the fixture); the deputy never: coordinator first.
    assert key_register.unlock_any(vault.key_paths, vault.config, DEPUTY)[1] == "deputy"
    assert tried == ["passphrase.age", "deputy.age"]
    register = key_register.load_register(vault.key_paths, vault.config, key)
    deputy = register.find("deputy")
    coordinator = register.find("coordinator")
    assert deputy is not None and coordinator is not None
    register.put(replace(deputy, last_used="2999-01-01"))
    key_register.save_register(vault.key_paths, register, key)
    tried.clear()
    assert key_register.unlock_any(vault.key_paths, vault.config, PASSPHRASE)[1] == "coordinator"
    assert tried == ["deputy.age", "passphrase.age"]
    tried.clear()
    with pytest.raises(WrongKeyError, match="opens none of the 2 keys"):
        key_register.unlock_any(vault.key_paths, vault.config, "Nobody Knows 55")
    assert len(tried) == 2


def test_the_register_is_ready_for_a_rotation(unlocked_vault: Vault) -> None:
    vault = unlocked_vault
    key = vault.unlocked_key()
    key_register.add_key(vault.key_paths, vault.config, key, "deputy", DEPUTY)
    register = key_register.load_register(vault.key_paths, vault.config, key)
    assert register.rotated is None
    assert {k.wraps for k in register.keys} == {vault.vault_id}
    assert {k.file for k in register.keys} == {"passphrase.age", "people/deputy.age"}


@pytest.mark.parametrize("label", ["", "a b", "x" * 25, "-a", "a-", "a/b", "..", "ü"])
def test_labels_that_are_refused(label: str) -> None:
    with pytest.raises(UsageError):
        key_register.check_label(label)


def test_labels_are_lower_case() -> None:
    assert key_register.check_label("Deputy-2") == "deputy-2"


def test_a_register_naming_a_key_emergency_is_damaged(unlocked_vault: Vault) -> None:
    vault = unlocked_vault
    key = vault.unlocked_key()
    key_register.add_key(vault.key_paths, vault.config, key, "deputy", DEPUTY)
    register = key_register.load_register(vault.key_paths, vault.config, key)
    deputy = register.find("deputy")
    assert deputy is not None
    register.put(replace(deputy, label="emergency", file="people/emergency.age"))
    key_register.save_register(vault.key_paths, register, key)  # as one holding the key could
    with pytest.raises(IntegrityError, match="is damaged"):
        key_register.read_register(vault.key_paths, vault.config)
