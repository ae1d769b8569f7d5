"""An object given new recipients (``vault.rekey``): a header rewritten over
the same payload, or the payload sealed again under a new file key; what
both write opens with the reference ``age`` command for every recipient,
and the vault's own reader reads files of several X25519 stanzas itself."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from tests.integration.agecmd import age_decrypt_with_identity, write_identity_file
from vault import age_x25519, crypto, rekey, scrypt_file
from vault.errors import IntegrityError, WrongKeyError

SIZE = 3 * 64 * 1024 + 17  # several chunks, the last one short


def _object(tmp_path: Path, data: bytes, recipient: str) -> tuple[Path, str]:
    blob = crypto.encrypt_bytes(data, [crypto.parse_recipient(recipient)])
    digest = hashlib.sha256(blob).hexdigest()
    path = tmp_path / digest
    path.write_bytes(blob)
    return path, digest


def _payload(blob: bytes) -> bytes:
    parsed = scrypt_file.read_header(blob[: crypto.MAX_HEADER_BYTES])
    assert parsed is not None
    return blob[parsed[3] :]


@pytest.mark.parametrize("how", [rekey.rewrap, rekey.reseal])
def test_each_recipient_opens_what_is_written_with_age(tmp_path: Path, how: object) -> None:
    data = os.urandom(SIZE)
    data_secret, data_public = crypto.generate_identity()
    level_secret, level_public = crypto.generate_identity()
    path, object_id = _object(tmp_path, data, data_public)
    out = io.BytesIO()
    done = how(path, object_id, out, data_secret, [data_public, level_public])  # type: ignore[operator]
    blob = out.getvalue()
    assert done.id == hashlib.sha256(blob).hexdigest() and done.size == len(blob)
    assert done.old_size == path.stat().st_size
    new = tmp_path / "new.age"
    new.write_bytes(blob)
    for number, secret in enumerate((data_secret, level_secret)):
        key = write_identity_file(tmp_path / f"{number}.key", secret)
        assert age_decrypt_with_identity(new, key) == data
    kept_same = _payload(blob) == _payload(path.read_bytes())
    assert kept_same == (how is rekey.rewrap)  # a rewrap keeps the payload and its file key
    other_secret, _ = crypto.generate_identity()
    with pytest.raises(WrongKeyError):
        crypto.decrypt_bytes(blob, [crypto.parse_identity(other_secret)])


def test_the_vault_reads_a_file_of_several_recipients_itself(
    tmp_path: Path, own_reader_calls: list[bool]
) -> None:
    data = os.urandom(SIZE)
    data_secret, data_public = crypto.generate_identity()
    level_secret, level_public = crypto.generate_identity()
    path, object_id = _object(tmp_path, data, data_public)
    out = io.BytesIO()
    rekey.reseal(path, object_id, out, data_secret, [data_public, level_public])
    new = tmp_path / "new.age"
    new.write_bytes(out.getvalue())
    for secret in (data_secret, level_secret):
        dst = tmp_path / "plain"
        dst.write_bytes(b"")
        written, _ = crypto.decrypt_part(new, dst, 0, [secret])
        assert written == SIZE and dst.read_bytes() == data
    assert own_reader_calls == [True, True]
    with open(new, "rb") as f:
        head = f.read(4096)
    found = age_x25519.unwrap_header(head, level_secret)
    assert found is not None


@pytest.mark.parametrize("how", [rekey.rewrap, rekey.reseal])
def test_a_damaged_or_foreign_object_is_refused(tmp_path: Path, how: object) -> None:
    data_secret, data_public = crypto.generate_identity()
    path, object_id = _object(tmp_path, os.urandom(SIZE), data_public)
    blob = bytearray(path.read_bytes())
    blob[-100] ^= 1  # a flipped bit in the payload: the hash no longer matches
    path.write_bytes(bytes(blob))
    with pytest.raises(IntegrityError, match="corrupt"):
        how(path, object_id, io.BytesIO(), data_secret, [data_public])  # type: ignore[operator]
    other_secret, _ = crypto.generate_identity()
    good, good_id = _object(tmp_path, b"x" * 100, data_public)
    with pytest.raises(WrongKeyError):
        how(good, good_id, io.BytesIO(), other_secret, [data_public])  # type: ignore[operator]
