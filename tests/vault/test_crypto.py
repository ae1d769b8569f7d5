"""vault.crypto: header checks and error translation, beyond the CCTV vectors."""

from __future__ import annotations

from pathlib import Path

import pytest

from vault import crypto
from vault.errors import CryptoFormatError, WrongKeyError


def _scrypt_header(factor: str) -> bytes:
    return (
        b"age-encryption.org/v1\n-> scrypt rF0/NwblUHHTpgQgRpe5CQ " + factor.encode() + b"\n"
        b"qW9eVsT0NVb/Vswtw8kPIxUnaYmm9Px1dYmq2+4+qZA\n"
        b"--- 38TpQMxQRRNMfmYYpBX6DDrPx4/QY5UmJnhPyVoX/cw\n"
    )


def test_scrypt_work_factor_limit() -> None:
    crypto.check_header(_scrypt_header("20"))
    with pytest.raises(CryptoFormatError, match="work factor 21"):
        crypto.check_header(_scrypt_header("21"))
    crypto.check_header(_scrypt_header("21"), max_work_factor=21)
    assert crypto.scrypt_work_factor(_scrypt_header("21")) == 21


def test_recorded_work_factor_never_lifts_the_ceiling() -> None:
    with pytest.raises(CryptoFormatError, match="at most 22"):
        crypto.decrypt_with_passphrase(_scrypt_header("23"), "pw", max_work_factor=30)


def test_passphrase_file_round_trip_and_wrong_passphrase() -> None:
    blob = crypto.encrypt_with_passphrase(b"secret\n", "Correct Horse 42")
    factor = crypto.scrypt_work_factor(blob)
    assert factor is not None and 10 <= factor <= crypto.SCRYPT_CEILING
    limit = max(factor, crypto.MAX_SCRYPT_WORK_FACTOR)
    assert crypto.decrypt_with_passphrase(blob, "Correct Horse 42", max_work_factor=limit) == (
        b"secret\n"
    )
    with pytest.raises(WrongKeyError):
        crypto.decrypt_with_passphrase(blob, "Wrong Horse 42", max_work_factor=limit)


def test_decrypt_file_keeps_nothing_on_failure(tmp_path: Path) -> None:
    secret, public = crypto.generate_identity()
    src = tmp_path / "plain"
    src.write_bytes(b"x" * 300_000)
    enc = tmp_path / "enc"
    crypto.encrypt_file(src, enc, [crypto.parse_recipient(public)])
    data = bytearray(enc.read_bytes())
    data[-100] ^= 1  # last chunk: earlier chunks decrypt before the failure
    enc.write_bytes(bytes(data))
    out = tmp_path / "out"
    with pytest.raises(CryptoFormatError):
        crypto.decrypt_file(enc, out, [crypto.parse_identity(secret)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc", "plain"]


def test_wrong_identity_is_wrong_key(tmp_path: Path) -> None:
    _, public = crypto.generate_identity()
    other, _ = crypto.generate_identity()
    blob = crypto.encrypt_bytes(b"data", [crypto.parse_recipient(public)])
    with pytest.raises(WrongKeyError):
        crypto.decrypt_bytes(blob, [crypto.parse_identity(other)])


def test_bad_key_text_is_not_echoed() -> None:
    with pytest.raises(WrongKeyError) as info:
        crypto.parse_identity("AGE-SECRET-KEY-1NOTAREALKEY")
    assert "NOTAREALKEY" not in str(info.value)
