"""Remote verification and repair against a local-folder remote, real rclone."""

from __future__ import annotations

import random
from pathlib import Path

from sync.backup import sync_remote
from sync.check import check_remote, sample
from sync.repair import repair_remote
from tests.sync.remote_folder import files_in, missing_from
from vault.repository import Vault


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def first_object(folder: Path) -> str:
    return next(p for p in sorted(files_in(folder)) if p.startswith("objects/"))


def test_intact_remote_passes(local_remote: tuple[Vault, str, Path]) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    sizes = check_remote(vault, name, str(folder))
    assert sizes.ok and sizes.checked >= 6 and sizes.read == 0
    full = check_remote(vault, name, str(folder), read_data=1.0)
    assert full.ok and full.read == full.checked  # the catalog pair is hashed too


def test_flipped_byte_found_by_read_data_and_repaired(
    local_remote: tuple[Vault, str, Path],
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    victim = first_object(folder)
    flip_byte(folder / victim)
    assert check_remote(vault, name, str(folder)).ok  # same size: only reading finds it
    found = check_remote(vault, name, str(folder), read_data=1.0)
    assert [(p.id, p.problem) for p in found.problems] == [(victim.rsplit("/", 1)[1], "corrupt")]
    result = repair_remote(vault, name, str(folder))
    assert result.ok and result.uploaded == [victim] and not result.restored
    assert check_remote(vault, name, str(folder), read_data=1.0).ok


def test_missing_remote_object_is_reported_and_resent(
    local_remote: tuple[Vault, str, Path],
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    victim = first_object(folder)
    (folder / victim).unlink()
    found = check_remote(vault, name, str(folder))
    assert [(p.path, p.problem) for p in found.problems] == [(victim, "missing")]
    assert repair_remote(vault, name, str(folder)).uploaded == [victim]
    assert not missing_from(folder)


def test_bad_local_object_is_restored_from_the_remote(
    local_remote: tuple[Vault, str, Path],
) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    stored = sorted(p for p in files_in(folder) if p.startswith(("objects/", "manifests/")))
    corrupt, gone = stored[:2]
    flip_byte(vault.root / corrupt)
    (vault.root / gone).unlink()
    assert not vault.verify().ok
    result = repair_remote(vault, name, str(folder))
    assert result.ok and sorted(result.restored) == sorted([corrupt, gone])
    assert (vault.root / corrupt).read_bytes() == (folder / corrupt).read_bytes()
    assert vault.verify().ok


def test_damaged_on_both_sides_is_reported(local_remote: tuple[Vault, str, Path]) -> None:
    vault, name, folder = local_remote
    sync_remote(vault, name, str(folder))
    victim = first_object(folder)
    flip_byte(folder / victim)
    flip_byte(vault.root / victim)
    result = repair_remote(vault, name, str(folder))
    assert not result.ok and [p.path for p in result.unrepaired] == [victim]


def test_empty_remote_fails_verification(local_remote: tuple[Vault, str, Path]) -> None:
    vault, name, folder = local_remote
    result = check_remote(vault, name, str(folder))
    assert not result.ok and "head.json" in {p.path for p in result.problems}


def test_subset_samples_randomly() -> None:
    paths = [f"objects/{n:02d}/{n}" for n in range(100)]
    first = sample(paths, 0.1, random.Random(1))
    second = sample(paths, 0.1, random.Random(2))
    assert len(first) == len(second) == 10 and first != second
    assert sample(paths[:3], 0.1) and len(sample(paths, 1.0)) == 100
