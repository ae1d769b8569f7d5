"""README's "Recovering by hand with rclone and age alone", steps 2 to 4,
followed with the real ``age`` command on a copy of a vault: no vault code
reads anything. (``test_readme_recovery.py`` runs the README's commands as
written, from a real remote.)"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.conftest import PASSPHRASE, Template, make_pdf
from tests.integration.agecmd import (
    age_decrypt_with_identity,
    age_decrypt_with_identity_to_file,
    age_decrypt_with_passphrase,
    write_identity_file,
)
from vault.repository import Vault


def _fill(vault_dir: Path, tmp_path: Path) -> dict[str, bytes]:
    originals = {}
    vault = Vault.open(vault_dir)
    with vault.lock:
        vault.unlock(PASSPHRASE)
        for n in range(2):
            src = make_pdf(tmp_path / f"letter-{n}.pdf", f"Manual recovery letter {n}")
            vault.store_file(src, name=src.name, media_type="application/pdf")
            originals[src.name] = src.read_bytes()
        # A document in parts (parts made small here: 64 MiB in real use).
        vault.objects.part_size = 64 * 1024
        large = tmp_path / "recording.bin"
        large.write_bytes(os.urandom(3 * 64 * 1024 + 7))
        vault.store_file(large, name=large.name, media_type="application/octet-stream")
        originals[large.name] = large.read_bytes()
        vault.fold_journal()
    return originals


def _recover(copy: Path, data_key: Path, out: Path) -> dict[str, bytes]:
    recovered = {}
    for manifest_path in sorted(copy.glob("manifests/*/*")):
        record = json.loads(age_decrypt_with_identity(manifest_path, data_key))
        target = out / record["name"]
        content = b""
        for object_id in record["original"].split(","):  # several ids: parts, in order
            age_decrypt_with_identity_to_file(
                copy / "objects" / object_id[:2] / object_id, data_key, target
            )
            content += target.read_bytes()
        recovered[record["name"]] = content
    return recovered


def test_manual_recovery_with_passphrase(vault_dir: Path, tmp_path: Path) -> None:
    originals = _fill(vault_dir, tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(vault_dir, copy)
    secret = age_decrypt_with_passphrase(copy / "keys" / "passphrase.age", PASSPHRASE)
    data_key = write_identity_file(tmp_path / "data-key.txt", secret.decode().strip())
    out = tmp_path / "recovered"
    out.mkdir()
    assert _recover(copy, data_key, out) == originals


def test_manual_recovery_with_emergency_key(
    vault_dir: Path, tmp_path: Path, template_vault: Template
) -> None:
    originals = _fill(vault_dir, tmp_path)
    emergency = write_identity_file(tmp_path / "emergency-key.txt", template_vault.emergency_secret)
    secret = age_decrypt_with_identity(vault_dir / "keys" / "emergency.age", emergency)
    data_key = write_identity_file(tmp_path / "data-key.txt", secret.decode().strip())
    out = tmp_path / "recovered"
    out.mkdir()
    assert _recover(vault_dir, data_key, out) == originals
